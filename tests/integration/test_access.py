"""Readers authorized by the JWT authorizer see only threads they own."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import Api, http_event, load_function, reply_json

READER_ROUTES = {
    "get_thread": ("GET", "/threads/{threadId}", {}),
    "list_streams": (
        "GET",
        "/threads/{threadId}/streams",
        {"statuses": "streaming,finished,aborted"},
    ),
    "list_deltas": ("GET", "/threads/{threadId}/deltas", None),
    "streaming_messages": (
        "GET",
        "/threads/{threadId}/streams/messages",
        {"order": "0", "stepOrder": "0", "status": "success"},
    ),
}


def as_subject(event: dict[str, Any], subject: str | None) -> dict[str, Any]:
    if subject is not None:
        event["requestContext"]["authorizer"] = {
            "jwt": {"claims": {"sub": subject}, "scopes": None}
        }
    return event


def call(
    api: Api,
    operation: str,
    params: dict[str, str],
    query: dict[str, str] | None,
    subject: str | None,
) -> tuple[int, Any]:
    route = load_function(operation).OPERATION.http
    event = as_subject(http_event(route.method, route.path, params, query), subject)
    response = load_function(operation).handler(event, api.context)
    return response["statusCode"], reply_json(response)


@pytest.fixture
def owned(api: Api) -> dict[str, str]:
    thread = api.direct("create_thread", {"userId": "alice"})["threadId"]
    stream = api.direct(
        "create_stream",
        {"threadId": thread, "order": 0, "stepOrder": 0, "format": "UIMessageChunk"},
    )
    api.direct(
        "add_delta",
        {
            "streamId": stream,
            "start": 0,
            "end": 2,
            "parts": [
                {"type": "text-start", "id": "t"},
                {"type": "text-delta", "id": "t", "delta": "private"},
            ],
        },
    )
    return {"threadId": thread, "streamId": stream}


@pytest.mark.parametrize("operation", sorted(READER_ROUTES))
def test_the_owner_reads_and_others_get_404(
    api: Api, owned: dict[str, str], operation: str
) -> None:
    _, _, query = READER_ROUTES[operation]
    if query is None:
        query = {"cursors": f"{owned['streamId']}:0"}
    params = {"threadId": owned["threadId"]}
    status, body = call(api, operation, params, query, "alice")
    assert status == 200, body
    status, body = call(api, operation, params, query, "mallory")
    assert (status, body["error"]) == (404, "ThreadNotFound")
    assert "private" not in str(body)


def test_get_stream_hides_other_subjects_streams(api: Api, owned: dict[str, str]) -> None:
    params = {"streamId": owned["streamId"]}
    assert call(api, "get_stream", params, None, "alice")[0] == 200
    status, body = call(api, "get_stream", params, None, "mallory")
    assert (status, body["error"]) == (404, "StreamNotFound")


def test_threads_without_an_owner_are_readable_by_any_subject(api: Api) -> None:
    thread = api.direct("create_thread", {})["threadId"]
    assert call(api, "get_thread", {"threadId": thread}, None, "anyone")[0] == 200


def test_iam_and_direct_callers_read_everything(api: Api, owned: dict[str, str]) -> None:
    assert call(api, "get_thread", {"threadId": owned["threadId"]}, None, None)[0] == 200
    assert api.direct("get_thread", {"threadId": owned["threadId"]})["userId"] == "alice"


class TestContentIsNotLogged:
    """LLM output is user content: parts reach the logs only when LOG_PARTS is on."""

    SECRET = "the patient's diagnosis"

    def _append_with_debug_logs(self, api: Api, stack: Any, caplog: Any, log_parts: bool) -> str:
        from dataclasses import replace

        from agent_streams.observability import logger

        thread = api.direct("create_thread", {})["threadId"]
        stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
        stack.services.settings = replace(stack.services.settings, log_parts=log_parts)
        level = logger.log_level
        logger.setLevel("DEBUG")
        try:
            caplog.clear()
            api.direct(
                "add_delta",
                {
                    "streamId": stream,
                    "start": 0,
                    "end": 1,
                    "parts": [{"type": "text-delta", "id": "t", "delta": self.SECRET}],
                },
            )
            api.http(
                "add_delta",
                {"streamId": stream},
                body={"start": 0, "end": 2, "parts": [{"type": "x", "v": self.SECRET}]},
            )
        finally:
            logger.setLevel(level)
        return "\n".join(str(r.__dict__) for r in caplog.records)

    def test_off_by_default(self, api: Api, stack: Any, caplog: Any) -> None:
        assert stack.settings.log_parts is False
        logs = self._append_with_debug_logs(api, stack, caplog, log_parts=False)
        assert self.SECRET not in logs

    def test_on_when_asked(self, api: Api, stack: Any, caplog: Any) -> None:
        logs = self._append_with_debug_logs(api, stack, caplog, log_parts=True)
        assert self.SECRET in logs

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
    route = load_function(operation).OPERATION.http.route
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


@pytest.mark.parametrize("operation", ["get_stream", "get_stream_message"])
def test_stream_readers_hide_other_subjects_streams(
    api: Api, owned: dict[str, str], operation: str
) -> None:
    params = {"streamId": owned["streamId"]}
    assert call(api, operation, params, None, "alice")[0] == 200
    status, body = call(api, operation, params, None, "mallory")
    assert (status, body["error"]) == (404, "StreamNotFound")
    assert "private" not in str(body)


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


# -- the JWT authorizer fails closed ----------------------------------------------------

#: Every HTTP route, as (path parameters it takes, query, body) for a call about ``ids``.
ROUTES: dict[str, Any] = {
    "create_thread": lambda ids: ({}, None, {"title": "t"}),
    "get_thread": lambda ids: ({"threadId": ids["threadId"]}, None, None),
    "delete_thread": lambda ids: ({"threadId": ids["threadId"]}, None, None),
    "create_stream": lambda ids: (
        {"threadId": ids["threadId"]},
        None,
        {"order": 5, "stepOrder": 0},
    ),
    "list_streams": lambda ids: ({"threadId": ids["threadId"]}, {"statuses": "streaming"}, None),
    "list_deltas": lambda ids: (
        {"threadId": ids["threadId"]},
        {"cursors": f"{ids['streamId']}:0"},
        None,
    ),
    "abort_streams_by_order": lambda ids: (
        {"threadId": ids["threadId"]},
        None,
        {"order": 0, "reason": "stop"},
    ),
    "delete_thread_streams": lambda ids: ({"threadId": ids["threadId"]}, None, None),
    "streaming_messages": lambda ids: (
        {"threadId": ids["threadId"]},
        {"order": "0", "stepOrder": "0", "status": "success"},
        None,
    ),
    "get_stream": lambda ids: ({"streamId": ids["streamId"]}, None, None),
    "get_stream_message": lambda ids: ({"streamId": ids["streamId"]}, None, None),
    "add_delta": lambda ids: (
        {"streamId": ids["streamId"]},
        None,
        {"start": 2, "end": 3, "parts": [{"type": "text-delta", "id": "t", "delta": "!"}]},
    ),
    "heartbeat_stream": lambda ids: ({"streamId": ids["streamId"]}, None, None),
    "finish_stream": lambda ids: ({"streamId": ids["streamId"]}, None, {}),
    "abort_stream": lambda ids: ({"streamId": ids["streamId"]}, None, {"reason": "stop"}),
    "delete_stream": lambda ids: ({"streamId": ids["streamId"]}, None, None),
}
WRITERS = sorted(
    set(ROUTES) - set(READER_ROUTES) - {"get_stream", "get_stream_message", "create_thread"}
)


def with_authorizer(event: dict[str, Any], authorizer: dict[str, Any]) -> dict[str, Any]:
    event["requestContext"]["authorizer"] = authorizer
    return event


def call_route(
    api: Api, operation: str, ids: dict[str, str], authorizer: dict[str, Any] | None
) -> tuple[int, Any]:
    params, query, body = ROUTES[operation](ids)
    route = load_function(operation).OPERATION.http.route
    event = http_event(route.method, route.path, params, query, body)
    if authorizer is not None:
        with_authorizer(event, authorizer)
    response = load_function(operation).handler(event, api.context)
    return response["statusCode"], reply_json(response)


def jwt_of(subject: str) -> dict[str, Any]:
    return {"jwt": {"claims": {"sub": subject, "iss": "https://issuer"}, "scopes": None}}


class TestTokensWithoutASubject:
    """A token the authorizer verified but that names nobody is refused, never taken for
    an IAM caller (who may read and write everything)."""

    @pytest.mark.parametrize(
        "authorizer",
        [
            {"jwt": {"claims": {"iss": "https://issuer"}, "scopes": None}},
            {"jwt": {"claims": {"sub": ""}, "scopes": None}},
            {"jwt": {"claims": {"sub": None}}},
            {"jwt": {"claims": {"sub": 42}}},
            {"jwt": {"claims": {"sub": ["alice"]}}},
            {"jwt": {"scopes": ["read"]}},
            {"jwt": None},
        ],
        ids=["no-sub", "empty", "null", "number", "list", "no-claims", "null-jwt"],
    )
    @pytest.mark.parametrize("operation", sorted(ROUTES))
    def test_every_route_answers_401_and_writes_nothing(
        self,
        api: Api,
        stack: Any,
        owned: dict[str, str],
        operation: str,
        authorizer: dict[str, Any],
    ) -> None:
        from tests.conftest import snapshot

        before = snapshot(stack.settings)
        status, body = call_route(api, operation, owned, authorizer)
        assert status == 401, body
        assert body["error"] == "Unauthorized"
        assert set(body) == {"error", "message"}
        assert "private" not in str(body)
        assert snapshot(stack.settings) == before
        assert stack.workflows.started == {}


class TestJwtWriters:
    """Where a JWT caller can write, it writes only in threads its subject owns."""

    @pytest.mark.parametrize("operation", WRITERS)
    def test_a_writer_route_on_someone_elses_thread_is_404_and_writes_nothing(
        self, api: Api, stack: Any, owned: dict[str, str], operation: str
    ) -> None:
        from tests.conftest import snapshot

        before = snapshot(stack.settings)
        status, body = call_route(api, operation, owned, jwt_of("mallory"))
        assert status == 404, body
        assert body["error"] in ("ThreadNotFound", "StreamNotFound")
        assert snapshot(stack.settings) == before
        assert stack.workflows.started == {}
        assert stack.workflows.scoped == {}

    @pytest.mark.parametrize("operation", WRITERS)
    def test_the_owner_may(self, api: Api, owned: dict[str, str], operation: str) -> None:
        status, body = call_route(api, operation, owned, jwt_of("alice"))
        assert 200 <= status < 300, body

    @pytest.mark.parametrize("operation", WRITERS)
    def test_a_thread_without_an_owner_is_nobodys_to_write(self, api: Api, operation: str) -> None:
        thread = api.direct("create_thread", {})["threadId"]
        stream = api.direct("create_stream", {"threadId": thread, "order": 0, "stepOrder": 0})
        parts = [{"type": "text-start", "id": "t"}, {"type": "text-delta", "id": "t", "delta": "a"}]
        api.direct("add_delta", {"streamId": stream, "start": 0, "end": 2, "parts": parts})
        ids = {"threadId": thread, "streamId": stream}
        assert call_route(api, operation, ids, jwt_of("anyone"))[0] == 404
        # ... while pipelines (IAM) still may.
        iam = {"iam": {"accessKey": "AKIA", "userArn": "arn:aws:iam::1:user/pipeline"}}
        assert 200 <= call_route(api, operation, ids, iam)[0] < 300

    def test_the_owner_stops_a_reply_from_the_browser(
        self, api: Api, owned: dict[str, str]
    ) -> None:
        status, body = call_route(api, "abort_stream", owned, jwt_of("mallory"))
        assert status == 404
        assert api.direct("get_stream", {"streamId": owned["streamId"]})["status"] == "streaming"
        status, body = call_route(api, "abort_stream", owned, jwt_of("alice"))
        assert (status, body) == (200, {"aborted": True})
        state = api.direct("get_stream", {"streamId": owned["streamId"]})
        assert (state["status"], state["reason"]) == ("aborted", "stop")

    def test_the_owner_stops_a_turn_by_order(self, api: Api, owned: dict[str, str]) -> None:
        assert call_route(api, "abort_streams_by_order", owned, jwt_of("mallory"))[0] == 404
        assert api.direct("get_stream", {"streamId": owned["streamId"]})["status"] == "streaming"
        status, body = call_route(api, "abort_streams_by_order", owned, jwt_of("alice"))
        assert (status, body) == (200, {"aborted": True})


class TestWhatAJwtCallerCreatesIsItsOwn:
    def test_a_thread_gets_the_subject_as_its_user(self, api: Api) -> None:
        status, thread = call_route(api, "create_thread", {}, jwt_of("alice"))
        assert (status, thread["userId"]) == (201, "alice")

    def test_naming_oneself_is_fine(self, api: Api) -> None:
        route = load_function("create_thread").OPERATION.http.route
        event = with_authorizer(
            http_event(route.method, route.path, body={"userId": "alice"}), jwt_of("alice")
        )
        response = load_function("create_thread").handler(event, api.context)
        assert (response["statusCode"], reply_json(response)["userId"]) == (201, "alice")

    def test_naming_someone_else_is_403_and_creates_nothing(self, api: Api, stack: Any) -> None:
        from tests.conftest import snapshot

        before = snapshot(stack.settings)
        route = load_function("create_thread").OPERATION.http.route
        event = with_authorizer(
            http_event(route.method, route.path, body={"userId": "bob"}), jwt_of("alice")
        )
        response = load_function("create_thread").handler(event, api.context)
        body = reply_json(response)
        assert (response["statusCode"], body["error"]) == (403, "Forbidden")
        assert snapshot(stack.settings) == before

    def test_a_stream_gets_the_subject_as_its_user(self, api: Api, owned: dict[str, str]) -> None:
        status, body = call_route(api, "create_stream", owned, jwt_of("alice"))
        assert status == 201
        assert api.direct("get_stream", {"streamId": body["streamId"]})["userId"] == "alice"

    def test_iam_callers_name_any_user(self, api: Api) -> None:
        iam = {"iam": {"accessKey": "AKIA", "userArn": "arn:aws:iam::1:user/pipeline"}}
        route = load_function("create_thread").OPERATION.http.route
        event = with_authorizer(http_event(route.method, route.path, body={"userId": "bob"}), iam)
        response = load_function("create_thread").handler(event, api.context)
        assert reply_json(response)["userId"] == "bob"

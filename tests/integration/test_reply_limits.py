"""Every reply fits the 6 MB Lambda may return, counted as Lambda counts it.

The HTTP reply is the API Gateway proxy envelope as the python3.13 runtime
serialises it (the body a JSON string inside JSON, UTF-8); a direct invoke's is
the JSON of the return value. Measured here exactly that way.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_streams.json_text import lambda_json
from agent_streams_protocol.errors import ReplyTooLarge
from agent_streams_protocol.limits import (
    LAMBDA_REPLY_LIMIT_BYTES,
    MAX_DELTAS_REPLY_BYTES,
    MAX_PARTS_JSON_BYTES,
    MAX_REPLY_BYTES,
)
from tests.conftest import Stack, snapshot
from tests.helpers import Api, http_event, load_function, reply_json

EMOJI = "\U0001f600"  # 4 bytes of UTF-8, 1 character


def http_reply(
    api: Api, operation: str, params: dict[str, str], query: dict[str, str] | None = None
) -> tuple[dict[str, Any], int]:
    """The handler's envelope and its size as Lambda returns it."""
    route = load_function(operation).OPERATION.http.route
    response = load_function(operation).handler(
        http_event(route.method, route.path, params, query), api.context
    )
    return response, len(lambda_json(response).encode("utf-8"))


def direct_reply_size(api: Api, operation: str, args: dict[str, Any]) -> tuple[Any, int]:
    result = load_function(operation).handler(args, api.context)
    if isinstance(result, bytes):
        return json.loads(result), len(result)
    return result, len(lambda_json(result).encode("utf-8"))


def one_part_delta(stream_id: str, start: int, text: str) -> dict[str, Any]:
    return {
        "streamId": stream_id,
        "start": start,
        "end": start + 1,
        "parts": [{"type": "text-delta", "id": "t", "delta": text}],
    }


def fill(char_bytes: int, budget: int = MAX_PARTS_JSON_BYTES - 64) -> int:
    """How many characters of ``char_bytes`` stored bytes fill a delta item."""
    return budget // char_bytes


def read_everything(
    api: Api, thread_id: str, streams: list[str], direct: bool
) -> tuple[dict[str, list[int]], int]:
    """Follow every stream to its end as a reader does; the starts seen and the largest reply."""
    cursors = dict.fromkeys(streams, 0)
    seen: dict[str, list[int]] = {s: [] for s in streams}
    largest = 0
    for _ in range(200):
        if direct:
            body, size = direct_reply_size(
                api,
                "list_deltas",
                {
                    "threadId": thread_id,
                    "cursors": [{"streamId": s, "cursor": c} for s, c in cursors.items()],
                },
            )
        else:
            query = {"cursors": ",".join(f"{s}:{c}" for s, c in cursors.items())}
            response, size = http_reply(api, "list_deltas", {"threadId": thread_id}, query)
            assert response["statusCode"] == 200
            body = reply_json(response)
        largest = max(largest, size)
        if not body:
            return seen, largest
        for item in body:
            seen[item["streamId"]].append(item["start"])
            cursors[item["streamId"]] = item["end"]
    raise AssertionError("the reader never reached the ends of the streams")


class TestListDeltas:
    """The issue's reproduction: 20 streams x 3 deltas of 4-byte characters, read with 20
    cursors, made a 9.7 MB reply when the cap counted characters."""

    @pytest.fixture
    def emoji_streams(self, api: Api, thread_id: str) -> list[str]:
        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(20)
        ]
        text = EMOJI * fill(4)
        for stream in streams:
            for start in range(3):
                assert api.direct("add_delta", one_part_delta(stream, start, text)) is True
        return streams

    @pytest.mark.parametrize("direct", [False, True], ids=["http", "direct"])
    def test_many_streams_of_four_byte_characters_fit(
        self, api: Api, thread_id: str, emoji_streams: list[str], direct: bool
    ) -> None:
        seen, largest = read_everything(api, thread_id, emoji_streams, direct)
        assert largest <= MAX_DELTAS_REPLY_BYTES < LAMBDA_REPLY_LIMIT_BYTES
        # Nothing lost on the way: every stream read whole, in order.
        assert all(starts == [0, 1, 2] for starts in seen.values())

    @pytest.mark.parametrize(
        ("char", "stored_bytes"),
        [
            ('"', 2),  # stored \" ; \\\" in the envelope: 4 bytes each
            ("\\", 2),  # stored \\ ; 4 bytes in the envelope
            ("\x01", 6),  # stored \u0001 ; 7 bytes in the envelope
            (EMOJI, 4),
            (",", 1),  # a byte more each over direct invoke, were they separators
        ],
        ids=["quote", "backslash", "control", "emoji", "comma"],
    )
    @pytest.mark.parametrize("direct", [False, True], ids=["http", "direct"])
    def test_the_worst_escaping_still_returns_a_delta_at_a_time(
        self,
        api: Api,
        thread_id: str,
        stream_id: str,
        char: str,
        stored_bytes: int,
        direct: bool,
    ) -> None:
        """Deltas as large as an item can be, of the characters the envelope escapes most:
        each read returns at least one, and no reply passes the cap."""
        text = char * fill(stored_bytes)
        for start in range(8):
            assert api.direct("add_delta", one_part_delta(stream_id, start, text)) is True
        seen, largest = read_everything(api, thread_id, [stream_id], direct)
        assert seen[stream_id] == list(range(8))
        assert largest <= MAX_DELTAS_REPLY_BYTES

    def test_a_single_largest_delta_is_far_from_the_limit(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        """The bound the design rests on: a delta item holds under 400 KB of JSON, and its
        reply is at most twice that, so one delta always fits."""
        text = '"' * fill(2)
        api.direct("add_delta", one_part_delta(stream_id, 0, text))
        response, size = http_reply(
            api, "list_deltas", {"threadId": thread_id}, {"cursors": f"{stream_id}:0"}
        )
        assert [d["start"] for d in reply_json(response)] == [0]
        assert size <= 2 * MAX_PARTS_JSON_BYTES + 1024


class TestStreamingMessages:
    @pytest.fixture
    def stream_id(self, api: Api, thread_id: str) -> str:
        args = {"threadId": thread_id, "order": 0, "stepOrder": 0, "format": "UIMessageChunk"}
        return str(api.direct("create_stream", args))

    @pytest.fixture
    def huge_stream(self, api: Api, thread_id: str, stream_id: str) -> str:
        """The issue's reproduction: one finished stream of 24 x 360 KB deltas (12.2 MB)."""
        api.direct(
            "add_delta",
            {
                "streamId": stream_id,
                "start": 0,
                "end": 1,
                "parts": [{"type": "text-start", "id": "t"}],
            },
        )
        text = "a" * 360_000
        for start in range(1, 25):
            api.direct("add_delta", one_part_delta(stream_id, start, text))
        api.direct("finish_stream", {"streamId": stream_id})
        return stream_id

    QUERY = {"order": "0", "stepOrder": "0", "status": "success"}

    def test_over_http_it_is_a_413_saying_how_to_read_instead(
        self, api: Api, stack: Stack, thread_id: str, huge_stream: str
    ) -> None:
        before = snapshot(stack.settings)
        response, size = http_reply(api, "streaming_messages", {"threadId": thread_id}, self.QUERY)
        body = reply_json(response)
        assert (response["statusCode"], body["error"]) == (413, "ReplyTooLarge")
        assert "list_deltas" in body["message"]
        assert size < 4096
        assert snapshot(stack.settings) == before

    def test_a_direct_invoke_raises_it(self, api: Api, thread_id: str, huge_stream: str) -> None:
        with pytest.raises(ReplyTooLarge, match="list_deltas"):
            api.direct(
                "streaming_messages",
                {"threadId": thread_id, "order": 0, "stepOrder": 0, "status": "success"},
            )

    def test_the_stream_is_still_readable_with_list_deltas(
        self, api: Api, thread_id: str, huge_stream: str
    ) -> None:
        seen, largest = read_everything(api, thread_id, [huge_stream], direct=False)
        assert seen[huge_stream] == list(range(25))
        assert largest <= MAX_DELTAS_REPLY_BYTES

    def test_get_stream_message_is_a_413_too_from_its_deltas_and_from_its_snapshot(
        self, api: Api, stack: Stack, huge_stream: str
    ) -> None:
        """12 MB of message: materialised from the deltas, or read from its snapshot (which
        compresses it to a few KB), it is too large for one reply either way."""
        from agent_streams.service import snapshots
        from agent_streams.service.context import services

        params = {"streamId": huge_stream}
        for from_snapshot in (False, True):
            if from_snapshot:
                ctx = services()
                stream = ctx.repository.get_stream(huge_stream, ctx.now())
                assert stream is not None
                assert snapshots.store(ctx, stream, ctx.now())
                stored = ctx.repository.get_stream(huge_stream, ctx.now())
                assert stored is not None
                assert stored.snapshot_chunks == 1
            before = snapshot(stack.settings)
            response, size = http_reply(api, "get_stream_message", params)
            body = reply_json(response)
            assert (response["statusCode"], body["error"]) == (413, "ReplyTooLarge")
            assert "list_deltas" in body["message"]
            assert size < 4096
            assert snapshot(stack.settings) == before
            with pytest.raises(ReplyTooLarge, match="list_deltas"):
                api.direct("get_stream_message", params)

    def test_a_reply_that_fits_is_served(self, api: Api, thread_id: str, stream_id: str) -> None:
        api.direct(
            "add_delta",
            {
                "streamId": stream_id,
                "start": 0,
                "end": 1,
                "parts": [{"type": "text-start", "id": "t"}],
            },
        )
        for start in range(1, 15):  # 14 x 360 KB: about 5 MB of message
            api.direct("add_delta", one_part_delta(stream_id, start, "b" * 360_000))
        response, size = http_reply(api, "streaming_messages", {"threadId": thread_id}, self.QUERY)
        assert response["statusCode"] == 200
        assert 5_000_000 < size <= MAX_REPLY_BYTES
        (message,) = reply_json(response)
        assert message["message"]["content"][0]["text"] == "b" * 14 * 360_000

    def test_too_much_to_materialise_is_refused_before_it_is_read_whole(
        self, api: Api, thread_id: str, stream_id: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from agent_streams.service import messages

        monkeypatch.setattr(messages, "MAX_MATERIALISED_BYTES", 100_000)
        api.direct(
            "add_delta",
            {
                "streamId": stream_id,
                "start": 0,
                "end": 1,
                "parts": [{"type": "text-start", "id": "t"}],
            },
        )
        for start in range(1, 4):
            api.direct("add_delta", one_part_delta(stream_id, start, "c" * 60_000))
        response, _ = http_reply(api, "streaming_messages", {"threadId": thread_id}, self.QUERY)
        body = reply_json(response)
        assert (response["statusCode"], body["error"]) == (413, "ReplyTooLarge")
        assert "100000 bytes of deltas" in body["message"]


def test_list_streams_with_huge_metadata_is_a_413_not_a_lambda_failure(
    api: Api, thread_id: str
) -> None:
    """The guard covers every route: 100 streams whose providerOptions fill their items."""
    options = {"p": {"blob": "o" * 100_000}}
    for n in range(70):
        api.direct(
            "create_stream",
            {"threadId": thread_id, "order": n, "stepOrder": 0, "providerOptions": options},
        )
    response, _size = http_reply(api, "list_streams", {"threadId": thread_id})
    body = reply_json(response)
    assert (response["statusCode"], body["error"]) == (413, "ReplyTooLarge")
    assert "startOrder" in body["message"]
    with pytest.raises(ReplyTooLarge):
        api.direct("list_streams", {"threadId": thread_id})
    # Fewer fit.
    status, found = api.http("list_streams", {"threadId": thread_id}, query={"startOrder": "40"})
    assert (status, len(found)) == (200, 30)

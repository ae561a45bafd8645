"""add_delta and list_deltas through their handlers: exactly-once, gap-free, capped, isolated."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent_streams.api.http import MAX_BODY_BYTES
from agent_streams_protocol.errors import DeltaConflict, DeltaTooLarge, ValidationError
from agent_streams_protocol.limits import (
    MAX_DELTA_PARTS_BYTES,
    MAX_DELTA_SPAN,
    MAX_PARTS_JSON_BYTES,
)
from tests.conftest import Stack, snapshot, spilled_objects
from tests.helpers import Api


def delta(stream_id: str, start: int, end: int, *texts: str) -> dict[str, Any]:
    parts = [{"type": "text-delta", "id": "t", "delta": t} for t in texts] or [{"type": "start"}]
    return {"streamId": stream_id, "start": start, "end": end, "parts": parts}


def stored_deltas(api: Api, thread_id: str, stream_id: str) -> list[dict[str, Any]]:
    return list(
        api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]},
        )
    )


class TestAddDelta:
    def test_accepts_a_delta_that_starts_where_the_log_ends(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        assert api.direct("add_delta", delta(stream_id, 0, 2, "a", "b")) is True
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body=delta(stream_id, 2, 3, "c")
        )
        assert (status, body) == (200, {"accepted": True, "status": "streaming"})
        assert [(d["start"], d["end"]) for d in stored_deltas(api, thread_id, stream_id)] == [
            (0, 2),
            (2, 3),
        ]

    def test_the_body_need_not_repeat_the_path_id(self, api: Api, stream_id: str) -> None:
        body = delta(stream_id, 0, 1, "a")
        del body["streamId"]
        assert api.http("add_delta", {"streamId": stream_id}, body=body) == (
            200,
            {"accepted": True, "status": "streaming"},
        )

    def test_an_identical_retry_is_accepted_and_writes_nothing(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        first = delta(stream_id, 0, 2, "a", "b")
        assert api.direct("add_delta", first) is True
        before = snapshot(stack.settings)
        assert api.direct("add_delta", first) is True
        assert api.http("add_delta", {"streamId": stream_id}, body=first)[1]["accepted"] is True
        assert snapshot(stack.settings) == before

    def test_a_different_delta_at_an_accepted_start_conflicts(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("add_delta", delta(stream_id, 0, 2, "a", "b"))
        before = snapshot(stack.settings)
        with pytest.raises(DeltaConflict) as raised:
            api.direct("add_delta", delta(stream_id, 0, 2, "a", "X"))
        assert raised.value.expected_start == 2
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body=delta(stream_id, 0, 1, "a")
        )
        assert status == 409
        assert body["error"] == "DeltaConflict"
        assert body["expectedStart"] == 2
        assert snapshot(stack.settings) == before

    @pytest.mark.parametrize(
        ("start", "end"), [(3, 4), (1, 3), (2, 5)], ids=["gap", "overlap", "inside"]
    )
    def test_gaps_and_overlaps_are_refused(
        self, api: Api, stack: Stack, stream_id: str, start: int, end: int
    ) -> None:
        api.direct("add_delta", delta(stream_id, 0, 2, "a", "b"))
        if (start, end) == (2, 5):
            api.direct("add_delta", delta(stream_id, 2, 4, "c"))
            start, end = 3, 5
        before = snapshot(stack.settings)
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body=delta(stream_id, start, end, "x")
        )
        assert status == 409
        assert body["error"] == "DeltaConflict"
        assert snapshot(stack.settings) == before

    def test_a_stream_that_is_not_streaming_accepts_nothing(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        api.direct("add_delta", delta(stream_id, 0, 1, "a"))
        api.direct("finish_stream", {"streamId": stream_id})
        before = snapshot(stack.settings)
        assert api.direct("add_delta", delta(stream_id, 1, 2, "b")) is False
        assert api.http("add_delta", {"streamId": stream_id}, body=delta(stream_id, 1, 2, "b")) == (
            200,
            {"accepted": False, "status": "finished"},
        )
        assert snapshot(stack.settings) == before

    def test_a_retry_of_the_last_delta_after_finish_is_still_accepted(
        self, api: Api, stream_id: str
    ) -> None:
        last = delta(stream_id, 0, 1, "a")
        api.direct("add_delta", last)
        api.direct("finish_stream", {"streamId": stream_id})
        assert api.http("add_delta", {"streamId": stream_id}, body=last) == (
            200,
            {"accepted": True, "status": "finished"},
        )

    def test_a_missing_stream_is_false_directly_and_404_over_http(
        self, api: Api, stack: Stack, thread_id: str
    ) -> None:
        from agent_streams.ids import new_stream_id

        missing = new_stream_id(thread_id)
        before = snapshot(stack.settings)
        assert api.direct("add_delta", delta(missing, 0, 1, "a")) is False
        status, body = api.http("add_delta", {"streamId": missing}, body=delta(missing, 0, 1, "a"))
        assert status == 404
        assert body["error"] == "StreamNotFound"
        assert snapshot(stack.settings) == before

    def test_writes_move_the_heartbeat(self, api: Api, stack: Stack, stream_id: str) -> None:
        created = api.direct("get_stream", {"streamId": stream_id})["lastHeartbeat"]
        stack.clock.advance(5_000)
        api.direct("add_delta", delta(stream_id, 0, 1, "a"))
        assert api.direct("get_stream", {"streamId": stream_id})["lastHeartbeat"] == created + 5_000

    def test_parts_round_trip_exactly(self, api: Api, thread_id: str, stream_id: str) -> None:
        parts = [
            {
                "type": "data-x",
                "data": {"n": 0.1, "big": 12345678901234567890, "e": 1e-7, "s": 'é\u2028"\\'},
            },
            {"type": "text-delta", "id": "t", "delta": "🙂 naïve"},
        ]
        api.direct("add_delta", {"streamId": stream_id, "start": 0, "end": 2, "parts": parts})
        assert stored_deltas(api, thread_id, stream_id)[0]["parts"] == parts
        _, body = api.http(
            "list_deltas", {"threadId": thread_id}, query={"cursors": f"{stream_id}:0"}
        )
        assert body[0]["parts"] == parts

    def test_merged_parts_may_number_fewer_than_their_range(self, api: Api, stream_id: str) -> None:
        assert api.direct("add_delta", delta(stream_id, 0, 5, "abcde")) is True


class TestDeltaValidation:
    @pytest.mark.parametrize(
        ("change", "words"),
        [
            ({"start": 2, "end": 2}, "greater than start"),
            ({"start": 3, "end": 1}, "greater than start"),
            ({"parts": []}, "at least 1"),
            ({"end": 1, "parts": [{"type": "a"}, {"type": "b"}]}, "at most end - start"),
            ({"parts": [{"delta": "no type"}]}, "string 'type'"),
            ({"parts": [{"type": 3}]}, "string 'type'"),
            ({"parts": ["text"]}, "dictionary"),
            ({"start": -1}, "greater than or equal to 0"),
            ({"start": "0"}, "valid integer"),
            ({"end": 2**53}, "less than or equal"),
            ({"end": 2**53 - 1}, "at most 1000000 parts"),  # would wedge the stream
            ({"start": 0, "end": MAX_DELTA_SPAN + 1}, "at most 1000000 parts"),
            ({"extra": 1}, "unknown field"),
            ({"streamId": "has/slash"}, "pattern"),
        ],
    )
    def test_bad_deltas_get_a_readable_422_and_write_nothing(
        self, api: Api, stack: Stack, stream_id: str, change: dict[str, Any], words: str
    ) -> None:
        args = {**delta(stream_id, 0, 2, "a"), **change}
        before = snapshot(stack.settings)
        with pytest.raises(ValidationError) as raised:
            api.direct("add_delta", args)
        assert words in raised.value.message
        http_args = {k: v for k, v in args.items() if k != "streamId"}
        path_id = args["streamId"] if "/" not in args["streamId"] else "has-a-slash!"
        status, body = api.http("add_delta", {"streamId": path_id}, body=http_args)
        if path_id != args["streamId"]:
            words = "pattern"
        assert status == 422
        assert body["error"] == "ValidationError"
        assert words in body["message"]
        assert snapshot(stack.settings) == before

    def test_the_widest_delta_is_accepted_and_the_stream_goes_on(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        assert api.direct("add_delta", delta(stream_id, 0, MAX_DELTA_SPAN, "a")) is True
        after = delta(stream_id, MAX_DELTA_SPAN, MAX_DELTA_SPAN + 1, "b")
        assert api.direct("add_delta", after) is True
        assert [d["end"] for d in stored_deltas(api, thread_id, stream_id)] == [
            MAX_DELTA_SPAN,
            MAX_DELTA_SPAN + 1,
        ]

    def test_the_clients_most_compressed_delta_is_accepted(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        """A delta's text holds under 400,000 characters, so a run of non-empty text deltas
        merged into one part stands for fewer parts than the cap admits."""
        from agent_streams_client.batching import plan_deltas, prepare_part

        parts = [
            prepare_part({"type": "text-delta", "id": "t", "delta": "x"}, "UIMessageChunk")
            for _ in range(200_000)
        ]
        planned = plan_deltas(parts, start=0, format="UIMessageChunk", compress=True)
        assert planned[0].end - planned[0].start > 100_000
        assert all(d.end - d.start <= MAX_DELTA_SPAN for d in planned)
        for d in planned:
            args = {"streamId": stream_id, "start": d.start, "end": d.end, "parts": d.parts}
            assert api.direct("add_delta", args) is True
        assert stored_deltas(api, thread_id, stream_id)[-1]["end"] == 200_000

    @pytest.mark.parametrize(
        "raw",
        [
            '{"start":0,"end":1,"parts":[{"type":"x","v":NaN}]}',
            '{"start":0,"end":1,"parts":[{"type":"x","v":Infinity}]}',
            '{"start":0,"end":1,"parts":[{"type":"x","v":1e999}]}',
            '{"start":0,"end":1,"parts":[{"type":"x","v":' + "[" * 100 + "]" * 100 + "}]}",
            '{"start":0,"end":1,"parts":[{"type":"x","v":' + "[" * 5000 + "]" * 5000 + "}]}",
            '{"start":0,"end":1,"parts":[{"type":"x"}]',
            "[1,2]",
            '{"start":0,"end":1,"parts":[{"type":"x","v":' + "9" * 5000 + "}]}",
        ],
        ids=[
            "nan",
            "infinity",
            "overflow",
            "deep",
            "very-deep",
            "truncated",
            "array",
            "huge-int",
        ],
    )
    def test_json_a_store_cannot_hold_is_refused(
        self, api: Api, stack: Stack, stream_id: str, raw: str
    ) -> None:
        before = snapshot(stack.settings)
        status, body = api.http("add_delta", {"streamId": stream_id}, raw_body=raw)
        assert status == 422, body
        assert body["error"] == "ValidationError"
        assert snapshot(stack.settings) == before

    def test_a_body_naming_another_stream_is_refused(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        other = api.direct("create_stream", {"threadId": thread_id, "order": 1, "stepOrder": 0})
        status, body = api.http("add_delta", {"streamId": stream_id}, body=delta(other, 0, 1, "a"))
        assert status == 422
        assert "path" in body["message"]

    def test_only_json_bodies_are_read(self, api: Api, stream_id: str) -> None:
        status, body = api.http(
            "add_delta",
            {"streamId": stream_id},
            raw_body="start=0",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert status == 422
        assert "Content-Type" in body["message"]

    def test_a_base64_body_with_invalid_utf8_is_refused(self, api: Api, stream_id: str) -> None:
        from tests.helpers import http_event, load_function

        event = http_event("POST", "/streams/{streamId}/deltas", {"streamId": stream_id})
        event["body"] = "/w=="  # 0xFF
        event["isBase64Encoded"] = True
        response = load_function("add_delta").handler(event, api.context)
        assert response["statusCode"] == 422
        assert "UTF-8" in json.loads(response["body"])["message"]


class TestItemGuard:
    """Deltas larger than an item spill their big parts (``test_spill.py``); these are the
    ones still refused."""

    def test_a_delta_over_the_maximum_is_413_and_writes_nothing(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        big = "x" * MAX_DELTA_PARTS_BYTES
        before = snapshot(stack.settings)
        with pytest.raises(DeltaTooLarge):
            api.direct("add_delta", delta(stream_id, 0, 1, big))
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body=delta(stream_id, 0, 1, big)
        )
        assert status == 413
        assert body["error"] == "DeltaTooLarge"
        assert snapshot(stack.settings) == before

    def test_the_largest_inline_delta_is_stored_inline(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        overhead = len(
            json.dumps([{"type": "text-delta", "id": "t", "delta": ""}], separators=(",", ":"))
        )
        text = "x" * (MAX_PARTS_JSON_BYTES - overhead)
        assert api.direct("add_delta", delta(stream_id, 0, 1, text)) is True
        assert stored_deltas(api, thread_id, stream_id)[0]["parts"][0]["delta"] == text
        assert spilled_objects(stack.settings) == []

    def test_multibyte_text_is_measured_in_utf8_bytes(self, api: Api, stream_id: str) -> None:
        text = "é" * (MAX_DELTA_PARTS_BYTES // 2)  # fewer characters than the limit, more bytes
        with pytest.raises(DeltaTooLarge):
            api.direct("add_delta", delta(stream_id, 0, 1, text))

    def test_an_oversized_http_body_is_refused_before_parsing(
        self, api: Api, stream_id: str
    ) -> None:
        raw = json.dumps(delta(stream_id, 0, 1, "y" * MAX_BODY_BYTES))
        status, body = api.http("add_delta", {"streamId": stream_id}, raw_body=raw)
        assert status == 413
        assert body["error"] == "DeltaTooLarge"


class TestListDeltas:
    def test_reads_from_each_cursor_in_order(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        other = api.direct("create_stream", {"threadId": thread_id, "order": 1, "stepOrder": 0})
        for i in range(3):
            api.direct("add_delta", delta(stream_id, i, i + 1, str(i)))
            api.direct("add_delta", delta(other, i, i + 1, str(i)))
        status, body = api.http(
            "list_deltas", {"threadId": thread_id}, query={"cursors": f"{stream_id}:1,{other}:2"}
        )
        assert status == 200
        assert [(d["streamId"], d["start"]) for d in body] == [
            (stream_id, 1),
            (stream_id, 2),
            (other, 2),
        ]

    def test_a_cursor_inside_a_delta_skips_it(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        api.direct("add_delta", delta(stream_id, 0, 3, "abc"))
        api.direct("add_delta", delta(stream_id, 3, 4, "d"))
        body = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 1}]},
        )
        assert [d["start"] for d in body] == [3]

    def test_at_most_100_deltas_per_stream(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        for i in range(130):
            api.direct("add_delta", delta(stream_id, i, i + 1, "z"))
        body = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]},
        )
        assert [d["start"] for d in body] == list(range(100))
        rest = api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 100}]},
        )
        assert [d["start"] for d in rest] == list(range(100, 130))

    def test_at_most_1000_deltas_per_request(self, api: Api, stack: Stack, thread_id: str) -> None:
        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(11)
        ]
        _bulk_load(stack, streams, per_stream=100)
        cursors = [{"streamId": s, "cursor": 0} for s in streams]
        body = api.direct("list_deltas", {"threadId": thread_id, "cursors": cursors})
        assert len(body) == 1000
        assert {d["streamId"] for d in body} == set(streams[:10])

    def test_replies_stay_under_5_mb(self, api: Api, stack: Stack, thread_id: str) -> None:
        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(8)
        ]
        text = "w" * 300_000
        for s in streams:
            for i in range(4):
                api.direct("add_delta", delta(s, i, i + 1, text))
        cursors = [{"streamId": s, "cursor": 0} for s in streams]
        body = api.direct("list_deltas", {"threadId": thread_id, "cursors": cursors})
        assert len(json.dumps(body)) <= 5 * 1024 * 1024
        assert len(body) >= 15
        # Each stream's deltas are a prefix from its cursor, so a reader never sees a gap;
        # a query page holds at most 1 MB, so at most 3 of these per stream per request.
        for s in streams:
            starts = [d["start"] for d in body if d["streamId"] == s]
            assert starts == list(range(len(starts)))
            assert len(starts) <= 3

    def test_streams_of_other_threads_are_ignored(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        api.direct("add_delta", delta(stream_id, 0, 1, "secret"))
        intruder = api.direct("create_thread", {})["threadId"]
        body = api.direct(
            "list_deltas", {"threadId": intruder, "cursors": [{"streamId": stream_id, "cursor": 0}]}
        )
        assert body == []
        status, body = api.http(
            "list_deltas", {"threadId": intruder}, query={"cursors": f"{stream_id}:0"}
        )
        assert (status, body) == (200, [])

    def test_expired_deltas_are_not_read(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        api.direct("add_delta", delta(stream_id, 0, 1, "a"))
        stack.clock.advance((stack.settings.retention_days + 2) * 86_400_000)
        assert stored_deltas(api, thread_id, stream_id) == []

    @pytest.mark.parametrize(
        "cursors",
        [
            "abc",
            "abc:",
            ":1",
            "abc:-1",
            "abc:x",
            "a/b:1",
            "abc:99999999999999999999",
            "abc:1,abc:2",
        ],
    )
    def test_bad_cursors_are_422(self, api: Api, thread_id: str, cursors: str) -> None:
        status, body = api.http("list_deltas", {"threadId": thread_id}, query={"cursors": cursors})
        assert status == 422, body
        assert body["error"] == "ValidationError"

    def test_cursors_are_required_and_unknown_parameters_refused(
        self, api: Api, thread_id: str
    ) -> None:
        assert api.http("list_deltas", {"threadId": thread_id})[0] == 422
        status, body = api.http(
            "list_deltas", {"threadId": thread_id}, query={"cursors": "", "x": "1"}
        )
        assert status == 422
        assert "unknown query parameter" in body["message"]

    def test_too_many_cursors_are_refused(self, api: Api, thread_id: str) -> None:
        cursors = ",".join(f"s{i}:0" for i in range(10_000))
        status, body = api.http("list_deltas", {"threadId": thread_id}, query={"cursors": cursors})
        assert status == 422
        assert "at most 100" in body["message"]

    def test_no_cursors_no_deltas(self, api: Api, thread_id: str) -> None:
        assert api.http("list_deltas", {"threadId": thread_id}, query={"cursors": ""}) == (200, [])


def _bulk_load(stack: Stack, stream_ids: list[str], per_stream: int, first: int = 0) -> None:
    """Seed deltas the fast way, straight into the table (the append path is tested above),
    ``per_stream`` of them a stream from start ``first``."""
    import boto3

    from agent_streams.service.ttl import delta_expiry

    table = boto3.resource("dynamodb", region_name="us-east-1").Table(stack.settings.deltas_table)
    expires = delta_expiry(stack.clock.now_ms(), stack.settings)
    with table.batch_writer() as batch:
        for sid in stream_ids:
            for i in range(first, first + per_stream):
                batch.put_item(
                    Item={
                        "streamId": sid,
                        "start": i,
                        "end": i + 1,
                        "parts": '[{"type":"text-delta","id":"t","delta":"z"}]',
                        "expiresAt": expires,
                    }
                )

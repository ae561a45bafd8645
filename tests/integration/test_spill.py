"""Parts too large for a delta item: stored in the stack's bucket, read back inline by every
reader, within the reply caps; their objects deleted with their stream; S3's throttling
retried. The handlers on moto (DynamoDB and S3)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from agent_streams import aws
from agent_streams.live.reads import open_stream_events
from agent_streams.service.context import services
from agent_streams.storage.spill import PREFIX, stream_prefix
from agent_streams_protocol.errors import (
    DeltaConflict,
    DeltaTooLarge,
    InternalError,
    ServiceUnavailable,
)
from agent_streams_protocol.limits import (
    MAX_DELTA_PARTS_BYTES,
    MAX_PART_BYTES,
    MAX_PARTS_JSON_BYTES,
    MAX_REPLY_BYTES,
)
from tests.conftest import REGION, Stack, snapshot, spilled_objects
from tests.helpers import Api
from tests.integration.conftest import survived
from tests.integration.reliability_faults import Faults, xml_error
from tests.integration.test_appends import _bulk_load
from tests.integration.test_deadlines import HURRIED, run_pages, starts

MB = 1_000_000


def text_part(text: str, part_id: str = "t") -> dict[str, Any]:
    return {"type": "text-delta", "id": part_id, "delta": text}


def part_of(size: int, fill: str = "x") -> dict[str, Any]:
    """A text part whose compact JSON is exactly ``size`` bytes (``fill`` one byte)."""
    overhead = len(json.dumps(text_part(""), separators=(",", ":")))
    return text_part(fill * (size - overhead))


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


#: A part that escapes and encodes every way there is: quotes and backslashes (twice as
#: large in the HTTP envelope), 2- and 4-byte characters, a control character, a line
#: separator, half a character (a lone surrogate, as a JavaScript writer may split one),
#: and keys in an order that is not sorted.
def awkward_part(size: int) -> dict[str, Any]:
    unit = 'é"\\😀\x01\u2028ab'
    return {
        "type": "tool-output-available",
        "toolCallId": "call-1",
        "output": {"z": 1.5, "a": [True, None], "image": unit * (size // 16)},
        "tail": "\ud83d",
    }


def add(api: Api, stream_id: str, start: int, parts: list[dict[str, Any]]) -> Any:
    args = {"streamId": stream_id, "start": start, "end": start + len(parts), "parts": parts}
    return api.direct("add_delta", args)


def read_all(api: Api, thread_id: str, stream_id: str, cursor: int = 0) -> list[dict[str, Any]]:
    return list(
        api.direct(
            "list_deltas",
            {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": cursor}]},
        )
    )


def delta_items(stack: Stack, stream_id: str) -> list[dict[str, Any]]:
    client = boto3.client("dynamodb", region_name=REGION)
    return list(
        client.query(
            TableName=stack.settings.deltas_table,
            KeyConditionExpression="streamId = :s",
            ExpressionAttributeValues={":s": {"S": stream_id}},
            ConsistentRead=True,
        )["Items"]
    )


@pytest.fixture
def s3_calls() -> Iterator[list[str]]:
    """The S3 operations the runtime calls (its own client), in order."""
    calls: list[str] = []
    client = aws.client("s3", REGION)

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    client.meta.events.register("before-call.s3", record, unique_id="spill-calls")
    yield calls
    client.meta.events.unregister("before-call.s3", unique_id="spill-calls")


class TestRoundTrip:
    def test_a_2_mb_part_is_stored_in_s3_and_read_back_byte_exact(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        part = awkward_part(2 * MB)
        assert len(compact(part).encode("utf-8", "surrogatepass")) > 2 * MB
        assert add(api, stream_id, 0, [text_part("before")]) is True
        assert add(api, stream_id, 1, [part]) is True
        assert add(api, stream_id, 2, [text_part("after")]) is True

        direct = read_all(api, thread_id, stream_id)
        assert [d["parts"] for d in direct] == [[text_part("before")], [part], [text_part("after")]]
        status, body = api.http(
            "list_deltas", {"threadId": thread_id}, query={"cursors": f"{stream_id}:0"}
        )
        assert status == 200
        assert body == direct
        # Byte-exact: the reply holds the part's text as it would have stood inline.
        raw = api.last_response["body"]
        assert compact([part]).replace("\ud83d", "\\ud83d") in raw

        (item,) = [i for i in delta_items(stack, stream_id) if i["start"]["N"] == "1"]
        assert len(item["parts"]["S"]) < 1000
        (offset,) = [int(v["N"]) for v in item["spilled"]["L"]]
        marker = json.loads(item["parts"]["S"])[0]["spilled"]
        assert item["parts"]["S"][offset:].startswith('{"spilled":')
        assert spilled_objects(stack.settings) == [marker["key"]]
        assert marker["key"].startswith(stream_prefix(stream_id) + "1-0-")

    def test_only_the_largest_parts_spill_and_small_deltas_stay_inline(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        small = part_of(1000)
        big = [part_of(300_000, "a"), part_of(250_000, "b"), part_of(200_000, "c")]
        parts = [small, big[0], small, big[1], big[2]]
        assert add(api, stream_id, 0, [part_of(MAX_PARTS_JSON_BYTES - 2)]) is True
        assert add(api, stream_id, 1, parts) is True
        item = delta_items(stack, stream_id)
        assert "spilled" not in item[0]
        assert len(item[1]["spilled"]["L"]) == 2  # 300 and 250 KB out: the rest fits
        assert [d["parts"] for d in read_all(api, thread_id, stream_id)][1] == parts

    def test_a_client_part_that_looks_like_a_marker_is_inline_and_returned_as_written(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        other = add(api, stream_id, 0, [part_of(500_000)])
        assert other is True
        key = spilled_objects(stack.settings)[0]
        forged = {"spilled": {"key": key, "bytes": 5, "grows": 0, "sha256": "0" * 64}}
        lookalike = {"type": "data-x", **forged}
        assert add(api, stream_id, 1, [forged | {"type": "data-y"}, lookalike]) is True
        assert add(api, stream_id, 3, [lookalike, part_of(450_000)]) is True
        deltas = read_all(api, thread_id, stream_id)
        assert deltas[1]["parts"] == [forged | {"type": "data-y"}, lookalike]
        assert deltas[2]["parts"] == [lookalike, part_of(450_000)]
        items = delta_items(stack, stream_id)
        assert "spilled" not in items[1]
        assert len(items[2]["spilled"]["L"]) == 1

    def test_finish_and_abort_spill_their_final_delta(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        big = part_of(1 * MB)
        final = {"streamId": stream_id, "start": 0, "end": 1, "parts": [big]}
        assert api.direct("finish_stream", {"streamId": stream_id, "finalDelta": final}) is None
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [big]
        other = api.direct("create_stream", {"threadId": thread_id, "order": 1, "stepOrder": 0})
        status, body = api.http(
            "abort_stream",
            {"streamId": other},
            body={"reason": "r", "finalDelta": {**final, "streamId": other}},
        )
        assert (status, body) == (200, {"aborted": True})
        assert read_all(api, thread_id, other)[0]["parts"] == [big]

    def test_streaming_messages_materialise_a_spilled_part(self, api: Api, thread_id: str) -> None:
        stream_id = api.direct(
            "create_stream",
            {"threadId": thread_id, "order": 0, "stepOrder": 0, "format": "UIMessageChunk"},
        )
        text = "é" * (1 * MB)
        add(api, stream_id, 0, [{"type": "start"}, {"type": "text-start", "id": "t"}])
        add(api, stream_id, 2, [text_part(text)])
        add(api, stream_id, 3, [{"type": "text-end", "id": "t"}, {"type": "finish"}])
        status, body = api.http(
            "streaming_messages",
            {"threadId": thread_id},
            query={"order": "0", "stepOrder": "0", "status": "success"},
        )
        assert status == 200
        (message,) = body
        assert message["message"]["content"] == [{"type": "text", "text": text}]

    def test_the_live_read_sends_a_spilled_part_as_written(self, api: Api, stream_id: str) -> None:
        part = awkward_part(2 * MB)
        add(api, stream_id, 0, [text_part("a"), part])
        api.direct("finish_stream", {"streamId": stream_id})
        events, first = open_stream_events(services(), stream_id, None, stored=True)
        frames = list(first.frames)
        while not first.done:
            first = events.round(probe=False)
            frames += first.frames
        datas = [f.split(b"\ndata: ", 1)[1].rstrip(b"\n") for f in frames]
        sent = [json.loads(d.decode("utf-8", "surrogatepass")) for d in datas]
        assert sent == [text_part("a"), part]


class TestReplyCaps:
    def test_list_deltas_returns_fewer_big_deltas_per_reply_but_always_one(
        self, api: Api, thread_id: str, stream_id: str, s3_calls: list[str]
    ) -> None:
        for start in range(4):
            assert add(api, stream_id, start, [part_of(2 * MB, "abcd"[start])]) is True
        s3_calls.clear()
        seen: list[int] = []
        cursor = 0
        while cursor < 4:
            status, body = api.http(
                "list_deltas", {"threadId": thread_id}, query={"cursors": f"{stream_id}:{cursor}"}
            )
            assert status == 200
            assert 1 <= len(body) <= 2
            seen += [d["start"] for d in body]
            cursor = body[-1]["end"]
        assert seen == [0, 1, 2, 3]
        # The parts of the deltas in each reply were read, and no others.
        assert s3_calls == ["GetObject"] * 4

    def test_the_largest_delta_fits_one_reply_in_the_worst_case(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        # Backslashes: each is two bytes of JSON, and four in the HTTP envelope.
        overhead = len(compact([text_part("")]))
        text = "\\" * ((MAX_DELTA_PARTS_BYTES - overhead) // 2)
        assert add(api, stream_id, 0, [text_part(text)]) is True
        status, body = api.http(
            "list_deltas", {"threadId": thread_id}, query={"cursors": f"{stream_id}:0"}
        )
        assert status == 200
        assert body[0]["parts"] == [text_part(text)]
        size = len(json.dumps(api.last_response, ensure_ascii=False).encode())
        assert MAX_REPLY_BYTES - 1000 < size <= MAX_REPLY_BYTES


class TestMaximum:
    def test_a_part_just_over_the_maximum_is_413_naming_it_and_writes_nothing(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        over = part_of(MAX_PART_BYTES + 1)
        before = snapshot(stack.settings)
        with pytest.raises(DeltaTooLarge, match=f"{MAX_DELTA_PARTS_BYTES} bytes"):
            add(api, stream_id, 0, [over])
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body={"start": 0, "end": 1, "parts": [over]}
        )
        assert status == 413
        assert body["error"] == "DeltaTooLarge"
        assert f"at most {MAX_PART_BYTES} bytes" in body["message"]
        assert snapshot(stack.settings) == before
        assert spilled_objects(stack.settings) == []

    def test_a_part_at_the_maximum_is_accepted_over_http(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        at = part_of(MAX_PART_BYTES)
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body={"start": 0, "end": 1, "parts": [at]}
        )
        assert (status, body) == (200, {"accepted": True, "status": "streaming"})
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [at]

    def test_many_small_parts_over_an_item_are_still_refused(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        parts = [part_of(1000)] * 420
        with pytest.raises(DeltaTooLarge, match="split the parts"):
            add(api, stream_id, 0, parts)
        assert spilled_objects(stack.settings) == []

    def test_a_body_over_the_limit_is_413(self, api: Api, stream_id: str) -> None:
        from agent_streams.api.http import MAX_BODY_BYTES

        raw = compact({"start": 0, "end": 1, "parts": [part_of(MAX_BODY_BYTES)]})
        status, body = api.http("add_delta", {"streamId": stream_id}, raw_body=raw)
        assert status == 413
        assert body["error"] == "DeltaTooLarge"
        assert f"{MAX_BODY_BYTES}-byte limit" in body["message"]


class TestRetries:
    def test_an_identical_retry_of_a_spilled_delta_is_accepted_once(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        part = awkward_part(800_000)
        assert add(api, stream_id, 0, [part]) is True
        before = snapshot(stack.settings), spilled_objects(stack.settings)
        assert add(api, stream_id, 0, [part]) is True
        status, body = api.http(
            "add_delta", {"streamId": stream_id}, body={"start": 0, "end": 1, "parts": [part]}
        )
        assert (status, body) == (200, {"accepted": True, "status": "streaming"})
        assert (snapshot(stack.settings), spilled_objects(stack.settings)) == before
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [part]

    def test_another_big_part_at_an_accepted_start_conflicts_and_leaves_the_first(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        first, second = part_of(600_000, "a"), part_of(600_000, "b")
        assert add(api, stream_id, 0, [first]) is True
        with pytest.raises(DeltaConflict):
            add(api, stream_id, 0, [second])
        # Its object was stored before the transaction: an orphan no delta names.
        assert len(spilled_objects(stack.settings)) == 2
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [first]
        api.direct("delete_stream", {"streamId": stream_id})
        assert spilled_objects(stack.settings) == []

    def test_a_finished_streams_retried_final_delta_is_accepted(
        self, api: Api, thread_id: str, stream_id: str
    ) -> None:
        final = {"streamId": stream_id, "start": 0, "end": 1, "parts": [part_of(700_000)]}
        api.direct("finish_stream", {"streamId": stream_id, "finalDelta": final})
        status, body = api.http(
            "finish_stream", {"streamId": stream_id}, body={"finalDelta": final}
        )
        assert (status, body) == (200, {"status": "finished"})
        assert len(read_all(api, thread_id, stream_id)) == 1


class TestDeletion:
    def spill(self, api: Api, stream_id: str, count: int = 3) -> None:
        for start in range(count):
            assert add(api, stream_id, start, [part_of(450_000 + start)]) is True

    def test_delete_stream_removes_its_objects_and_no_others(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        other = api.direct("create_stream", {"threadId": thread_id, "order": 1, "stepOrder": 0})
        self.spill(api, stream_id)
        self.spill(api, other, 1)
        assert len(spilled_objects(stack.settings)) == 4
        status, _ = api.http("delete_stream", {"streamId": stream_id})
        assert status == 204
        assert [k.split("/")[1] for k in spilled_objects(stack.settings)] == [other]

    def test_cleanup_after_finish_removes_the_objects(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        self.spill(api, stream_id)
        api.direct("finish_stream", {"streamId": stream_id})
        api.direct("cleanup_stream", {"streamId": stream_id})  # not due yet: re-armed
        assert len(spilled_objects(stack.settings)) == 3
        stack.clock.advance(5 * 60 * 1000)
        api.direct("cleanup_stream", {"streamId": stream_id})
        assert spilled_objects(stack.settings) == []

    def test_delete_thread_streams_and_the_page_function_remove_the_objects(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        self.spill(api, stream_id)
        assert api.http("delete_thread_streams", {"threadId": thread_id})[0] == 204
        assert spilled_objects(stack.settings) == []
        other_thread = api.direct("create_thread", {})["threadId"]
        other = api.direct("create_stream", {"threadId": other_thread, "order": 0, "stepOrder": 0})
        self.spill(api, other, 2)
        reply = api.direct("delete_thread_streams_page", {"threadId": other_thread})
        assert reply == {"isDone": True}
        assert spilled_objects(stack.settings) == []

    def test_objects_of_a_stream_whose_deltas_are_gone_are_removed(
        self, api: Api, stack: Stack, stream_id: str
    ) -> None:
        self.spill(api, stream_id)
        client = boto3.client("dynamodb", region_name=REGION)
        for item in delta_items(stack, stream_id):
            client.delete_item(
                TableName=stack.settings.deltas_table,
                Key={"streamId": item["streamId"], "start": item["start"]},
            )
        client.delete_item(
            TableName=stack.settings.streams_table, Key={"streamId": {"S": stream_id}}
        )
        api.direct("delete_stream", {"streamId": stream_id})
        assert spilled_objects(stack.settings) == []

    def test_more_than_a_thousand_objects_are_deleted_in_batches(
        self, stack: Stack, stream_id: str, s3_calls: list[str]
    ) -> None:
        client = boto3.client("s3", region_name=REGION)
        for n in range(1205):
            key = f"{stream_prefix(stream_id)}{n}-0-x"
            client.put_object(Bucket=stack.settings.spill_bucket, Key=key, Body=b"{}")
        neighbour = f"{PREFIX}{stream_id}x/0-0-x"  # a stream whose id extends this one's
        client.put_object(Bucket=stack.settings.spill_bucket, Key=neighbour, Body=b"{}")
        s3_calls.clear()
        assert services().repository.delete_spilled_parts(stream_id) == 1205
        assert s3_calls == ["ListObjectsV2", "DeleteObjects", "ListObjectsV2", "DeleteObjects"]
        assert spilled_objects(stack.settings) == [neighbour]

    def test_a_reader_racing_a_deletion_sees_the_log_end_not_an_error(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        self.spill(api, stream_id)
        repository = services().repository
        (deltas,) = repository.read_deltas([(stream_id, 0)], stack.clock.now_ms(), 100)
        api.direct("delete_stream", {"streamId": stream_id})
        assert repository.resolve_deltas(deltas) == []

    def test_a_part_missing_from_a_stored_delta_is_an_internal_error(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str
    ) -> None:
        self.spill(api, stream_id, 1)
        (key,) = spilled_objects(stack.settings)
        s3 = boto3.client("s3", region_name=REGION)
        s3.delete_object(Bucket=stack.settings.spill_bucket, Key=key)
        with pytest.raises(InternalError, match="spilled to S3 is not"):
            read_all(api, thread_id, stream_id)
        s3.put_object(Bucket=stack.settings.spill_bucket, Key=key, Body=b'"tampered"')
        with pytest.raises(InternalError, match="not the part its delta names"):
            read_all(api, thread_id, stream_id)


class TestHandedOver:
    """A synchronous deletion out of time hands the rest to the state machine: the
    objects stay while any delta of their stream can still be read, and the state
    machine's pages remove them with the last of it."""

    def loaded(self, api: Api, stack: Stack, stream_id: str) -> None:
        for start in range(2):
            assert add(api, stream_id, start, [part_of(450_000 + start)]) is True
        _bulk_load(stack, [stream_id], per_stream=1100, first=2)

    def test_delete_stream(self, api: Api, stack: Stack, thread_id: str, stream_id: str) -> None:
        self.loaded(api, stack, stream_id)
        status, body = Api(HURRIED).http("delete_stream", {"streamId": stream_id})
        assert status == 202, body
        (scope,) = stack.workflows.scoped.values()
        assert len(spilled_objects(stack.settings)) == 2
        left = starts(api, thread_id, stream_id)
        assert left[:2] == [0, 1]  # the spilled parts still read back as written
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [part_of(450_000)]
        run_pages(scope)
        assert spilled_objects(stack.settings) == []
        assert snapshot(stack.settings)[stack.settings.deltas_table] == []

    def test_delete_thread_streams(self, api: Api, stack: Stack, thread_id: str) -> None:
        streams = [
            api.direct("create_stream", {"threadId": thread_id, "order": n, "stepOrder": 0})
            for n in range(2)
        ]
        for stream in streams:
            self.loaded(api, stack, stream)
        kept = api.direct("create_thread", {})["threadId"]
        other = api.direct("create_stream", {"threadId": kept, "order": 0, "stepOrder": 0})
        assert add(api, other, 0, [part_of(420_000)]) is True

        status, body = Api(HURRIED).http("delete_thread_streams", {"threadId": thread_id})
        assert status == 202, body
        (scope,) = stack.workflows.scoped.values()
        assert spilled_objects(stack.settings)  # some left for the state machine
        run_pages(scope)
        assert [k.split("/")[1] for k in spilled_objects(stack.settings)] == [other]
        assert read_all(api, kept, other)[0]["parts"] == [part_of(420_000)]


class TestThrottling:
    @pytest.fixture
    def s3(self) -> Any:
        return aws.client("s3", REGION)

    def test_a_throttled_put_is_retried(
        self, api: Api, thread_id: str, stream_id: str, s3: Any, faults: Faults,
        no_backoff: list[float],
    ) -> None:  # fmt: skip
        faults.inject(s3, "PutObject", xml_error("SlowDown", 503), times=3)
        assert add(api, stream_id, 0, [part_of(500_000)]) is True
        assert len(no_backoff) == 3
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [part_of(500_000)]
        survived(faults)

    def test_a_lasting_slowdown_is_503_and_appends_nothing(
        self, api: Api, stack: Stack, stream_id: str, s3: Any, faults: Faults,
        no_backoff: list[float],
    ) -> None:  # fmt: skip
        faults.inject(s3, "PutObject", xml_error("SlowDown", 503))
        before = snapshot(stack.settings)
        with pytest.raises(ServiceUnavailable, match="S3 kept failing"):
            add(api, stream_id, 0, [part_of(500_000)])
        status, body = api.http(
            "add_delta",
            {"streamId": stream_id},
            body={"start": 0, "end": 1, "parts": [part_of(500_000)]},
        )
        assert status == 503
        assert api.last_response["headers"]["Retry-After"] == "1"
        assert body["error"] == "ServiceUnavailable"
        assert snapshot(stack.settings) == before
        survived(faults)

    def test_throttled_reads_and_deletes_are_retried(
        self, api: Api, stack: Stack, thread_id: str, stream_id: str, s3: Any, faults: Faults,
        no_backoff: list[float],
    ) -> None:  # fmt: skip
        add(api, stream_id, 0, [part_of(500_000)])
        faults.inject(s3, "GetObject", xml_error("InternalError", 500), times=2)
        assert read_all(api, thread_id, stream_id)[0]["parts"] == [part_of(500_000)]
        faults.inject(s3, "ListObjectsV2", xml_error("SlowDown", 503), times=1)
        faults.inject(s3, "DeleteObjects", xml_error("SlowDown", 503), times=1)
        api.direct("delete_stream", {"streamId": stream_id})
        assert spilled_objects(stack.settings) == []
        survived(faults)

    def test_a_lasting_failure_to_read_is_503(
        self, api: Api, thread_id: str, stream_id: str, s3: Any, faults: Faults,
        no_backoff: list[float],
    ) -> None:  # fmt: skip
        add(api, stream_id, 0, [part_of(500_000)])
        faults.inject(s3, "GetObject", xml_error("SlowDown", 503))
        status, body = api.http(
            "list_deltas", {"threadId": thread_id}, query={"cursors": f"{stream_id}:0"}
        )
        assert (status, body["error"]) == (503, "ServiceUnavailable")
        survived(faults)

"""publish_events on moto: the records of the tables' DynamoDB streams (read from moto's
streams API and filtered as the template's mappings filter them) become snapshots and
lifecycle events; what fails is handed back as the first record to try again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from agent_streams.lifecycle_events import (
    STREAM_ABORTED,
    STREAM_DELETED,
    STREAM_FINISHED,
    THREAD_DELETED,
)
from agent_streams.service import snapshots
from agent_streams_dev.local.event_sources import Filters, lambda_record
from agent_streams_dev.local.template import load_template
from agent_streams_protocol.errors import ServiceUnavailable
from agent_streams_protocol.materialize import derive_ui_messages
from tests.conftest import REGION, Stack
from tests.fakes import RecordingPublisher
from tests.helpers import Api

MAPPINGS = {m.table_id: m for m in load_template().event_source_mappings()}


class Tables:
    """The Streams and Threads tables' streams, read from where the last read stopped."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.dynamodb = boto3.client("dynamodb", region_name=REGION)
        # botocore sends a call naming a stream ARN to the account's own endpoint
        # (<account>.streams-ddb.<region>.amazonaws.com), which moto's in-process
        # routing does not know: name the regional one.
        self.streams = boto3.client(
            "dynamodbstreams",
            region_name=REGION,
            endpoint_url=f"https://streams.dynamodb.{REGION}.amazonaws.com",
        )
        self.iterators: dict[str, str] = {}
        names = {
            "StreamsTable": stack.settings.streams_table,
            "ThreadsTable": stack.settings.threads_table,
        }
        self.arns = {
            logical: self.dynamodb.describe_table(TableName=name)["Table"]["LatestStreamArn"]
            for logical, name in names.items()
        }
        for logical, arn in self.arns.items():
            (shard,) = self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
            self.iterators[logical] = self.streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]

    def records(self, *, filtered: bool = True) -> list[dict[str, Any]]:
        """New records of both tables, as Lambda hands them over (those the mappings pass)."""
        found = []
        for logical, arn in self.arns.items():
            page = self.streams.get_records(ShardIterator=self.iterators[logical])
            self.iterators[logical] = page["NextShardIterator"]
            filters = Filters(MAPPINGS[logical].filters)
            for raw in page["Records"]:
                record = lambda_record(raw, arn, self.stack.clock.now_ms())
                if not filtered or filters.passes(record):
                    found.append(record)
        return found


@pytest.fixture
def publisher(stack: Stack) -> Iterator[RecordingPublisher]:
    fake = RecordingPublisher()
    stack.services.events = fake
    yield fake
    stack.services.events = None


@pytest.fixture
def tables(stack: Stack) -> Tables:
    return Tables(stack)


def publish(api: Api, records: list[dict[str, Any]]) -> list[str]:
    reply = api.direct("publish_events", {"Records": records})
    return [failure["itemIdentifier"] for failure in reply["batchItemFailures"]]


def sequence(record: dict[str, Any]) -> str:
    return str(record["dynamodb"]["SequenceNumber"])


def text_stream(api: Api, thread_id: str, *words: str, order: int = 0) -> str:
    stream_id = str(
        api.direct(
            "create_stream",
            {"threadId": thread_id, "order": order, "stepOrder": 0, "format": "UIMessageChunk"},
        )
    )
    parts = [
        {"type": "text-start", "id": "t"},
        *({"type": "text-delta", "id": "t", "delta": w} for w in words),
        {"type": "text-end", "id": "t"},
    ]
    for start, part in enumerate(parts):
        api.direct(
            "add_delta", {"streamId": stream_id, "start": start, "end": start + 1, "parts": [part]}
        )
    return stream_id


def test_a_finish_is_one_record_past_the_filter_and_its_event_follows_the_snapshot(
    api: Api, stack: Stack, tables: Tables, publisher: RecordingPublisher, thread_id: str
) -> None:
    stream_id = text_stream(api, thread_id, "Hello ", "world")
    api.direct("heartbeat_stream", {"streamId": stream_id})
    api.direct("finish_stream", {"streamId": stream_id})
    everything = tables.records(filtered=False)
    passed = [r for r in everything if Filters(MAPPINGS["StreamsTable"].filters).passes(r)]
    assert len(everything) >= 6  # the thread, the stream, four deltas, the heartbeat, the end
    assert [r["eventName"] for r in passed] == ["MODIFY"]

    assert publish(api, passed) == []
    ((event),) = publisher.published
    state = api.direct("get_stream", {"streamId": stream_id})
    assert (event.detail_type, event.time_ms) == (STREAM_FINISHED, state["endedAt"])
    assert event.detail == {
        "stack": "",
        "threadId": thread_id,
        "streamId": stream_id,
        "order": 0,
        "stepOrder": 0,
        "status": "finished",
        "cursor": 4,
        "format": "UIMessageChunk",
    }
    stored = stack.services.repository.get_stream(stream_id, stack.clock.now_ms())
    assert stored is not None
    assert stored.snapshot_chunks == 1
    message = api.direct("get_stream_message", {"streamId": stream_id})
    deltas = api.direct(
        "list_deltas", {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]}
    )
    public = api.direct("list_streams", {"threadId": thread_id, "statuses": ["finished"]})
    assert message["uiMessage"] == derive_ui_messages(thread_id, public, deltas)[0]
    assert message["uiMessage"]["text"] == "Hello world"
    # The snapshot's own write is a record too: one the filter drops.
    assert tables.records() == []


def test_a_record_handed_over_again_publishes_again_but_snapshots_once(
    api: Api, stack: Stack, tables: Tables, publisher: RecordingPublisher, thread_id: str
) -> None:
    stream_id = text_stream(api, thread_id, "x")
    api.direct("finish_stream", {"streamId": stream_id})
    records = tables.records()
    assert publish(api, records) == []
    assert publish(api, records) == []
    assert publisher.kinds() == [STREAM_FINISHED, STREAM_FINISHED]  # at least once
    stored = stack.services.repository.get_stream(stream_id, stack.clock.now_ms())
    assert stored is not None
    assert stored.snapshot_chunks == 1


def test_a_failed_put_names_the_first_record_not_published(
    api: Api, tables: Tables, publisher: RecordingPublisher, thread_id: str
) -> None:
    streams = [text_stream(api, thread_id, "x", order=i) for i in range(3)]
    for stream_id in streams:
        api.direct("abort_stream", {"streamId": stream_id, "reason": "stop"})
    records = tables.records()
    assert len(records) == 3
    publisher.publish_only = 1
    assert publish(api, records) == [sequence(records[1])]
    assert publish(api, records[1:]) == []
    assert [e.detail["streamId"] for e in publisher.published] == streams
    assert publisher.kinds() == [STREAM_ABORTED] * 3


def test_a_transient_snapshot_failure_publishes_what_came_before_and_stops_there(
    api: Api,
    stack: Stack,
    tables: Tables,
    publisher: RecordingPublisher,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = (text_stream(api, thread_id, "x", order=i) for i in range(2))
    for stream_id in (first, second):
        api.direct("finish_stream", {"streamId": stream_id})
    records = tables.records()
    real = stack.services.repository.store_snapshot

    def throttled(stream_id: str, *args: Any) -> bool:
        if stream_id == second:
            raise ServiceUnavailable("DynamoDB kept throttling")
        return real(stream_id, *args)

    monkeypatch.setattr(stack.services.repository, "store_snapshot", throttled)
    assert publish(api, records) == [sequence(records[1])]
    assert [e.detail["streamId"] for e in publisher.published] == [first]
    monkeypatch.setattr(stack.services.repository, "store_snapshot", real)
    assert publish(api, records[1:]) == []
    assert [e.detail["streamId"] for e in publisher.published] == [first, second]


def test_a_snapshot_that_cannot_be_made_does_not_hold_the_event_back(
    api: Api,
    stack: Stack,
    tables: Tables,
    publisher: RecordingPublisher,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream_id = text_stream(api, thread_id, "x")
    api.direct("finish_stream", {"streamId": stream_id})

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("a bug")

    monkeypatch.setattr(snapshots, "materialise", broken)
    assert publish(api, tables.records()) == []
    assert publisher.kinds() == [STREAM_FINISHED]
    stored = stack.services.repository.get_stream(stream_id, stack.clock.now_ms())
    assert stored is not None
    assert stored.snapshot_chunks is None


def test_a_message_too_large_to_keep_is_read_from_its_deltas(
    api: Api,
    stack: Stack,
    tables: Tables,
    publisher: RecordingPublisher,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream_id = text_stream(api, thread_id, "a long ", "reply")
    api.direct("finish_stream", {"streamId": stream_id})
    monkeypatch.setattr(snapshots, "MAX_SNAPSHOT_BYTES", 10)
    assert publish(api, tables.records()) == []
    assert publisher.kinds() == [STREAM_FINISHED]
    stored = stack.services.repository.get_stream(stream_id, stack.clock.now_ms())
    assert stored is not None
    assert stored.snapshot_chunks is None
    reply = api.direct("get_stream_message", {"streamId": stream_id})
    assert reply["uiMessage"]["text"] == "a long reply"


def test_removals_stream_ttl_and_thread(
    api: Api, stack: Stack, tables: Tables, publisher: RecordingPublisher
) -> None:
    thread_id = api.direct("create_thread", {"userId": "ada"})["threadId"]
    stream_id = text_stream(api, thread_id, "x")
    api.direct("finish_stream", {"streamId": stream_id})
    assert publish(api, tables.records()) == []
    # The stream item goes while its snapshot's items stay (a deletion that listed the
    # stream's items before the snapshot was written): they go with its removal.
    stack.services.repository.delete_stream(stream_id)
    assert stack.services.repository.find_snapshot(stream_id) is not None
    (removal,) = tables.records()
    # As DynamoDB signs a removal its TTL made.
    ttl = {**removal, "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"}}
    assert publish(api, [removal, ttl]) == []
    assert stack.services.repository.find_snapshot(stream_id) is None
    deleted, expired = publisher.published[1:]
    assert (deleted.detail_type, deleted.detail["status"]) == (STREAM_DELETED, "finished")
    assert "expired" not in deleted.detail
    assert expired.detail["expired"] is True
    assert deleted.time_ms == stack.clock.now_ms()

    stack.services.repository.delete_thread(thread_id)
    assert publish(api, tables.records()) == []
    assert publisher.published[-1].detail_type == THREAD_DELETED
    assert publisher.published[-1].detail == {"stack": "", "threadId": thread_id, "userId": "ada"}


def test_an_unreadable_record_is_handed_back_after_the_ones_before_it(
    api: Api, tables: Tables, publisher: RecordingPublisher, thread_id: str
) -> None:
    stream_id = text_stream(api, thread_id, "x")
    api.direct("finish_stream", {"streamId": stream_id})
    (record,) = tables.records()
    broken = json.loads(json.dumps(record))
    broken["dynamodb"]["SequenceNumber"] = "999"
    del broken["dynamodb"]["NewImage"]
    assert publish(api, [record, broken]) == ["999"]
    assert publisher.kinds() == [STREAM_FINISHED]


def test_events_reach_a_rule_on_the_bus(api: Api, stack: Stack, thread_id: str) -> None:
    """The real publisher on moto's EventBridge: a rule's queue gets the event as
    EventBridge delivers it."""
    events = boto3.client("events", region_name=REGION)
    sqs = boto3.client("sqs", region_name=REGION)
    queue = sqs.create_queue(QueueName=f"rule-{thread_id}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    pattern = {"source": ["agent-streams"], "detail": {"threadId": [thread_id]}}
    events.put_rule(Name=f"r-{thread_id}", EventPattern=json.dumps(pattern))
    events.put_targets(Rule=f"r-{thread_id}", Targets=[{"Id": "q", "Arn": arn}])
    tables = Tables(stack)
    stream_id = text_stream(api, thread_id, "x")
    api.direct("abort_stream", {"streamId": stream_id, "reason": "user"})
    assert publish(api, tables.records()) == []
    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    delivered = json.loads(message["Body"])
    assert (delivered["source"], delivered["detail-type"]) == ("agent-streams", STREAM_ABORTED)
    assert delivered["detail"]["reason"] == "user"
    assert delivered["time"] == "2026-01-01T00:00:00Z"


def test_a_stream_aborted_by_its_own_deletion_gets_no_snapshot(
    api: Api,
    stack: Stack,
    tables: Tables,
    publisher: RecordingPublisher,
    thread_id: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Its deltas are being deleted: reading them all for a snapshot would be wasted (and
    on a long stream, long). The deletion's abort marks it."""
    stream_id = text_stream(api, thread_id, "x", "y")
    stored: list[str] = []
    real = snapshots.store
    monkeypatch.setattr(
        snapshots, "store", lambda ctx, s, now: stored.append(s.stream_id) or real(ctx, s, now)
    )
    api.direct("delete_stream", {"streamId": stream_id})
    aborted, removed = tables.records()
    assert publish(api, [aborted]) == []  # alone in its batch, as when the deletion is long
    assert publish(api, [removed]) == []
    assert stored == []
    assert [(e.detail_type, e.detail.get("reason")) for e in publisher.published] == [
        (STREAM_ABORTED, "deleted"),
        (STREAM_DELETED, "deleted"),
    ]


def test_a_stream_with_a_spilled_part_has_its_whole_message_live_and_in_its_snapshot(
    api: Api, stack: Stack, tables: Tables, publisher: RecordingPublisher, thread_id: str
) -> None:
    """A part too large for a delta item is stored in S3 (``storage.spill``): the message
    materialised from the deltas while live, the snapshot written when the stream ends and
    the message read from it all hold the part, as list_deltas returns it."""
    big = "".join(f"{n:07d} " for n in range(70_000))  # 560,000 bytes: spilled
    stream_id = text_stream(api, thread_id, "before ", big, " after")
    (item,) = list(
        tables.dynamodb.query(
            TableName=stack.settings.deltas_table,
            KeyConditionExpression="streamId = :s AND #start = :n",
            ExpressionAttributeNames={"#start": "start"},
            ExpressionAttributeValues={":s": {"S": stream_id}, ":n": {"N": "2"}},
        )["Items"]
    )
    assert "spilled" in item
    assert len(item["parts"]["S"]) < 1000
    expected = "before " + big + " after"

    live = api.direct("get_stream_message", {"streamId": stream_id})
    assert (live["status"], live["cursor"], live["uiMessage"]["text"]) == (
        "streaming",
        5,
        expected,
    )

    api.direct("finish_stream", {"streamId": stream_id})
    assert publish(api, tables.records()) == []
    assert publisher.kinds() == [STREAM_FINISHED]
    stored = stack.services.repository.get_stream(stream_id, stack.clock.now_ms())
    assert stored is not None
    assert stored.snapshot_chunks
    data = stack.services.repository.read_snapshot(stream_id, stored.snapshot_chunks)
    assert data is not None
    assert snapshots.decode(data)["text"] == expected

    message = api.direct("get_stream_message", {"streamId": stream_id})
    deltas = api.direct(
        "list_deltas", {"threadId": thread_id, "cursors": [{"streamId": stream_id, "cursor": 0}]}
    )
    public = api.direct("list_streams", {"threadId": thread_id, "statuses": ["finished"]})
    assert message["uiMessage"] == derive_ui_messages(thread_id, public, deltas)[0]
    assert message["uiMessage"]["text"] == expected
    (doc,) = api.direct(
        "streaming_messages",
        {"threadId": thread_id, "order": 0, "stepOrder": 0, "status": "success"},
    )
    assert json.dumps(doc).count(big) == 1  # the message doc, from the snapshot

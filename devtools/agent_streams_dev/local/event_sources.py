"""Lambda's event source mappings from the tables' DynamoDB streams, in this process.

On AWS, Lambda polls each shard of a table's stream and invokes the mapped function
with batches of records. Here the same happens against the endpoint's DynamoDB
Streams API (the embedded moto's, or ``--aws-endpoint``'s), from the template's
``AWS::Lambda::EventSourceMapping`` resources:

- **Filter criteria** (EventBridge patterns, matched here by moto's event pattern
  matcher) against each record as Lambda hands it over; a record no pattern matches
  is dropped without an invocation, as on AWS.
- **Batches** of ``BatchSize`` records, in shard order, each record as Lambda has it:
  ``eventSourceARN`` added, ``ApproximateCreationDateTime`` in epoch seconds — of the
  stack's clock (DynamoDB's own is the wall clock, which the virtual clock is not).
- **Failures**: with ``ReportBatchItemFailures``, the records from the first one the
  function names are handed over again; a function error (an exception, a timeout,
  an invocation stopped) retries the batch, halved with
  ``BisectBatchOnFunctionError``; after ``MaximumRetryAttempts`` the batch's
  description goes to the ``OnFailure`` queue and the mapping moves on, as AWS's does.
  Retries here wait milliseconds, not AWS's backoff.

The mappings poll when woken (the stack wakes them after every request it serves)
and every :data:`IDLE_POLL_SECONDS` otherwise. :meth:`EventSourceMappings.drain`
returns once everything recorded before it was called has been delivered. Their
requests carry the counting proxy's background header (``counting.py``).
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from agent_streams_dev.local.counting import BACKGROUND_HEADER
from agent_streams_dev.local.functions import FunctionError, LocalFunction
from agent_streams_dev.local.template import EventSourceMappingSpec

log = logging.getLogger(__name__)

#: How often the shards are read when nothing wakes the mappings.
IDLE_POLL_SECONDS = 0.5
#: The shortest time between two polls (a burst of requests wakes them once).
MIN_POLL_INTERVAL_SECONDS = 0.01
#: Records one GetRecords returns at most (DynamoDB Streams' limit).
GET_RECORDS_LIMIT = 1000
#: The background header's value on the mappings' own requests.
POLLER = "event-source-mappings"


def mark_background(client: Any, value: str) -> Any:
    """Mark a client's requests as background ones (``counting.py``); returns the client."""

    def mark(request: Any, **_: Any) -> None:
        request.headers[BACKGROUND_HEADER] = value

    client.meta.events.register("before-send", mark)
    return client


def lambda_record(raw: dict[str, Any], stream_arn: str, now_ms: int) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to the function (JSON, as the event is)."""
    record = {k: _json_value(v) for k, v in raw.items() if k != "dynamodb"}
    dynamodb = {k: _json_value(v) for k, v in raw["dynamodb"].items()}
    dynamodb["ApproximateCreationDateTime"] = now_ms / 1000
    record["dynamodb"] = dynamodb
    record["eventSourceARN"] = stream_arn
    return record


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | set | tuple):
        return [_json_value(v) for v in value]
    return value


class Filters:
    """A mapping's ``FilterCriteria``: a record passes if any pattern matches (or none is set)."""

    def __init__(self, patterns: Sequence[dict[str, Any]]) -> None:
        from moto.events.models import EventPattern

        self._patterns = [EventPattern.load(json.dumps(p)) for p in patterns]

    def passes(self, record: dict[str, Any]) -> bool:
        event: Any = record  # moto types it as an EventBridge event; any JSON object matches
        return not self._patterns or any(p.matches_event(event) for p in self._patterns)


@dataclass
class StreamMapping:
    spec: EventSourceMappingSpec
    function: LocalFunction
    stream_arn: str
    filters: Filters
    on_failure_url: str | None
    #: Shard id -> the iterator to read it from next (None: read to its end).
    iterators: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class _Outcome:
    #: The function failed (its error payload).
    error: dict[str, Any] | None = None
    #: With ReportBatchItemFailures: the index of the first record to hand over again.
    failed_from: int | None = None


class EventSourceMappings:
    def __init__(
        self,
        mappings: list[StreamMapping],
        client: Callable[[str], Any],
        now_ms: Callable[[], int],
        *,
        after_cycle: Callable[[], object] | None = None,
    ) -> None:
        self.mappings = mappings
        self._streams = mark_background(client("dynamodbstreams"), POLLER)
        self._sqs = mark_background(client("sqs"), POLLER)
        self._now_ms = now_ms
        self._after_cycle = after_cycle
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._cond = threading.Condition()
        self._started = 0
        self._finished = 0
        self._thread: threading.Thread | None = None
        #: Batches sent to an on-failure destination (what failed every retry).
        self.dead_letters: list[dict[str, Any]] = []
        #: Invocations made, and those that failed (for tests and benchmarks).
        self.invocations = 0
        self.failed_invocations = 0

    # -- life ---------------------------------------------------------------------

    def start(self) -> EventSourceMappings:
        for mapping in self.mappings:
            self._discover_shards(mapping)
        self._thread = threading.Thread(
            target=self._run, name="agent-streams-event-sources", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def wake(self) -> None:
        """Poll now (something may have been written)."""
        self._wake.set()

    def drain(self, timeout: float = 120.0) -> None:
        """Return once every record written before this call has been delivered (and what
        the functions published has been collected)."""
        if self._thread is None or not self._thread.is_alive():
            return
        with self._cond:
            wanted = self._started + 1
            self._wake.set()
            if not self._cond.wait_for(
                lambda: self._finished >= wanted or self._stopping.is_set(), timeout
            ):
                raise TimeoutError("the event source mappings did not catch up")

    # -- polling -----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(IDLE_POLL_SECONDS)
            if self._stopping.is_set():
                break
            self._wake.clear()
            with self._cond:
                self._started += 1
                cycle = self._started
            try:
                self._cycle()
                if self._after_cycle is not None:
                    self._after_cycle()
            except Exception:
                log.exception("the event source mappings failed to poll")
            with self._cond:
                self._finished = cycle
                self._cond.notify_all()
            time.sleep(MIN_POLL_INTERVAL_SECONDS)

    def _cycle(self) -> None:
        for mapping in self.mappings:
            for shard_id in list(mapping.iterators):
                while self._poll(mapping, shard_id):
                    pass
            if any(iterator is None for iterator in mapping.iterators.values()):
                self._discover_shards(mapping)

    def _discover_shards(self, mapping: StreamMapping) -> None:
        """Start reading shards not seen yet (a closed shard's children, or all at first)."""
        shards = self._streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"][
            "Shards"
        ]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id in mapping.iterators:
                continue
            position = mapping.spec.starting_position if not mapping.iterators else "TRIM_HORIZON"
            mapping.iterators[shard_id] = self._streams.get_shard_iterator(
                StreamArn=mapping.stream_arn, ShardId=shard_id, ShardIteratorType=position
            )["ShardIterator"]

    def _poll(self, mapping: StreamMapping, shard_id: str) -> bool:
        """Read and deliver one page of a shard; whether it had records."""
        iterator = mapping.iterators[shard_id]
        if iterator is None:
            return False
        page = self._streams.get_records(ShardIterator=iterator, Limit=GET_RECORDS_LIMIT)
        mapping.iterators[shard_id] = page.get("NextShardIterator")
        raw = page.get("Records") or []
        if not raw:
            return False
        now = self._now_ms()
        records = [lambda_record(r, mapping.stream_arn, now) for r in raw]
        passed = [r for r in records if mapping.filters.passes(r)]
        size = max(1, mapping.spec.batch_size)
        for offset in range(0, len(passed), size):
            self._deliver(mapping, shard_id, passed[offset : offset + size])
        return True

    # -- delivering -----------------------------------------------------------------

    def _deliver(self, mapping: StreamMapping, shard_id: str, batch: list[dict[str, Any]]) -> None:
        """Invoke until the batch is done, or its retries are spent."""
        retries = mapping.spec.maximum_retry_attempts
        attempt = 0
        while batch:
            outcome = self._invoke(mapping, batch)
            if outcome.error is None and outcome.failed_from is None:
                return
            if 0 <= retries <= attempt:
                self._dead_letter(mapping, shard_id, batch, attempt + 1, outcome)
                return
            attempt += 1
            time.sleep(min(0.005 * 2**attempt, 0.2))
            if outcome.error is not None:
                if mapping.spec.bisect_on_error and len(batch) > 1:
                    half = len(batch) // 2
                    self._deliver(mapping, shard_id, batch[:half])
                    self._deliver(mapping, shard_id, batch[half:])
                    return
                continue
            assert outcome.failed_from is not None
            batch = batch[outcome.failed_from :]

    def _invoke(self, mapping: StreamMapping, batch: list[dict[str, Any]]) -> _Outcome:
        self.invocations += 1
        try:
            reply = mapping.function.invoke({"Records": batch})
        except FunctionError as error:
            self.failed_invocations += 1
            log.info(
                "%s failed on a batch of %d records: %s",
                mapping.function.name,
                len(batch),
                error.payload.get("errorMessage"),
            )
            return _Outcome(error=error.payload)
        if not mapping.spec.report_batch_item_failures or not isinstance(reply, dict):
            return _Outcome()
        failures = reply.get("batchItemFailures") or []
        if not failures:
            return _Outcome()
        sequences = [str(r["dynamodb"]["SequenceNumber"]) for r in batch]
        named = [str(f.get("itemIdentifier") or "") for f in failures if isinstance(f, dict)]
        if not named or any(n not in sequences for n in named):
            # Lambda reads an identifier it cannot place as the whole batch failing.
            return _Outcome(failed_from=0)
        return _Outcome(failed_from=min(sequences.index(n) for n in named))

    def _dead_letter(
        self,
        mapping: StreamMapping,
        shard_id: str,
        batch: list[dict[str, Any]],
        invocations: int,
        outcome: _Outcome,
    ) -> None:
        """What AWS sends the on-failure destination of a stream mapping: the batch's
        place in the shard, not its records."""
        first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
        message = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": mapping.function.arn,
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": invocations,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled" if outcome.error is not None else "",
            },
            "version": "1.0",
            "timestamp": datetime.fromtimestamp(self._now_ms() / 1000, UTC).isoformat(),
            "DDBStreamBatchInfo": {
                "shardId": shard_id,
                "startSequenceNumber": first["SequenceNumber"],
                "endSequenceNumber": last["SequenceNumber"],
                "approximateArrivalOfFirstRecord": first["ApproximateCreationDateTime"],
                "approximateArrivalOfLastRecord": last["ApproximateCreationDateTime"],
                "batchSize": len(batch),
                "streamArn": mapping.stream_arn,
            },
        }
        self.dead_letters.append(message)
        log.error(
            "%s: a batch of %d records failed every retry", mapping.spec.logical_id, len(batch)
        )
        if mapping.on_failure_url is not None:
            self._sqs.send_message(QueueUrl=mapping.on_failure_url, MessageBody=json.dumps(message))

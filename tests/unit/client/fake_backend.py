"""An in-memory backend with the contract's direct-invoke semantics, for client tests.

It enforces what the client relies on: the exactly-once append rule (a delta is
accepted only at the stream's ``nextStart``; an identical retry of an accepted
delta returns True and writes nothing; anything else is ``DeltaConflict``),
``add_delta`` False for a missing or ended stream, atomic final deltas, and the
read caps of ``list_deltas``/``list_streams``. Failures can be injected before or
after an operation takes effect (a timeout after the server processed it).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agent_streams_client.errors import TransientError
from agent_streams_protocol.errors import (
    DeltaConflict,
    DeltaTooLarge,
    StreamNotFound,
    ThreadDeleting,
    ThreadNotFound,
    ValidationError,
)
from agent_streams_protocol.limits import (
    MAX_DELTA_PARTS_BYTES,
    MAX_DELTAS_PER_REQUEST,
    MAX_DELTAS_PER_STREAM,
    MAX_PARTS_JSON_BYTES,
    MAX_STREAMS_PER_LIST,
)

PUBLIC_FIELDS = (
    "streamId",
    "status",
    "format",
    "order",
    "stepOrder",
    "userId",
    "agentName",
    "model",
    "provider",
    "providerOptions",
)


@dataclass
class Injection:
    operation: str
    error: Exception
    #: True: the operation takes effect, then the error is raised (a lost reply).
    after: bool
    times: int


@dataclass
class FakeBackend:
    now_ms: Callable[[], int] = lambda: 1_700_000_000_000
    threads: dict[str, dict[str, Any]] = field(default_factory=dict)
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    deltas: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    injections: list[Injection] = field(default_factory=list)
    #: Called (in the caller's context) before each operation; may be async (then awaited).
    hook: Callable[[str, dict[str, Any]], Any] | None = None
    #: operation -> (period, after): every period-th call of it fails transiently.
    flaky_ops: dict[str, tuple[int, bool]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=itertools.count)
    _lock: threading.RLock = field(default_factory=threading.RLock)

    # -- test helpers -------------------------------------------------------------

    def inject(
        self, operation: str, error: Exception, *, after: bool = False, times: int = 1
    ) -> None:
        self.injections.append(Injection(operation, error, after, times))

    def transient(self, operation: str, *, after: bool = False, times: int = 1) -> None:
        self.inject(
            operation,
            TransientError("injected", maybe_processed=after, operation=operation),
            after=after,
            times=times,
        )

    def flaky(self, operation: str, *, every: int, after: bool = False) -> None:
        self.flaky_ops[operation] = (every, after)

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def args_of(self, name: str) -> list[dict[str, Any]]:
        return [args for op, args in self.calls if op == name]

    def count(self, name: str) -> int:
        return sum(1 for op, _ in self.calls if op == name)

    def parts(self, stream_id: str) -> list[dict[str, Any]]:
        """Every stored part of a stream, checking the numbering is gap-free."""
        out: list[dict[str, Any]] = []
        expected = 0
        for delta in self.deltas.get(stream_id, []):
            assert delta["start"] == expected, (delta["start"], expected)
            assert 0 < len(delta["parts"]) <= delta["end"] - delta["start"]
            expected = delta["end"]
            out.extend(delta["parts"])
        return out

    def make_thread(self, thread_id: str = "t1") -> str:
        self.threads[thread_id] = {
            "threadId": thread_id,
            "status": "active",
            "createdAt": self.now_ms(),
        }
        return thread_id

    # -- dispatch -------------------------------------------------------------------

    def invoke(self, operation: str, args: dict[str, Any]) -> Any:
        with self._lock:
            self.calls.append((operation, json.loads(json.dumps(args))))
            injection = self._take_injection(operation)
            if injection is None and operation in self.flaky_ops:
                every, after = self.flaky_ops[operation]
                if self.count(operation) % every == 0:
                    injection = Injection(
                        operation,
                        TransientError("flaky", maybe_processed=after, operation=operation),
                        after,
                        1,
                    )
            if injection is not None and not injection.after:
                raise injection.error
            result = getattr(self, "op_" + operation)(args)
            if injection is not None:
                raise injection.error
            return json.loads(json.dumps(result))

    async def ainvoke(self, operation: str, args: dict[str, Any]) -> Any:
        """Async entry: runs ``hook`` first (tests use it to hold a call in flight)."""
        if self.hook is not None:
            result = self.hook(operation, args)
            if asyncio.iscoroutine(result):
                await result
        return self.invoke(operation, args)

    def _take_injection(self, operation: str) -> Injection | None:
        for injection in self.injections:
            if injection.operation == operation and injection.times > 0:
                injection.times -= 1
                return injection
        return None

    # -- operations -------------------------------------------------------------------

    def op_create_thread(self, args: dict[str, Any]) -> dict[str, Any]:
        thread_id = f"th{next(self._ids)}"
        thread = {"threadId": thread_id, **args, "status": "active", "createdAt": self.now_ms()}
        self.threads[thread_id] = thread
        return thread

    def _thread(self, thread_id: str) -> dict[str, Any]:
        thread = self.threads.get(thread_id)
        if thread is None:
            raise ThreadNotFound(thread_id)
        return thread

    def op_get_thread(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._thread(args["threadId"])

    def op_delete_thread(self, args: dict[str, Any]) -> dict[str, Any]:
        thread = self._thread(args["threadId"])
        thread["status"] = "deleting"
        return {"executionArn": f"arn:aws:states:::execution:x:{args['threadId']}"}

    def op_create_stream(self, args: dict[str, Any]) -> str:
        thread = self._thread(args["threadId"])
        if thread["status"] == "deleting":
            raise ThreadDeleting(args["threadId"])
        stream_id = f"s{next(self._ids)}"
        self.streams[stream_id] = {
            **{k: v for k, v in args.items() if k != "threadId"},
            "streamId": stream_id,
            "threadId": args["threadId"],
            "status": "streaming",
            "lastHeartbeat": self.now_ms(),
            "nextStart": 0,
        }
        self.deltas[stream_id] = []
        return stream_id

    def op_list_streams(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        statuses = args.get("statuses") or ["streaming"]
        found = [
            s
            for s in self.streams.values()
            if s["threadId"] == args["threadId"]
            and s["status"] in statuses
            and s["order"] >= args.get("startOrder", 0)
        ]
        found.sort(key=lambda s: (s["order"], s["stepOrder"]), reverse=True)
        return [{k: s[k] for k in PUBLIC_FIELDS if k in s} for s in found[:MAX_STREAMS_PER_LIST]]

    def op_list_deltas(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for cursor in args["cursors"]:
            stream = self.streams.get(cursor["streamId"])
            if stream is None or stream["threadId"] != args["threadId"]:
                continue
            found = [d for d in self.deltas[cursor["streamId"]] if d["start"] >= cursor["cursor"]]
            room = MAX_DELTAS_PER_REQUEST - len(out)
            out.extend(found[: min(MAX_DELTAS_PER_STREAM, room)])
        return out

    def op_abort_streams_by_order(self, args: dict[str, Any]) -> bool:
        aborted = False
        for stream in self.streams.values():
            if (
                stream["threadId"] == args["threadId"]
                and stream["order"] == args["order"]
                and stream["status"] == "streaming"
            ):
                self._end(stream, "aborted", args["reason"])
                aborted = True
        return aborted

    def op_delete_thread_streams(self, args: dict[str, Any]) -> None:
        for stream_id in [s for s, v in self.streams.items() if v["threadId"] == args["threadId"]]:
            del self.streams[stream_id]
            del self.deltas[stream_id]

    def op_streaming_messages(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        return []

    def _stream(self, stream_id: str) -> dict[str, Any]:
        stream = self.streams.get(stream_id)
        if stream is None:
            raise StreamNotFound(stream_id)
        return stream

    def op_get_stream(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._stream(args["streamId"])

    def _append(self, stream: dict[str, Any], delta: dict[str, Any]) -> bool:
        start, end, parts = delta["start"], delta["end"], delta["parts"]
        if not parts or end - start < len(parts):
            raise ValidationError("bad delta")
        size = len(json.dumps(parts, separators=(",", ":"), ensure_ascii=False).encode())
        # Stricter than the server (which spills a delta's largest parts): a part too
        # large for an item must come alone, as the client sends it.
        limit = MAX_DELTA_PARTS_BYTES if len(parts) == 1 else MAX_PARTS_JSON_BYTES
        if size > limit:
            raise DeltaTooLarge(size, limit)
        for existing in self.deltas[stream["streamId"]]:
            if existing["start"] == start:
                if existing["end"] == end and existing["parts"] == parts:
                    return True  # an identical retry: accepted once, not written again
                break
        if start != stream["nextStart"]:
            raise DeltaConflict(stream["streamId"], start, stream["nextStart"])
        self.deltas[stream["streamId"]].append(
            {"streamId": stream["streamId"], "start": start, "end": end, "parts": parts}
        )
        stream["nextStart"] = end
        stream["lastHeartbeat"] = self.now_ms()
        return True

    def op_add_delta(self, args: dict[str, Any]) -> bool:
        stream = self.streams.get(args["streamId"])
        if stream is None:
            return False
        if stream["status"] != "streaming":
            # An identical retry of an accepted delta still answers True.
            for existing in self.deltas[stream["streamId"]]:
                if existing["start"] == args["start"] and existing["parts"] == args["parts"]:
                    return True
            return False
        return self._append(stream, args)

    def op_heartbeat_stream(self, args: dict[str, Any]) -> None:
        stream = self._stream(args["streamId"])
        if stream["status"] == "streaming":
            stream["lastHeartbeat"] = self.now_ms()

    def _end(self, stream: dict[str, Any], status: str, reason: str | None = None) -> None:
        stream["status"] = status
        stream["endedAt"] = self.now_ms()
        if reason is not None:
            stream["reason"] = reason

    def op_finish_stream(self, args: dict[str, Any]) -> None:
        stream = self._stream(args["streamId"])
        if stream["status"] != "streaming":
            return
        if "finalDelta" in args:
            self._append(stream, args["finalDelta"])
        self._end(stream, "finished")

    def op_abort_stream(self, args: dict[str, Any]) -> bool:
        stream = self._stream(args["streamId"])
        if stream["status"] != "streaming":
            return False
        if "finalDelta" in args:
            self._append(stream, args["finalDelta"])
        self._end(stream, "aborted", args["reason"])
        return True

    def op_delete_stream(self, args: dict[str, Any]) -> None:
        self.streams.pop(args["streamId"], None)
        self.deltas.pop(args["streamId"], None)

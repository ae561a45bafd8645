"""A tiny stand-in for ``agent_streams_protocol.materialize.StreamMaterializer`` (same API).

One UI message per stream with its concatenated text, its status and its part
count — enough to see what the follower fed it, in which order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_streams_client.types import StreamDelta


class StandInMaterializer:
    def __init__(self, thread_id: str, stream_message: dict[str, Any]) -> None:
        self.thread_id = thread_id
        self.stream = stream_message
        self.parts: list[dict[str, Any]] = []
        self._cursor = 0
        self.applied: list[int] = []  # starts of the deltas fed, to check ordering

    @property
    def cursor(self) -> int:
        return self._cursor

    def apply(self, deltas: list[StreamDelta]) -> bool:
        changed = False
        for delta in deltas:
            self.applied.append(delta["start"])
            if delta["end"] <= self._cursor:
                continue  # re-sent
            if delta["start"] != self._cursor:
                break  # a gap: stop, as the real one does
            self.parts.extend(delta["parts"])
            self._cursor = delta["end"]
            changed = True
        return changed

    def set_stream(self, stream_message: dict[str, Any]) -> bool:
        changed = stream_message.get("status") != self.stream.get("status")
        self.stream = stream_message
        return changed

    def ui_messages(self) -> list[dict[str, Any]]:
        if not self.parts:
            return []
        return [
            {
                "id": self.stream["streamId"],
                "order": self.stream["order"],
                "stepOrder": self.stream["stepOrder"],
                "status": self.stream["status"],
                "text": "".join(p.get("delta", "") for p in self.parts),
                "parts": len(self.parts),
            }
        ]


def merge(per_stream: Iterable[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [message for messages in per_stream for message in messages]


STANDIN: dict[str, Any] = {"materializer_factory": StandInMaterializer, "merge": merge}

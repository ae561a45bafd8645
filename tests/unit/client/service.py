"""The service the client talks to: the real handlers on moto, read and changed directly.

What a test arranges or checks on the server side (another writer appending,
someone aborting or deleting a stream, what was stored) goes straight to the
handlers here, not through the client under test, so it is neither recorded
nor subject to injected failures.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agent_streams_client.inprocess_transport import InProcessTransport
from tests.helpers import Api


@dataclass
class Service:
    api: Api

    def invoke(self, operation: str, args: dict[str, Any]) -> Any:
        return self.api.direct(operation, args)

    def transport(self, *, in_thread: bool = False) -> InProcessTransport:
        """Direct invoke of the handlers. Not in a thread by default: a call runs on the
        test's event loop, so what happens between two awaits is the test's to decide."""
        return InProcessTransport(self.invoke, in_thread=in_thread)

    # -- arranging ------------------------------------------------------------------

    def thread(self) -> str:
        return str(self.invoke("create_thread", {})["threadId"])

    def create_stream(self, thread_id: str, order: int = 0, step_order: int = 0) -> str:
        args = {"threadId": thread_id, "order": order, "stepOrder": step_order}
        return str(self.invoke("create_stream", args))

    def write(self, stream_id: str, *texts: str) -> None:
        """Append one delta of one part per text, from where the server says the stream is."""
        start = self.stream(stream_id)["nextStart"]
        for number, text in enumerate(texts, start):
            part = {"type": "text-delta", "id": "t0", "delta": text}
            accepted = self.invoke(
                "add_delta",
                {"streamId": stream_id, "start": number, "end": number + 1, "parts": [part]},
            )
            assert accepted is True

    def finish(self, stream_id: str, final_delta: dict[str, Any] | None = None) -> None:
        args: dict[str, Any] = {"streamId": stream_id}
        if final_delta is not None:
            args["finalDelta"] = {"streamId": stream_id, **final_delta}
        self.invoke("finish_stream", args)

    def abort(self, stream_id: str, reason: str) -> None:
        assert self.invoke("abort_stream", {"streamId": stream_id, "reason": reason}) is True

    def delete(self, stream_id: str) -> None:
        self.invoke("delete_stream", {"streamId": stream_id})

    # -- checking ----------------------------------------------------------------------

    def stream(self, stream_id: str) -> dict[str, Any]:
        return dict(self.invoke("get_stream", {"streamId": stream_id}))

    def streams(self, thread_id: str) -> list[dict[str, Any]]:
        statuses = ["streaming", "finished", "aborted"]
        return list(self.invoke("list_streams", {"threadId": thread_id, "statuses": statuses}))

    def deltas(self, stream_id: str) -> list[dict[str, Any]]:
        """Every stored delta of the stream, in order (read page by page)."""
        thread_id = self.stream(stream_id)["threadId"]
        found: list[dict[str, Any]] = []
        cursor = 0
        while True:
            cursors = [{"streamId": stream_id, "cursor": cursor}]
            page = self.invoke("list_deltas", {"threadId": thread_id, "cursors": cursors})
            if not page:
                return found
            found.extend(page)
            cursor = page[-1]["end"]

    def parts(self, stream_id: str) -> list[dict[str, Any]]:
        """Every stored part, checking that the deltas follow one another without a gap."""
        out: list[dict[str, Any]] = []
        expected = 0
        for delta in self.deltas(stream_id):
            assert delta["start"] == expected, (delta["start"], expected)
            assert 0 < len(delta["parts"]) <= delta["end"] - delta["start"]
            expected = delta["end"]
            out.extend(delta["parts"])
        return out

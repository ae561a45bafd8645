"""The blocking facades, for synchronous code (a Lambda handler, a script)."""

from __future__ import annotations

import contextlib

from agent_streams_client import SyncStreamsClient


def test_a_sync_pipeline_writes_and_a_sync_reader_reads(endpoint: str, title: str) -> None:
    words = [f"s{n} " for n in range(40)]
    with SyncStreamsClient.http(endpoint) as client:
        thread_id = client.create_thread(title=title)["threadId"]
        with client.streamer(thread_id=thread_id, order=0, step_order=0, throttle_ms=5) as s:
            s.add_parts([{"type": "text-start", "id": "t"}])
            for word in words:
                s.add_parts([{"type": "text-delta", "id": "t", "delta": word}])
            s.add_parts([{"type": "text-end", "id": "t"}])
        assert s.finished
        final = list(client.follow(thread_id, stop_when_idle=True))[-1]
        text = "".join(p["text"] for p in final[0]["parts"] if p["type"] == "text")
        assert text == "".join(words)

        def failing() -> None:
            with client.streamer(thread_id=thread_id, order=1, step_order=0) as s2:
                s2.add_parts([{"type": "text-delta", "id": "t", "delta": "partial"}])
                raise RuntimeError("tool crashed")

        with contextlib.suppress(RuntimeError):
            failing()
        (aborted,) = client.list_streams(thread_id, start_order=1, statuses=["aborted"])
        state = client.get_stream(aborted["streamId"])
        assert (state["status"], state["reason"], state["nextStart"]) == (
            "aborted",
            "tool crashed",
            1,
        )

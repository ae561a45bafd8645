"""The follower against the in-memory backend, with the stand-in materialiser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from agent_streams_client import follower as follower_module
from agent_streams_client.errors import TransientError
from agent_streams_client.follower import ThreadFollower
from agent_streams_client.retry import RetryPolicy
from agent_streams_client.types import UIMessage

from .fake_backend import FakeBackend
from .fake_clock import run
from .helpers import client_for, td
from .standin_materializer import STANDIN, StandInMaterializer


class Script:
    """A fake sleep that runs the next scripted change of the backend at each call."""

    def __init__(self, *actions: Callable[[], object]) -> None:
        self.actions = list(actions)
        self.sleeps = 0
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps += 1
        self.now += delay
        if self.actions:
            self.actions.pop(0)()


def new_stream(backend: FakeBackend, order: int = 0, step_order: int = 0) -> str:
    return str(
        backend.op_create_stream(
            {"threadId": "t1", "order": order, "stepOrder": step_order, "format": "UIMessageChunk"}
        )
    )


def write(backend: FakeBackend, stream_id: str, *texts: str) -> None:
    stream = backend.streams[stream_id]
    for text in texts:
        start = stream["nextStart"]
        backend.op_add_delta(
            {"streamId": stream_id, "start": start, "end": start + 1, "parts": [td(text)]}
        )


def finish(backend: FakeBackend, stream_id: str) -> None:
    backend.op_finish_stream({"streamId": stream_id})


def follower(backend: FakeBackend, script: Script, **options: Any) -> ThreadFollower:
    return ThreadFollower(
        client_for(backend),
        "t1",
        clock=script.clock,
        sleep=script.sleep,
        **{**STANDIN, **options},
    )


async def collect(f: ThreadFollower) -> list[list[UIMessage]]:
    return [messages async for messages in f.messages()]


def texts(messages: list[UIMessage]) -> list[tuple[str, str]]:
    return [(m["text"], m["status"]) for m in messages]


def test_follows_a_live_stream_until_it_is_complete() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "a")
    script = Script(
        lambda: write(backend, sid, "b"),
        lambda: None,  # a poll with nothing new: nothing yielded
        lambda: [write(backend, sid, "c"), finish(backend, sid)],  # type: ignore[func-returns-value]
    )
    f = follower(backend, script, stop_when_idle=True)
    yielded = run(collect(f))
    assert [texts(m) for m in yielded] == [
        [("a", "streaming")],
        [("ab", "streaming")],
        [("abc", "finished")],
    ]
    assert f.idle
    # Complete: after the poll that saw "finished", one more round found nothing new.
    assert f.polls == 5


def test_streams_are_ordered_and_new_streams_are_picked_up() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    second = new_stream(backend, order=1)
    write(backend, second, "second")
    first = new_stream(backend, order=0)
    write(backend, first, "first")
    finish(backend, first)
    finish(backend, second)
    third: list[str] = []

    def add_third() -> None:
        sid = new_stream(backend, order=2)
        third.append(sid)
        write(backend, sid, "third")
        finish(backend, sid)

    script = Script(add_third)
    f = follower(backend, script, stop_when_idle=False, max_polls=4)
    yielded = run(collect(f))
    assert texts(yielded[0]) == [("first", "finished"), ("second", "finished")]
    assert texts(yielded[-1]) == [
        ("first", "finished"),
        ("second", "finished"),
        ("third", "finished"),
    ]


def test_capped_replies_are_asked_again_without_waiting() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, *[f"{i}," for i in range(250)])
    finish(backend, sid)
    script = Script()
    f = follower(backend, script, stop_when_idle=True)
    yielded = run(collect(f))
    assert yielded[-1][0]["text"] == "".join(f"{i}," for i in range(250))
    assert yielded[-1][0]["parts"] == 250
    # 100 + 100 back to back, then 50, then a round with nothing new: one sleep only.
    assert backend.count("list_deltas") == 4
    assert script.sleeps == 1
    materializer = f.streams[sid].materializer
    assert isinstance(materializer, StandInMaterializer)
    assert materializer.applied == sorted(materializer.applied)


def test_a_stream_that_disappears_keeps_its_messages_and_is_no_longer_polled() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "partial")
    script = Script(lambda: backend.op_delete_stream({"streamId": sid}))
    f = follower(backend, script, stop_when_idle=True)
    yielded = run(collect(f))
    assert texts(yielded[-1]) == [("partial", "streaming")]
    assert f.streams[sid].gone
    assert f.streams[sid].complete
    assert texts(f.ui_messages()) == [("partial", "streaming")]
    polled = list(backend.args_of("list_deltas"))
    assert len(polled) == 2  # seen; then one last round after it vanished


def test_aborted_and_timed_out_streams_are_terminal() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "x")
    script = Script(
        lambda: backend.op_abort_stream({"streamId": sid, "reason": "timeout"}),
    )
    yielded = run(collect(follower(backend, script, stop_when_idle=True)))
    assert texts(yielded[-1]) == [("x", "aborted")]


def test_only_the_requested_statuses_are_listed() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "x")
    finish(backend, sid)
    f = follower(backend, Script(), statuses=("streaming",), stop_when_idle=True)
    assert run(collect(f)) == []
    assert backend.args_of("list_streams")[0]["statuses"] == ["streaming"]


def test_cursors_are_sent_in_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follower_module, "MAX_CURSORS", 2)
    backend = FakeBackend()
    backend.make_thread("t1")
    for order in range(3):
        sid = new_stream(backend, order=order)
        write(backend, sid, str(order))
        finish(backend, sid)
    f = follower(backend, Script(), max_polls=1)
    yielded = run(collect(f))
    assert [m["text"] for m in yielded[-1]] == ["0", "1", "2"]
    assert [len(a["cursors"]) for a in backend.args_of("list_deltas")] == [2, 1]


def test_transient_errors_are_retried_then_raised() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "ok")
    finish(backend, sid)
    backend.transient("list_streams", times=2)
    f = follower(backend, Script(), stop_when_idle=True, retry_policy=RetryPolicy(max_retries=3))
    assert texts(run(collect(f))[-1]) == [("ok", "finished")]

    backend.transient("list_deltas", times=10)
    f = follower(backend, Script(), stop_when_idle=True, retry_policy=RetryPolicy(max_retries=2))
    with pytest.raises(TransientError):
        run(collect(f))


def test_timeout_and_max_polls_end_the_iteration() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "x")  # never finishes
    f = follower(backend, Script(), max_polls=3)
    run(collect(f))
    assert f.polls == 3
    f = follower(backend, Script(), timeout=1.0, poll_interval=0.25)
    run(collect(f))
    assert f.polls == 5


def test_client_follow_passes_its_options() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    sid = new_stream(backend)
    write(backend, sid, "hi")
    finish(backend, sid)
    script = Script()

    async def body() -> list[list[UIMessage]]:
        c = client_for(backend)
        return [
            m
            async for m in c.follow(
                "t1", stop_when_idle=True, clock=script.clock, sleep=script.sleep, **STANDIN
            )
        ]

    assert texts(run(body())[-1]) == [("hi", "finished")]


def test_an_empty_thread_is_idle_at_once() -> None:
    backend = FakeBackend()
    backend.make_thread("t1")
    f = follower(backend, Script(), stop_when_idle=True)
    assert run(collect(f)) == []
    assert f.polls == 1

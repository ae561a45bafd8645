"""The follower against the real handlers (moto), with the stand-in materialiser."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from agent_streams_client import follower as follower_module
from agent_streams_client.errors import TransientError
from agent_streams_client.follower import ThreadFollower
from agent_streams_client.retry import RetryPolicy
from agent_streams_client.streams_client import StreamsClient
from agent_streams_client.types import UIMessage

from .fake_clock import run
from .flaky_transport import FlakyTransport
from .helpers import wire_to
from .service import Service
from .standin_materializer import STANDIN, StandInMaterializer


class Script:
    """A fake sleep that runs the next scripted change of the service at each call."""

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


@dataclass
class Thread:
    """A thread of the real service, and the wire its followers read through."""

    service: Service
    thread_id: str
    wire: FlakyTransport
    client: StreamsClient

    def new_stream(self, order: int = 0, step_order: int = 0) -> str:
        return self.service.create_stream(self.thread_id, order, step_order)

    def write(self, stream_id: str, *texts: str) -> None:
        self.service.write(stream_id, *texts)

    def finish(self, stream_id: str) -> None:
        self.service.finish(stream_id)

    def follower(self, script: Script, **options: Any) -> ThreadFollower:
        return ThreadFollower(
            self.client,
            self.thread_id,
            clock=script.clock,
            sleep=script.sleep,
            **{**STANDIN, **options},
        )


@pytest.fixture
def thread(service: Service) -> Thread:
    wire, client = wire_to(service)
    return Thread(service, service.thread(), wire, client)


async def collect(f: ThreadFollower) -> list[list[UIMessage]]:
    return [messages async for messages in f.messages()]


def texts(messages: list[UIMessage]) -> list[tuple[str, str]]:
    return [(m["text"], m["status"]) for m in messages]


def test_follows_a_live_stream_until_it_is_complete(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, "a")
    script = Script(
        lambda: thread.write(sid, "b"),
        lambda: None,  # a poll with nothing new: nothing yielded
        lambda: [thread.write(sid, "c"), thread.finish(sid)],  # type: ignore[func-returns-value]
    )
    f = thread.follower(script, stop_when_idle=True)
    yielded = run(collect(f))
    assert [texts(m) for m in yielded] == [
        [("a", "streaming")],
        [("ab", "streaming")],
        [("abc", "finished")],
    ]
    assert f.idle
    # Complete: after the poll that saw "finished", one more round found nothing new.
    assert f.polls == 5


def test_streams_are_ordered_and_new_streams_are_picked_up(thread: Thread) -> None:
    second = thread.new_stream(order=1)
    thread.write(second, "second")
    first = thread.new_stream(order=0)
    thread.write(first, "first")
    thread.finish(first)
    thread.finish(second)
    third: list[str] = []

    def add_third() -> None:
        sid = thread.new_stream(order=2)
        third.append(sid)
        thread.write(sid, "third")
        thread.finish(sid)

    script = Script(add_third)
    f = thread.follower(script, stop_when_idle=False, max_polls=4)
    yielded = run(collect(f))
    assert texts(yielded[0]) == [("first", "finished"), ("second", "finished")]
    assert texts(yielded[-1]) == [
        ("first", "finished"),
        ("second", "finished"),
        ("third", "finished"),
    ]


def test_capped_replies_are_asked_again_without_waiting(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, *[f"{i}," for i in range(250)])
    thread.finish(sid)
    script = Script()
    f = thread.follower(script, stop_when_idle=True)
    yielded = run(collect(f))
    assert yielded[-1][0]["text"] == "".join(f"{i}," for i in range(250))
    assert yielded[-1][0]["parts"] == 250
    # 100 + 100 back to back, then 50, then a round with nothing new: one sleep only.
    assert thread.wire.count("list_deltas") == 4
    assert script.sleeps == 1
    materializer = f.streams[sid].materializer
    assert isinstance(materializer, StandInMaterializer)
    assert materializer.applied == sorted(materializer.applied)


def test_a_stream_that_disappears_keeps_its_messages_and_is_no_longer_polled(
    thread: Thread,
) -> None:
    sid = thread.new_stream()
    thread.write(sid, "partial")
    script = Script(lambda: thread.service.delete(sid))
    f = thread.follower(script, stop_when_idle=True)
    yielded = run(collect(f))
    assert texts(yielded[-1]) == [("partial", "streaming")]
    assert f.streams[sid].gone
    assert f.streams[sid].complete
    assert texts(f.ui_messages()) == [("partial", "streaming")]
    polled = list(thread.wire.args_of("list_deltas"))
    assert len(polled) == 2  # seen; then one last round after it vanished


def test_aborted_and_timed_out_streams_are_terminal(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, "x")
    script = Script(
        lambda: thread.service.abort(sid, "timeout"),
    )
    yielded = run(collect(thread.follower(script, stop_when_idle=True)))
    assert texts(yielded[-1]) == [("x", "aborted")]


def test_only_the_requested_statuses_are_listed(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, "x")
    thread.finish(sid)
    f = thread.follower(Script(), statuses=("streaming",), stop_when_idle=True)
    assert run(collect(f)) == []
    assert thread.wire.args_of("list_streams")[0]["statuses"] == ["streaming"]


def test_cursors_are_sent_in_batches(thread: Thread, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(follower_module, "MAX_CURSORS", 2)
    for order in range(3):
        sid = thread.new_stream(order=order)
        thread.write(sid, str(order))
        thread.finish(sid)
    f = thread.follower(Script(), max_polls=1)
    yielded = run(collect(f))
    assert [m["text"] for m in yielded[-1]] == ["0", "1", "2"]
    assert [len(a["cursors"]) for a in thread.wire.args_of("list_deltas")] == [2, 1]


def test_transient_errors_are_retried_then_raised(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, "ok")
    thread.finish(sid)
    thread.wire.transient("list_streams", times=2)
    f = thread.follower(Script(), stop_when_idle=True, retry_policy=RetryPolicy(max_retries=3))
    assert texts(run(collect(f))[-1]) == [("ok", "finished")]

    thread.wire.transient("list_deltas", times=10)
    f = thread.follower(Script(), stop_when_idle=True, retry_policy=RetryPolicy(max_retries=2))
    with pytest.raises(TransientError):
        run(collect(f))


def test_timeout_and_max_polls_end_the_iteration(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, "x")  # never finishes
    f = thread.follower(Script(), max_polls=3)
    run(collect(f))
    assert f.polls == 3
    f = thread.follower(Script(), timeout=1.0, poll_interval=0.25)
    run(collect(f))
    assert f.polls == 5


def test_client_follow_passes_its_options(thread: Thread) -> None:
    sid = thread.new_stream()
    thread.write(sid, "hi")
    thread.finish(sid)
    script = Script()

    async def body() -> list[list[UIMessage]]:
        return [
            m
            async for m in thread.client.follow(
                thread.thread_id,
                stop_when_idle=True,
                clock=script.clock,
                sleep=script.sleep,
                **STANDIN,
            )
        ]

    assert texts(run(body())[-1]) == [("hi", "finished")]


def test_an_empty_thread_is_idle_at_once(thread: Thread) -> None:
    f = thread.follower(Script(), stop_when_idle=True)
    assert run(collect(f)) == []
    assert f.polls == 1


def test_a_change_seen_before_a_failed_read_is_still_reported(thread: Thread) -> None:
    """The poll that sees the stream finished fails on its list_deltas: the next poll
    brings nothing new, yet the finish must still be shown before the follower ends."""
    sid = thread.new_stream()
    thread.write(sid, "a")

    def finish_then_fail_the_read() -> None:
        thread.finish(sid)
        thread.wire.transient("list_deltas")

    f = thread.follower(Script(finish_then_fail_the_read), stop_when_idle=True)
    yielded = run(collect(f))
    assert [texts(m) for m in yielded] == [[("a", "streaming")], [("a", "finished")]]
    assert thread.wire.count("list_deltas") == 3  # read, failed, nothing new

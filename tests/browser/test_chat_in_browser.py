"""A real browser following a reply: headless Chromium (Debian's, driven by playwright-core)
opens the test page — React, ``useChat({ id: threadId, resume: true, transport })`` with
``AgentStreamsChatTransport`` — against the local stack in real time, while a Python
pipeline writes the reply with ``DeltaStreamer`` at the reference's 250 ms throttle.

1. The reply grows on the page; the page reloads mid-reply and goes on with nothing
   missing or repeated (the live reads also end each connection every 2 s, so the page
   resumes with Last-Event-ID several times); at the end the page shows exactly the
   message ``derive_ui_messages`` builds from the stored deltas.
2. The same run with a seeded fault in the test's own seam (one event dropped or
   repeated after the reconnect): the same checks must catch it.
3. The page's Stop button aborts the stream on the server; the writer's next
   ``add_delta`` is refused and it stops.
4. The React example of ``docs/browser.md`` is the tested one, and it follows and stops a reply.
"""

from __future__ import annotations

import copy
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from agent_streams_dev.local.stack import LocalStack
from agent_streams_dev.local.template import PROJECT_ROOT

from .conftest import report
from .faults import Connection, Fault, SseFaults
from .page_driver import TS_DIR, BrowserPage
from .reply import (
    Writer,
    create_thread,
    rendered,
    reply_parts,
    stored_message,
    stream_status,
    text_of,
)

pytestmark = pytest.mark.e2e

#: About 330 parts, one every 25 ms: an 8-9 s reply, ~10 parts a delta at the throttle.
REPLY = {"reasoning": 60, "text": 120, "tool_input": 40, "text_after": 90}
PACE_S = 0.025
#: The page reloads once the writer has given this share of the parts.
RELOAD_AT = 0.45
OBSERVE_EVERY_S = 0.3


@dataclass
class Observation:
    at: float
    messages: int
    parts: list[dict[str, Any]]

    @property
    def length(self) -> int:
        return len(text_of(self.parts))


@dataclass
class ReplyRun:
    thread_id: str
    writer: Writer
    before: list[Observation]
    after: list[Observation]
    final: dict[str, Any]
    message: dict[str, Any]
    connections: list[Connection]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def expected(self) -> list[dict[str, str]]:
        return rendered(self.message)

    @property
    def page_parts(self) -> list[dict[str, str]]:
        [shown] = self.final["messages"]
        return [
            {"type": p["type"], "state": p["state"] or "", "text": p["text"]}
            for p in shown["parts"]
        ]


def console_errors(browser: BrowserPage) -> list[str]:
    """What the page logged as errors (a refused CORS preflight, a failed request, an
    exception in React)."""
    return [line for line in browser.logs() if line.startswith(("error:", "pageerror:"))]


def observe(browser: BrowserPage, t0: float) -> Observation:
    seen = browser.parts()
    return Observation(time.monotonic() - t0, seen["messages"], seen["parts"])


def prefix_problem(seen: list[dict[str, Any]], expected: list[dict[str, str]]) -> str | None:
    """Why what the page showed mid-reply is not the start of the final message (or None)."""
    if len(seen) > len(expected):
        return f"{len(seen)} parts, the reply has {len(expected)}"
    for index, (part, want) in enumerate(zip(seen, expected, strict=False)):
        if part["type"] != want["type"]:
            return f"part {index} is {part['type']}, not {want['type']}"
        if part["type"] in ("text", "reasoning") and not want["text"].startswith(part["text"]):
            shown = {**part, "state": want["state"]}
            return f"part {index} is not the start of the final one: {part_difference(shown, want)}"
    return None


def part_difference(part: dict[str, str], want: dict[str, str]) -> str:
    if (part["type"], part["state"]) != (want["type"], want["state"]):
        return f"{part['type']}/{part['state']} on the page, derived {want['type']}/{want['state']}"
    page, derived = part["text"], want["text"]
    at = next((i for i, (a, b) in enumerate(zip(page, derived, strict=False)) if a != b), None)
    if at is None:
        at = min(len(page), len(derived))
    return (
        f"its text from character {at}: page {page[at : at + 30]!r}…,"
        f" derived {derived[at : at + 30]!r}… ({len(page)} vs {len(derived)} characters)"
    )


def problems(run: ReplyRun) -> list[str]:
    """Everything the page got wrong about the reply: the final message against the one
    derived from the stored deltas, and every observation against its start."""
    found = []
    messages = run.final["messages"]
    if len(messages) != 1 or messages[0]["role"] != "assistant":
        found.append(
            f"the page shows {[(m['role'], m['id']) for m in messages]}, not one assistant message"
        )
        return found
    if messages[0]["id"] != run.message["id"]:
        found.append(f"message id {messages[0]['id']!r}, derived {run.message['id']!r}")
    shown, expected = run.page_parts, run.expected
    if len(shown) != len(expected):
        found.append(f"the page shows {len(shown)} parts, derived {len(expected)}")
    for index, (part, want) in enumerate(zip(shown, expected, strict=False)):
        if part != want:
            found.append(f"final part {index} differs: {part_difference(part, want)}")
    for obs in [*run.before, *run.after]:
        problem = prefix_problem(obs.parts, expected)
        if problem is not None:
            found.append(f"at {obs.at:.1f} s: {problem}")
    if run.final["error"]:
        found.append(f"useChat error: {run.final['error']}")
    return found


def run_reply(
    stack: LocalStack, browser: BrowserPage, faults: SseFaults, fault: Fault | None
) -> ReplyRun:
    parts = reply_parts(**REPLY)
    thread_id = create_thread(stack.url, f"browser {fault or 'clean'}")
    t0 = time.monotonic()
    writer = Writer(stack.url, thread_id, parts, PACE_S).start()
    assert writer.first_delta.wait(10), "the writer's first delta was not accepted within 10 s"
    browser.open(thread_id, stack.url)
    opened = time.monotonic() - t0
    before = [observe(browser, t0)]
    while writer.given < len(parts) * RELOAD_AT:
        assert not writer.done, f"the writer ended before the reload: {writer.error!r}"
        time.sleep(OBSERVE_EVERY_S)
        before.append(observe(browser, t0))
    if fault is not None and fault.on == "reload":
        faults.arm(thread_id, fault)
    reload_started = time.monotonic()
    browser.reload()
    reloaded = time.monotonic() - t0
    if fault is not None and fault.on == "resume":
        faults.arm(thread_id, fault)
    after = []
    caught_up = None
    while not writer.done:
        after.append(observe(browser, t0))
        if caught_up is None and after[-1].length >= before[-1].length:
            caught_up = time.monotonic() - reload_started
        time.sleep(OBSERVE_EVERY_S)
    writer.join(5)
    assert writer.finished, "the writer did not finish its stream"
    written = time.monotonic()
    browser.wait_for_finish(timeout_s=15)
    final = browser.read()
    timings = {
        "reply_s": writer.ended_at - writer.started_at,
        "page_open_s": opened,
        "reload_at_s": reloaded,
        "caught_up_after_reload_s": caught_up if caught_up is not None else float("nan"),
        "page_done_after_writer_s": time.monotonic() - written,
        "scenario_s": time.monotonic() - t0,
    }
    return ReplyRun(
        thread_id,
        writer,
        before,
        after,
        final,
        stored_message(stack.url, thread_id),
        faults.of(thread_id),
        timings,
    )


def test_reply_grows_survives_a_reload_and_equals_the_stored_message(
    stack: LocalStack, browser: BrowserPage, live_faults: SseFaults, artifacts: Path
) -> None:
    run = run_reply(stack, browser, live_faults, None)
    shot = browser.screenshot(artifacts / "finished-reply.png")
    print(f"\nscreenshot of the finished page: {shot}")

    assert problems(run) == []
    # It grew on the page before the reload, and again after it.
    lengths = [o.length for o in run.before]
    assert len(set(lengths)) >= 5, lengths
    assert lengths == sorted(lengths), lengths
    assert max(o.length for o in run.after) > run.before[-1].length
    # The shape of the reply: reasoning, text, the streamed tool call with its output, text.
    kinds = [p["type"] for p in run.page_parts]
    assert kinds == ["step-start", "reasoning", "text", "tool", "step-start", "text"], kinds
    assert run.page_parts[3]["state"] == "output-available"
    assert run.final["finish"] == '{"isAbort":false,"isDisconnect":false,"isError":false}'
    assert run.final["status"] == "ready"
    # The browser resumed with Last-Event-ID on connections the server ended, before and
    # after the reload; the page's last connection got [DONE].
    connections = run.connections
    resumed = [c for c in connections if c.last_event_id is not None]
    assert all(c.status == 200 for c in connections), connections
    assert len(resumed) >= 2, connections
    assert connections[-1].done, connections
    # Each delta batched many parts (the writer's throttle).
    deltas = len(run.writer.accepted)
    assert deltas < len(reply_parts(**REPLY)) / 4, deltas

    report(
        f"reply: {len(reply_parts(**REPLY))} parts in {deltas} deltas; "
        + ", ".join(f"{k} {v:.2f}" for k, v in run.timings.items())
        + f"; {len(connections)} connections ({len(resumed)} with Last-Event-ID); "
        f"{len(run.before) + len(run.after)} observations"
    )
    report(f"screenshot: {shot}")
    report(f"browser: {browser.user_agent()}")
    assert console_errors(browser) == []


@pytest.mark.parametrize(
    "fault",
    [Fault("drop", on="resume"), Fault("repeat", on="reload")],
    ids=str,
)
def test_a_chunk_dropped_or_repeated_after_the_reconnect_is_caught(
    stack: LocalStack, browser: BrowserPage, live_faults: SseFaults, fault: Fault
) -> None:
    run = run_reply(stack, browser, live_faults, fault)
    applied_here = [a for a in live_faults.applied if a.connection.thread_id == run.thread_id]
    assert len(applied_here) == 1, f"the fault {fault} was applied {len(applied_here)} times"
    [applied] = applied_here
    assert (applied.connection.last_event_id is not None) == (fault.on == "resume")

    found = problems(run)
    assert found, "the seeded fault went unnoticed"
    # And what the page shows is exactly the reply with that one event lost or doubled.
    delta = applied.chunk["delta"]
    kind = "text" if applied.chunk["type"] == "text-delta" else "reasoning"
    faulty = copy.deepcopy(run.expected)
    [hit] = [p for p in faulty if p["type"] == kind and delta in p["text"]]
    hit["text"] = hit["text"].replace(delta, "" if fault.action == "drop" else delta * 2, 1)
    assert run.page_parts == faulty
    report(
        f"seeded fault {fault}: {applied.chunk['type']} {delta[:40]!r} at event {applied.event_id};"
        f" caught: {found[0]} (+{len(found) - 1} more); scenario {run.timings['scenario_s']:.2f} s"
    )


def test_stop_button_aborts_the_stream_on_the_server_and_the_writer_stops(
    stack: LocalStack, browser: BrowserPage, live_faults: SseFaults
) -> None:
    # A reply that would take about 40 s: stopped after a few observations.
    parts = reply_parts(reasoning=20, text=1600, tool_input=10, text_after=10)
    thread_id = create_thread(stack.url, "browser stop")
    t0 = time.monotonic()
    writer = Writer(stack.url, thread_id, parts, PACE_S).start()
    assert writer.first_delta.wait(10)
    browser.open(thread_id, stack.url)
    seen = [observe(browser, t0)]
    while len({o.length for o in seen}) < 4:
        assert time.monotonic() - t0 < 20, "the reply did not grow"
        time.sleep(OBSERVE_EVERY_S)
        seen.append(observe(browser, t0))
    given_at_stop = writer.given
    stop_pressed = time.monotonic()
    assert browser.press_stop() == '{"aborted":true}'
    stop_answered = time.monotonic() - stop_pressed
    writer.join(10)
    writer_stopped = writer.ended_at - stop_pressed
    assert writer.stream_id is not None
    assert stream_status(stack.url, writer.stream_id) == "aborted"
    # The writer noticed on its next write: add_delta answered False, and it stopped.
    assert writer.accepted[-1] is False, writer.accepted
    assert writer.accepted.count(False) == 1, writer.accepted
    assert writer.async_abort == "async abort"
    assert writer.aborted
    assert not writer.finished
    assert writer.given < len(parts) - 100, (writer.given, len(parts))
    # The page ends the reply with what the server kept: the abort, not a disconnect.
    browser.wait_for_finish(timeout_s=10)
    final = browser.read()
    assert final["status"] == "ready"
    assert final["error"] == ""
    [shown] = final["messages"]
    page_parts = [
        {"type": p["type"], "state": p["state"] or "", "text": p["text"]} for p in shown["parts"]
    ]
    assert page_parts == rendered(stored_message(stack.url, thread_id))
    assert live_faults.of(thread_id)[-1].done
    report(
        f"stop: pressed after {stop_pressed - t0:.2f} s ({given_at_stop} of {len(parts)} parts given);"
        f" stopThread answered in {stop_answered:.2f} s; writer stopped {writer_stopped:.2f} s after"
        f" the press, {writer.given} parts given, {len(writer.accepted)} add_delta calls"
    )


def test_the_docs_react_example_is_the_one_the_browser_runs() -> None:
    doc = (PROJECT_ROOT / "docs" / "browser.md").read_text(encoding="utf-8")
    example = (TS_DIR / "browser-test" / "chat-example.tsx").read_text(encoding="utf-8")
    assert re.findall(r"```tsx\n(.*?)```", doc, re.DOTALL) == [example]


def test_the_docs_react_example_follows_a_reply_and_stops_it(
    stack: LocalStack, browser: BrowserPage
) -> None:
    parts = reply_parts(reasoning=5, text=1600, tool_input=3, text_after=5)
    thread_id = create_thread(stack.url, "browser docs example")
    writer = Writer(stack.url, thread_id, parts, PACE_S).start()
    assert writer.first_delta.wait(10)
    browser.open(thread_id, stack.url, view="doc")

    def shown() -> list[str]:
        return list(browser.step("texts", selector="#root p")["texts"])

    lengths = {len("".join(shown()))}
    deadline = time.monotonic() + 20
    while len(lengths) < 4:
        assert time.monotonic() < deadline, f"the example did not show the reply growing: {lengths}"
        time.sleep(OBSERVE_EVERY_S)
        lengths.add(len("".join(shown())))
    browser.step("click", selector="#root button")
    writer.join(10)
    assert writer.stream_id is not None
    assert writer.async_abort == "async abort"
    assert stream_status(stack.url, writer.stream_id) == "aborted"
    expected = [
        p["text"] for p in rendered(stored_message(stack.url, thread_id)) if p["type"] == "text"
    ]
    deadline = time.monotonic() + 10
    while shown() != expected:
        assert time.monotonic() < deadline, (shown(), expected)
        time.sleep(OBSERVE_EVERY_S)

"""Properties: however the parts are batched, compressed, re-sent or reordered, the
messages are the same; and following a stream live always equals deriving it whole."""

from __future__ import annotations

import copy
import json
import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent_streams_protocol.materialize import (
    StreamMaterializer,
    derive_ui_messages,
    from_ui_messages,
    merge_thread_ui_messages,
)
from agent_streams_protocol.materialize.parts import DeltaCursor, get_parts

from . import stream_gen

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FORMATS = ["UIMessageChunk", "TextStreamPart", None]


def _stream(fmt: str | None, status: str = "streaming", stream_id: str = "s1") -> dict[str, Any]:
    stream: dict[str, Any] = {
        "streamId": stream_id,
        "status": status,
        "order": 2,
        "stepOrder": 1,
        "agentName": "agent",
    }
    if fmt is not None:
        stream["format"] = fmt
    return stream


def _parts(rng: random.Random, fmt: str | None) -> tuple[list[dict[str, Any]], str]:
    if fmt == "UIMessageChunk":
        return stream_gen.ui_message_chunks(rng), "delta"
    return stream_gen.text_stream_parts(rng), "text"


def _without_delta_metadata(parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # The writer's compression keeps only the first merged delta's provider
    # metadata, so compression is only transparent for deltas without it.
    return [
        {k: v for k, v in p.items() if k != "providerMetadata"}
        if p["type"] in ("text-delta", "reasoning-delta")
        else p
        for p in parts
    ]


def _whole(stream_id: str, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"streamId": stream_id, "start": 0, "end": len(parts), "parts": parts}] if parts else []


@SETTINGS
@given(
    rng=st.randoms(use_true_random=False),
    fmt=st.sampled_from(FORMATS),
    status=st.sampled_from(["streaming", "finished", "aborted"]),
    compressed=st.booleans(),
    disordered=st.booleans(),
    max_batch=st.integers(1, 12),
)
def test_batching_compression_and_order_do_not_change_the_messages(
    rng: random.Random,
    fmt: str | None,
    status: str,
    compressed: bool,
    disordered: bool,
    max_batch: int,
) -> None:
    parts, delta_key = _parts(rng, fmt)
    parts = _without_delta_metadata(parts)
    stream = _stream(fmt, status)
    expected = derive_ui_messages("th", [stream], _whole("s1", parts))
    deltas = stream_gen.batch(
        rng, "s1", parts, delta_key=delta_key, compressed=compressed, max_batch=max_batch
    )
    if disordered:
        deltas = stream_gen.disorder(rng, deltas)
    before = copy.deepcopy(deltas)
    assert derive_ui_messages("th", [stream], deltas) == expected
    assert deltas == before, "the input deltas must not be modified"


@st.composite
def _arrivals(draw: st.DrawFn) -> tuple[dict[str, Any], list[list[dict[str, Any]]]]:
    """A stream and its deltas arriving in groups: out of order, re-sent, with gaps."""
    rng = draw(st.randoms(use_true_random=False))
    fmt = draw(st.sampled_from(FORMATS))
    parts, delta_key = _parts(rng, fmt)
    deltas = stream_gen.batch(
        rng,
        "s1",
        parts,
        delta_key=delta_key,
        compressed=draw(st.booleans()),
        max_batch=draw(st.integers(1, 8)),
    )
    order = draw(st.permutations(range(len(deltas)))) if draw(st.booleans()) else range(len(deltas))
    arrivals: list[dict[str, Any]] = []
    for i in order:
        arrivals.append(deltas[i])
        if draw(st.integers(0, 4)) == 0:  # a re-send, of this or an earlier delta
            arrivals.append(
                json.loads(json.dumps(arrivals[draw(st.integers(0, len(arrivals) - 1))]))
            )
    if arrivals and draw(st.integers(0, 5)) == 0:  # a delta that never comes
        del arrivals[draw(st.integers(0, len(arrivals) - 1))]
    groups: list[list[dict[str, Any]]] = []
    i = 0
    while i < len(arrivals):
        n = draw(st.integers(1, 4))
        groups.append(arrivals[i : i + n])
        i += n
    return _stream(fmt, draw(st.sampled_from(["streaming", "finished", "aborted"]))), groups


@SETTINGS
@given(_arrivals())
def test_following_live_equals_deriving_from_everything_so_far(
    arrival: tuple[dict[str, Any], list[list[dict[str, Any]]]],
) -> None:
    stream, groups = arrival
    follower = StreamMaterializer("th", stream)
    assert follower.ui_messages() == derive_ui_messages("th", [stream], [])
    seen: list[dict[str, Any]] = []
    previous = follower.ui_messages()
    for group in groups:
        changed = follower.apply(group)
        seen.extend(group)
        now = follower.ui_messages()
        assert now == derive_ui_messages("th", [stream], seen)
        assert changed == (now != previous)
        previous = now
        # The cursor is where get_parts stops.
        assert follower.cursor == get_parts(seen)[1]


@SETTINGS
@given(_arrivals(), st.sampled_from(["streaming", "finished", "aborted"]))
def test_a_status_change_is_seen_like_a_fresh_derivation(
    arrival: tuple[dict[str, Any], list[list[dict[str, Any]]]], new_status: str
) -> None:
    stream, groups = arrival
    follower = StreamMaterializer("th", stream)
    everything = [d for g in groups for d in g]
    follower.apply(everything)
    before = follower.ui_messages()
    updated = {**stream, "status": new_status}
    changed = follower.set_stream(updated)
    after = follower.ui_messages()
    assert after == derive_ui_messages("th", [updated], everything)
    assert changed == (after != before)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False))
def test_per_stream_followers_merge_into_the_thread_derivation(rng: random.Random) -> None:
    case = stream_gen.random_case(rng, "p")
    followers = [StreamMaterializer(case["threadId"], s) for s in case["streamMessages"]]
    deltas = list(case["deltas"])
    rng.shuffle(deltas)
    for delta in deltas:
        for follower in followers:
            follower.apply([delta])
    merged = merge_thread_ui_messages(f.ui_messages() for f in followers)
    assert merged == derive_ui_messages(case["threadId"], case["streamMessages"], deltas)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rng=st.randoms(use_true_random=False))
def test_conversion_never_modifies_its_input(rng: random.Random) -> None:
    case = stream_gen.random_case(rng, "c")
    messages = derive_ui_messages(case["threadId"], case["streamMessages"], case["deltas"])
    before = copy.deepcopy(messages)
    for message in messages:
        from_ui_messages([message], {"threadId": case["threadId"]})
    assert messages == before


@SETTINGS
@given(
    starts=st.lists(
        st.tuples(st.integers(0, 12), st.integers(1, 4), st.integers(0, 2)), max_size=25
    ),
    groups=st.integers(1, 6),
)
def test_delta_cursor_equals_get_parts(starts: list[tuple[int, int, int]], groups: int) -> None:
    """Any deltas at all (overlapping, empty, duplicated): the incremental cursor
    yields exactly what getParts yields over everything seen so far."""
    deltas = [
        {"start": s, "end": s + n, "parts": [f"{s}:{i}" for i in range(min(n, k + 1))] if k else []}
        for s, n, k in starts
    ]
    cursor = DeltaCursor()
    got: list[Any] = []
    size = max(1, len(deltas) // groups)
    for i in range(0, len(deltas), size):
        for batch in cursor.accept(deltas[i : i + size]):
            got.extend(batch)
        assert (got, cursor.cursor) == get_parts(deltas[: i + size])


def test_a_returned_snapshot_is_not_changed_by_later_deltas() -> None:
    stream = _stream("UIMessageChunk")
    follower = StreamMaterializer("th", stream)
    follower.apply(
        [
            {
                "streamId": "s1",
                "start": 0,
                "end": 2,
                "parts": [
                    {"type": "text-start", "id": "t"},
                    {"type": "text-delta", "id": "t", "delta": "a"},
                ],
            }
        ]
    )
    first = follower.ui_messages()
    snapshot = copy.deepcopy(first)
    follower.apply(
        [
            {
                "streamId": "s1",
                "start": 2,
                "end": 4,
                "parts": [
                    {"type": "text-delta", "id": "t", "delta": "b"},
                    {"type": "text-end", "id": "t"},
                ],
            }
        ]
    )
    assert first == snapshot
    assert follower.ui_messages()[0]["text"] == "ab"
    assert (
        follower.apply([{"streamId": "other", "start": 4, "end": 5, "parts": [{"type": "abort"}]}])
        is False
    )


@SETTINGS
@given(
    rng=st.randoms(use_true_random=False),
    first=st.sampled_from([None, {}, {"a": 1}, {"a": {"b": 1}, "k": [1]}]),
    second=st.sampled_from([None, {"a": 2}, {"a": {"c": 3}}, {"z": True}]),
)
def test_a_stream_metadata_change_replays_the_message_metadata(
    rng: random.Random, first: dict[str, Any] | None, second: dict[str, Any] | None
) -> None:
    parts, _ = _parts(rng, "UIMessageChunk")
    stream = _stream("UIMessageChunk")
    if first is not None:
        stream["metadata"] = first
    deltas = _whole("s1", parts)
    follower = StreamMaterializer("th", stream)
    follower.apply(deltas)
    assert follower.ui_messages() == derive_ui_messages("th", [stream], deltas)
    updated = {k: v for k, v in stream.items() if k != "metadata"}
    if second is not None:
        updated["metadata"] = second
    follower.set_stream(updated)
    assert follower.ui_messages() == derive_ui_messages("th", [updated], deltas)

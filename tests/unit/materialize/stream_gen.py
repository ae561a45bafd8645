"""Random but realistic streams of parts, and the ways a writer batches them into deltas.

Used by the property tests and by ``tools/reference/fuzz_materialize.py`` (which
runs the reference on them). Everything is driven by a ``random.Random`` so a
seed reproduces a stream.
"""

from __future__ import annotations

import json
import random
from typing import Any

Part = dict[str, Any]

WORDS = [
    "the",
    "weather",
    "is",
    "sunny",
    "in",
    "Paris",
    "naïve",
    "café",
    "→",
    "😀",
    "日本",
    "\n",
    " ",
    "  ",
    "\t",
    '"quoted"',
    "back\\slash",
    "",
    "x" * 40,
    "über",
]
TOOLS = ["get_weather", "lookup_user", "search", "my-tool", "calc"]
PROVIDERS = [
    {"openai": {"itemId": "it_1"}},
    {"anthropic": {"signature": "sig"}},
    {"openai": {"x": 1}},
]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(WORDS) + rng.choice(["", " "]) for _ in range(rng.randint(0, 4)))


def json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randint(0, 9 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 42, 3.5, -0.25, 1e21, 1.5e-7, 123456789, 2.0])
    if kind <= 5:
        return _text(rng)
    if kind <= 7:
        return [json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {
        rng.choice(["city", "q", "n", "nested", "a b", "ü", "1", "list"]) + str(i): json_value(
            rng, depth + 1
        )
        for i in range(rng.randint(0, 3))
    }


def tool_input(rng: random.Random) -> dict[str, Any]:
    return {f"arg{i}": json_value(rng, 1) for i in range(rng.randint(0, 3))}


def split_text(rng: random.Random, text: str, max_pieces: int = 6) -> list[str]:
    if not text:
        return [""] if rng.random() < 0.5 else []
    cuts = sorted(rng.sample(range(1, len(text) + 1), min(len(text), rng.randint(1, max_pieces))))
    pieces, prev = [], 0
    for cut in cuts:
        pieces.append(text[prev:cut])
        prev = cut
    if prev < len(text):
        pieces.append(text[prev:])
    return pieces


def _maybe(rng: random.Random, p: float = 0.3) -> bool:
    return rng.random() < p


def ui_message_chunks(rng: random.Random) -> list[Part]:
    """A UIMessageChunk stream as AI SDK 5 ``toUIMessageStream`` writes it."""
    out: list[Part] = []
    start: Part = {"type": "start"}
    if _maybe(rng):
        start["messageMetadata"] = {"k": rng.randint(0, 3), "nested": {"a": rng.randint(0, 2)}}
    out.append(start)
    call_n = 0
    for step in range(rng.randint(1, 3)):
        out.append({"type": "start-step"})
        open_calls: list[tuple[str, str, bool, bool]] = []
        for _ in range(rng.randint(0, 5)):
            what = rng.randint(0, 11)
            if what <= 2:
                pid = f"text-{step}-{len(out)}"
                s: Part = {"type": "text-start", "id": pid}
                if _maybe(rng, 0.2):
                    s["providerMetadata"] = rng.choice(PROVIDERS)
                out.append(s)
                for piece in split_text(rng, _text(rng)):
                    out.append({"type": "text-delta", "id": pid, "delta": piece})
                if not _maybe(rng, 0.15):
                    e: Part = {"type": "text-end", "id": pid}
                    if _maybe(rng, 0.15):
                        e["providerMetadata"] = rng.choice(PROVIDERS)
                    out.append(e)
            elif what == 3:
                pid = f"reasoning-{step}-{len(out)}"
                s = {"type": "reasoning-start", "id": pid}
                if _maybe(rng, 0.3):
                    s["providerMetadata"] = rng.choice(PROVIDERS)
                out.append(s)
                for piece in split_text(rng, _text(rng)):
                    out.append({"type": "reasoning-delta", "id": pid, "delta": piece})
                if not _maybe(rng, 0.15):
                    out.append({"type": "reasoning-end", "id": pid})
            elif what <= 6:
                call_n += 1
                cid = f"call_{call_n}"
                name = rng.choice(TOOLS)
                dynamic = _maybe(rng, 0.3)
                executed = _maybe(rng, 0.2)
                args = tool_input(rng)
                streamed = _maybe(rng, 0.7)
                if streamed:
                    s = {"type": "tool-input-start", "toolCallId": cid, "toolName": name}
                    if dynamic:
                        s["dynamic"] = True
                    if executed:
                        s["providerExecuted"] = True
                    out.append(s)
                    text = json.dumps(
                        args, ensure_ascii=_maybe(rng, 0.5), indent=rng.choice([None, None, 1])
                    )
                    for piece in split_text(rng, text, 10):
                        out.append(
                            {"type": "tool-input-delta", "toolCallId": cid, "inputTextDelta": piece}
                        )
                if _maybe(rng, 0.1):
                    err: Part = {
                        "type": "tool-input-error",
                        "toolCallId": cid,
                        "toolName": name,
                        "input": args if not streamed else '{"bad',
                        "errorText": "Invalid input",
                    }
                    if dynamic:
                        err["dynamic"] = True
                    out.append(err)
                    continue
                if streamed and _maybe(rng, 0.15):
                    continue  # input never completed
                avail: Part = {
                    "type": "tool-input-available",
                    "toolCallId": cid,
                    "toolName": name,
                    "input": args,
                }
                if dynamic:
                    avail["dynamic"] = True
                if executed:
                    avail["providerExecuted"] = True
                if _maybe(rng, 0.3):
                    avail["providerMetadata"] = rng.choice(PROVIDERS)
                out.append(avail)
                open_calls.append((cid, name, dynamic, executed))
            elif what == 7 and open_calls:
                cid, name, dynamic, executed = open_calls.pop(rng.randrange(len(open_calls)))
                if _maybe(rng, 0.3):
                    prelim: Part = {
                        "type": "tool-output-available",
                        "toolCallId": cid,
                        "output": {"partial": _text(rng)},
                        "preliminary": True,
                    }
                    if dynamic:
                        prelim["dynamic"] = True
                    out.append(prelim)
                if _maybe(rng, 0.25):
                    oe: Part = {
                        "type": "tool-output-error",
                        "toolCallId": cid,
                        "errorText": _text(rng) or "boom",
                    }
                    if dynamic:
                        oe["dynamic"] = True
                    if executed:
                        oe["providerExecuted"] = True
                    out.append(oe)
                else:
                    oa: Part = {
                        "type": "tool-output-available",
                        "toolCallId": cid,
                        "output": json_value(rng, 1),
                    }
                    if dynamic:
                        oa["dynamic"] = True
                    if executed:
                        oa["providerExecuted"] = True
                    out.append(oa)
            elif what == 8:
                if _maybe(rng, 0.5):
                    src: Part = {
                        "type": "source-url",
                        "sourceId": f"src-{len(out)}",
                        "url": f"https://example.com/{len(out)}",
                    }
                    if _maybe(rng):
                        src["title"] = _text(rng)
                    if _maybe(rng):
                        src["providerMetadata"] = rng.choice(PROVIDERS)
                else:
                    src = {
                        "type": "source-document",
                        "sourceId": f"doc-{len(out)}",
                        "mediaType": "application/pdf",
                        "title": _text(rng) or "Doc",
                    }
                    if _maybe(rng):
                        src["filename"] = "a.pdf"
                out.append(src)
            elif what == 9:
                out.append(
                    {
                        "type": "file",
                        "mediaType": rng.choice(["image/png", "application/pdf"]),
                        "url": "https://example.com/f.png",
                    }
                )
            elif what == 10:
                d: Part = {
                    "type": rng.choice(["data-progress", "data-status"]),
                    "data": json_value(rng, 1),
                }
                if _maybe(rng, 0.7):
                    d["id"] = rng.choice(["p1", "p2"])
                if _maybe(rng, 0.25):
                    d["transient"] = rng.choice([True, False])
                out.append(d)
            else:
                out.append(
                    {
                        "type": "message-metadata",
                        "messageMetadata": {"step": step, "nested": {"b": rng.randint(0, 2)}},
                    }
                )
        if not _maybe(rng, 0.1):
            out.append({"type": "finish-step"})
    end = rng.randint(0, 9)
    if end <= 5:
        fin: Part = {"type": "finish"}
        if _maybe(rng, 0.5):
            fin["finishReason"] = "stop"
        if _maybe(rng):
            fin["messageMetadata"] = {"done": True}
        out.append(fin)
    elif end == 6:
        out.append({"type": "abort"})
    elif end == 7:
        out.append({"type": "error", "errorText": "model failed"})
    elif end == 8 and len(out) > 2:
        out = out[: rng.randint(1, len(out) - 1)]  # cut off mid-stream
    return out


def text_stream_parts(rng: random.Random) -> list[Part]:
    """A TextStreamPart stream as AI SDK 5 ``fullStream`` yields it."""
    out: list[Part] = [{"type": "start"}]
    call_n = 0
    for step in range(rng.randint(1, 3)):
        out.append({"type": "start-step", "request": {}, "warnings": []})
        calls: list[tuple[str, str, bool, Any]] = []
        for _ in range(rng.randint(0, 5)):
            what = rng.randint(0, 10)
            if what <= 2:
                pid = rng.choice([f"t{step}", f"t{len(out)}", "0"])
                s: Part = {"type": "text-start", "id": pid}
                if _maybe(rng, 0.2):
                    s["providerMetadata"] = rng.choice(PROVIDERS)
                out.append(s)
                for piece in split_text(rng, _text(rng)):
                    dp: Part = {"type": "text-delta", "id": pid, "text": piece}
                    if _maybe(rng, 0.1):
                        dp["providerMetadata"] = rng.choice(PROVIDERS)
                    out.append(dp)
                if not _maybe(rng, 0.2):
                    out.append({"type": "text-end", "id": pid})
            elif what == 3:
                pid = rng.choice([f"r{step}", f"r{len(out)}", "0"])
                s = {"type": "reasoning-start", "id": pid}
                if _maybe(rng, 0.3):
                    s["providerMetadata"] = rng.choice(PROVIDERS)
                out.append(s)
                for piece in split_text(rng, _text(rng)):
                    rp: Part = {"type": "reasoning-delta", "id": pid, "text": piece}
                    if _maybe(rng, 0.1):
                        rp["providerMetadata"] = rng.choice(PROVIDERS)
                    out.append(rp)
                if not _maybe(rng, 0.2):
                    out.append({"type": "reasoning-end", "id": rng.choice([pid, pid, "unknown"])})
            elif what <= 6:
                call_n += 1
                cid = f"call_{call_n}"
                name = rng.choice(TOOLS)
                dynamic = _maybe(rng, 0.3)
                executed = _maybe(rng, 0.2)
                args = tool_input(rng)
                if _maybe(rng, 0.7):
                    s = {"type": "tool-input-start", "id": cid, "toolName": name}
                    if dynamic:
                        s["dynamic"] = True
                    if executed:
                        s["providerExecuted"] = True
                    out.append(s)
                    for piece in split_text(rng, json.dumps(args), 8):
                        out.append({"type": "tool-input-delta", "id": cid, "delta": piece})
                    end: Part = {"type": "tool-input-end", "id": cid}
                    if _maybe(rng, 0.3):
                        end["providerMetadata"] = rng.choice(PROVIDERS)
                    if _maybe(rng, 0.9):
                        out.append(end)
                    if _maybe(rng, 0.1):
                        continue
                call: Part = {
                    "type": "tool-call",
                    "toolCallId": cid,
                    "toolName": name,
                    "input": args,
                }
                if dynamic:
                    call["dynamic"] = True
                if executed:
                    call["providerExecuted"] = True
                if _maybe(rng, 0.3):
                    call["providerMetadata"] = rng.choice(PROVIDERS)
                out.append(call)
                calls.append((cid, name, dynamic, args))
            elif what == 7 and calls:
                cid, name, dynamic, args = calls.pop(rng.randrange(len(calls)))
                if _maybe(rng, 0.25):
                    te: Part = {
                        "type": "tool-error",
                        "toolCallId": cid,
                        "toolName": name,
                        "input": args,
                        "error": rng.choice(["boom", {"message": "bad", "code": 1}, None, 5]),
                    }
                    if dynamic:
                        te["dynamic"] = True
                    out.append(te)
                else:
                    if _maybe(rng, 0.3):
                        pr: Part = {
                            "type": "tool-result",
                            "toolCallId": cid,
                            "toolName": name,
                            "input": args,
                            "output": {"partial": True},
                            "preliminary": True,
                        }
                        if dynamic:
                            pr["dynamic"] = True
                        out.append(pr)
                    res: Part = {
                        "type": "tool-result",
                        "toolCallId": cid,
                        "toolName": name,
                        "input": args,
                        "output": json_value(rng, 1),
                    }
                    if dynamic:
                        res["dynamic"] = True
                    out.append(res)
            elif what == 8:
                if _maybe(rng, 0.5):
                    src: Part = {
                        "type": "source",
                        "sourceType": "url",
                        "id": f"s{len(out)}",
                        "url": "https://example.com",
                    }
                    if _maybe(rng):
                        src["title"] = _text(rng)
                    if _maybe(rng):
                        src["providerMetadata"] = rng.choice(PROVIDERS)
                else:
                    src = {
                        "type": "source",
                        "sourceType": "document",
                        "id": f"d{len(out)}",
                        "mediaType": "text/plain",
                        "title": "T",
                    }
                    if _maybe(rng):
                        src["filename"] = "f.txt"
                out.append(src)
            elif what == 9:
                out.append({"type": "raw", "rawValue": {"x": 1}})
            else:
                out.append({"type": "file", "file": {"mediaType": "image/png", "base64": "AAAA"}})
        out.append({"type": "finish-step", "response": {}, "usage": {}, "finishReason": "stop"})
    ending = rng.randint(0, 8)
    if ending <= 4:
        out.append({"type": "finish", "finishReason": "stop", "totalUsage": {}})
    elif ending == 5:
        out.append({"type": "abort"})
    elif ending == 6:
        out.append({"type": "error", "error": rng.choice(["bad", {"message": "x"}])})
    elif ending == 7 and len(out) > 2:
        out = out[: rng.randint(1, len(out) - 1)]
    return out


def compress(parts: list[Part], delta_key: str) -> list[Part]:
    """The reference writer's compressUIMessageChunks / compressTextStreamParts
    (text and reasoning deltas of one id merged), without mutating ``parts``."""
    out: list[Part] = []
    for part in parts:
        last = out[-1] if out else None
        if (
            part["type"] in ("text-delta", "reasoning-delta")
            and last is not None
            and last["type"] == part["type"]
            and last.get("id") == part.get("id")
        ):
            out[-1] = {**last, delta_key: last[delta_key] + part[delta_key]}
        else:
            out.append(part)
    return out


def batch(
    rng: random.Random,
    stream_id: str,
    parts: list[Part],
    *,
    delta_key: str,
    compressed: bool,
    max_batch: int = 6,
) -> list[dict[str, Any]]:
    """Deltas as a throttled writer makes them: consecutive batches, numbered by part."""
    deltas = []
    i = 0
    while i < len(parts):
        n = rng.randint(1, max_batch)
        chunk = parts[i : i + n]
        deltas.append(
            {
                "streamId": stream_id,
                "start": i,
                "end": i + len(chunk),
                "parts": compress(chunk, delta_key) if compressed else list(chunk),
            }
        )
        i += len(chunk)
    return deltas


def disorder(
    rng: random.Random, deltas: list[dict[str, Any]], *, gap: bool = False
) -> list[dict[str, Any]]:
    """Shuffle, re-send some deltas, and optionally lose one (a gap)."""
    out = list(deltas)
    if gap and len(out) > 1:
        del out[rng.randrange(1, len(out))]
    for _ in range(rng.randint(0, 2)):
        if out:
            out.append(json.loads(json.dumps(rng.choice(out))))
    rng.shuffle(out)
    return out


def random_case(rng: random.Random, case_id: str) -> dict[str, Any]:
    """A conformance-style input: a thread with 1 to 3 streams and their deltas."""
    thread_id = f"thread_{case_id}"
    streams = []
    deltas: list[dict[str, Any]] = []
    for s in range(rng.choice([1, 1, 1, 2, 3])):
        fmt = rng.choice(["UIMessageChunk", "UIMessageChunk", "TextStreamPart", None])
        stream: dict[str, Any] = {
            "streamId": f"stream_{case_id}_{s}",
            "status": rng.choice(["streaming", "finished", "aborted"]),
            "order": rng.randint(0, 4),
            "stepOrder": rng.randint(0, 3),
        }
        if fmt:
            stream["format"] = fmt
        for key, values in (
            ("agentName", ["assistant"]),
            ("userId", ["user_1"]),
            ("model", ["gpt-test"]),
            ("provider", ["openai"]),
            ("providerOptions", [{"openai": {"store": True}}]),
        ):
            if _maybe(rng, 0.4):
                stream[key] = rng.choice(values)
        streams.append(stream)
        if fmt == "UIMessageChunk":
            parts, key = ui_message_chunks(rng), "delta"
        else:
            parts, key = text_stream_parts(rng), "text"
        ds = batch(rng, stream["streamId"], parts, delta_key=key, compressed=_maybe(rng, 0.5))
        if _maybe(rng, 0.4):
            ds = disorder(rng, ds, gap=_maybe(rng, 0.2))
        deltas.extend(ds)
    if _maybe(rng, 0.3):
        rng.shuffle(deltas)
    return {"id": case_id, "threadId": thread_id, "streamMessages": streams, "deltas": deltas}

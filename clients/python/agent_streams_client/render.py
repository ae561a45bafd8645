"""Rendering a thread's UI messages as terminal text, and updating it live.

Text is shown as it is; everything else compactly, one line each: reasoning,
tool calls with their input and output, sources, files, data parts. On a TTY the
renderer rewrites only what changed (usually it just appends the new text);
otherwise it writes plain lines and only appends.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from typing import Any, TextIO

from agent_streams_client.types import UIMessage

_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_RED = "\x1b[31m"
_RESET = "\x1b[0m"


def _compact(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Style:
    def __init__(self, color: bool) -> None:
        self.color = color

    def dim(self, text: str) -> str:
        return f"{_DIM}{text}{_RESET}" if self.color else text

    def bold(self, text: str) -> str:
        return f"{_BOLD}{text}{_RESET}" if self.color else text

    def red(self, text: str) -> str:
        return f"{_RED}{text}{_RESET}" if self.color else text


def render_part(part: dict[str, Any], style: Style) -> list[str]:
    kind = str(part.get("type", ""))
    if kind == "text":
        return str(part.get("text", "")).split("\n")
    if kind == "reasoning":
        return [style.dim(f"[reasoning] {_compact(part.get('text', ''), 100)}")]
    if kind.startswith("tool-") or kind == "dynamic-tool":
        name = part.get("toolName") or kind.removeprefix("tool-")
        line = f"[tool] {name}({_compact(part.get('input', ''), 60)})"
        state = part.get("state")
        if state == "output-available":
            line += f" → {_compact(part.get('output'), 60)}"
        elif state == "output-error":
            return [style.red(f"{line} ✗ {_compact(part.get('errorText', ''), 60)}")]
        elif state in ("input-streaming", "input-available"):
            line += " …"
        return [style.dim(line)]
    if kind == "source-url":
        title = part.get("title")
        url = part.get("url", "")
        return [style.dim(f"[source] {title} <{url}>" if title else f"[source] <{url}>")]
    if kind == "source-document":
        return [style.dim(f"[document] {part.get('title', '')}")]
    if kind == "file":
        return [style.dim(f"[file {part.get('mediaType', '')}]")]
    if kind.startswith("data-"):
        return [style.dim(f"[{kind}] {_compact(part.get('data'), 60)}")]
    return []  # step-start and anything unknown: nothing to show


def render_messages(messages: Sequence[UIMessage], style: Style) -> list[str]:
    lines: list[str] = []
    for index, message in enumerate(messages):
        if index:
            lines.append("")  # a blank line between messages, none after the last
        header = f"── {message.get('role', 'assistant')}"
        status = message.get("status")
        if status and status not in ("success", "finished"):
            header += f" ({status})"
        lines.append(style.bold(header))
        text_parts = [p for p in message.get("parts", []) if isinstance(p, dict)]
        for part in text_parts:
            lines.extend(render_part(part, style))
        if not text_parts and message.get("text"):
            lines.extend(str(message["text"]).split("\n"))
    return lines


class LiveRenderer:
    """Writes successive renderings to ``out``, redrawing only what changed."""

    def __init__(self, out: TextIO, *, tty: bool) -> None:
        self.out = out
        self.tty = tty
        self.style = Style(color=tty)
        self._lines: list[str] = []

    def update(self, messages: Sequence[UIMessage]) -> None:
        lines = render_messages(messages, self.style)
        old = self._lines
        common = 0
        while common < min(len(old), len(lines)) and old[common] == lines[common]:
            common += 1
        if common == len(old):
            self._write_lines(lines[common:], continue_last=False)
        elif common == len(old) - 1 and lines[common].startswith(old[common]):
            # The usual case: the last line grew (text streaming in). Append to it.
            self.out.write(lines[common][len(old[common]) :])
            if len(lines) > common + 1:
                self.out.write("\n")
                self._write_lines(lines[common + 1 :], continue_last=True)
        elif self.tty:
            # Move up to the first changed line, clear below, redraw from there.
            rows = sum(self._rows(line) for line in old[common:]) - 1
            self.out.write("\r")
            if rows > 0:
                self.out.write(f"\x1b[{rows}A")
            self.out.write("\x1b[J")
            self._write_lines(lines[common:], continue_last=True)
        else:
            # A pipe cannot be rewritten: write the changed lines again.
            self.out.write("\n")
            self._write_lines(lines[common:], continue_last=True)
        self.out.flush()
        self._lines = lines

    def _write_lines(self, lines: Sequence[str], *, continue_last: bool) -> None:
        if not lines:
            return
        if self._lines and not continue_last:
            self.out.write("\n")
        self.out.write("\n".join(lines))

    def _rows(self, line: str) -> int:
        width = max(1, shutil.get_terminal_size((80, 24)).columns)
        visible = len(
            line.replace(_DIM, "").replace(_BOLD, "").replace(_RED, "").replace(_RESET, "")
        )
        return max(1, -(-visible // width))

    def close(self) -> None:
        if self._lines:
            self.out.write("\n")
            self.out.flush()

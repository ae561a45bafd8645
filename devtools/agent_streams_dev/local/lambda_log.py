"""The log an ``Invoke`` with ``LogType: Tail`` returns (``X-Amz-Log-Result``).

Lambda gives back the last 4 KB, base64, of the invocation's log: the platform's
``START``/``END``/``REPORT`` lines around what the function wrote, and, for an
unhandled exception, the runtime's ``[ERROR]`` block. Here what the function wrote
is the records of the functions' Powertools logger emitted in the invocation's own
context (a context variable set on the invocation's thread, so concurrent invocations
never mix), formatted by that logger's own handler: the JSON lines Lambda's log would
hold.
"""

from __future__ import annotations

import base64
import contextvars
import logging
import math
from collections.abc import Mapping
from typing import Any

LATEST = "$LATEST"
LOG_TAIL_BYTES = 4 * 1024

_lines: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "lambda_log_lines", default=None
)


class TailHandler(logging.Handler):
    """Copies a logger's records into the invocation being captured, if any. It belongs on
    the functions' logger only: a handler on the root logger would silence
    ``logging.lastResort`` (the stack's own warnings on stderr) for the whole process."""

    def __init__(self, logger: logging.Logger) -> None:
        super().__init__(logging.NOTSET)
        self._logger = logger

    def emit(self, record: logging.LogRecord) -> None:
        lines = _lines.get()
        if lines is None:
            return
        formatter = next(
            (h.formatter for h in self._logger.handlers if h is not self and h.formatter), None
        )
        text = formatter.format(record) if formatter is not None else record.getMessage()
        lines.append(text + "\n")


def capture(lines: list[str] | None) -> None:
    """From now on in this context, the functions' records go to ``lines`` (None: nowhere).
    ``invocations.start`` calls it inside the invocation's own context."""
    _lines.set(lines)


def error_block(payload: Mapping[str, Any]) -> str:
    """The runtime's ``[ERROR]`` block for an unhandled exception (indents as U+00A0)."""
    lines = [f"[ERROR] {payload.get('errorType')}: {payload.get('errorMessage')}"]
    lines.append("Traceback (most recent call last):")
    for element in payload.get("stackTrace") or []:
        for line in str(element).splitlines():
            stripped = line.lstrip(" ")
            lines.append("\u00a0" * (len(line) - len(stripped)) + stripped)
    return "\n".join(lines) + "\n"


def invocation_log(
    request_id: str,
    lines: list[str],
    error: Mapping[str, Any] | None,
    elapsed_ms: float,
    memory_mb: int,
) -> str:
    """``X-Amz-Log-Result`` of one invocation."""
    text = "".join(
        [
            f"START RequestId: {request_id} Version: {LATEST}\n",
            *lines,
            # The runtime's own errors; a platform one (Function.*) has no trace.
            error_block(error) if error is not None and "stackTrace" in error else "",
            f"END RequestId: {request_id}\n",
            f"REPORT RequestId: {request_id}\tDuration: {elapsed_ms:.2f} ms\t"
            f"Billed Duration: {math.ceil(elapsed_ms)} ms\tMemory Size: {memory_mb} MB\t\n",
        ]
    )
    return log_tail(text)


def log_tail(text: str) -> str:
    """The last 4 KB of a log, base64, starting on a whole UTF-8 character."""
    data = text.encode("utf-8")[-LOG_TAIL_BYTES:]
    while data and data[0] & 0xC0 == 0x80:
        data = data[1:]
    return base64.b64encode(data).decode("ascii")

"""In-process transport: the operations as a Python callable.

For tests and the local stack: the server side provides ``invoke(operation,
args)``, which dispatches direct-invoke events to the real Lambda handlers. The
callable is synchronous (handlers are), so it runs in a worker thread and never
blocks the event loop; an ``async`` callable is awaited directly.

Arguments and results go through a JSON round trip by default, so the in-process
path behaves like the wire: no shared mutable dicts between client and server,
and a non-JSON value fails here rather than only in production.
"""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Callable
from typing import Any


def _round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


class InProcessTransport:
    """Calls ``invoke(operation, args)``; its exceptions pass through unchanged."""

    def __init__(
        self,
        invoke: Callable[[str, dict[str, Any]], Any],
        *,
        in_thread: bool = True,
        json_round_trip: bool = True,
    ) -> None:
        self._invoke = invoke
        self._in_thread = in_thread
        self._json = json_round_trip

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        payload = _round_trip(args) if self._json else args
        if inspect.iscoroutinefunction(self._invoke):
            result = await self._invoke(operation, payload)
        elif self._in_thread:
            result = await asyncio.to_thread(self._invoke, operation, payload)
        else:
            result = self._invoke(operation, payload)
            if inspect.isawaitable(result):
                result = await result
        return _round_trip(result) if self._json else result

    async def close(self) -> None:
        return None

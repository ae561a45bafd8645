"""The real transport with a flaky wire: what the client's tests inject, and nothing more.

It wraps a transport to the real handlers and keeps no state of the service: it
records the calls that reach it, may hold one in flight (``hook``), and fails a
call before the server sees it (``after=False``: nothing was processed) or after
the server processed it (``after=True``: the reply was lost). Whether a retry
is then accepted, refused or a no-op is for the real handlers to say.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from agent_streams_client.errors import TransientError
from agent_streams_client.transport import Transport

Hook = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclass
class Injection:
    operation: str
    error: Exception
    #: True: the call reaches the server and takes effect, then the error is raised.
    after: bool
    times: int


@dataclass
class FlakyTransport:
    inner: Transport
    #: Every call that got past ``hook``, with a copy of its arguments.
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    injections: list[Injection] = field(default_factory=list)
    #: Awaited before each call is recorded (a test holds a call in flight with it).
    hook: Hook | None = None
    #: operation -> (period, after): every period-th call of it fails transiently.
    flaky_ops: dict[str, tuple[int, bool]] = field(default_factory=dict)

    # -- what a test asks for -----------------------------------------------------

    def inject(
        self, operation: str, error: Exception, *, after: bool = False, times: int = 1
    ) -> None:
        self.injections.append(Injection(operation, error, after, times))

    def transient(self, operation: str, *, after: bool = False, times: int = 1) -> None:
        self.inject(
            operation,
            TransientError("injected", maybe_processed=after, operation=operation),
            after=after,
            times=times,
        )

    def flaky(self, operation: str, *, every: int, after: bool = False) -> None:
        self.flaky_ops[operation] = (every, after)

    # -- what a test reads ----------------------------------------------------------

    def ops(self) -> list[str]:
        return [op for op, _ in self.calls]

    def args_of(self, operation: str) -> list[dict[str, Any]]:
        return [args for op, args in self.calls if op == operation]

    def count(self, operation: str) -> int:
        return sum(1 for op, _ in self.calls if op == operation)

    # -- the transport ----------------------------------------------------------------

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        if self.hook is not None:
            await self.hook(operation, args)
        self.calls.append((operation, copy.deepcopy(args)))
        injection = self._take(operation)
        if injection is not None and not injection.after:
            raise injection.error
        result = await self.inner.call(operation, args)
        if injection is not None:
            raise injection.error
        return result

    def _take(self, operation: str) -> Injection | None:
        for injection in self.injections:
            if injection.operation == operation and injection.times > 0:
                injection.times -= 1
                return injection
        if operation in self.flaky_ops:
            every, after = self.flaky_ops[operation]
            if self.count(operation) % every == 0:
                error = TransientError("flaky", maybe_processed=after, operation=operation)
                return Injection(operation, error, after, 1)
        return None

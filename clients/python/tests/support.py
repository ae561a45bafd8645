"""What the client's tests share besides fixtures."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
    """Run one async test body, bounded so that nothing hangs the suite."""
    return asyncio.run(asyncio.wait_for(coro, timeout))

"""The cyclic garbage collector around a process's first invocation, in Lambda only.

A cold start builds a heap that lives as long as the process (pydantic's schemas,
the modules, botocore's models and endpoint data), and the collector walks it
again and again while it grows. Two things stop that:

- at the start of the first invocation, :func:`suspend` freezes what the import
  built (``gc.freeze``: moved to the permanent generation, as pre-forking servers
  do) and suspends collection while the invocation loads the AWS SDK (botocore's
  import, its 1.2 MB of endpoint data, a client): hundreds of thousands of objects
  that are all kept, which collections would only walk. Together that was a
  quarter of the first invocation;
- :func:`resume`, once the first AWS call has completed (a botocore ``after-call``
  handler on the process's session, see ``aws.session``) or at the latest when the
  first invocation ends, collects again and freezes what the SDK loaded.

Reference counting frees everything acyclic meanwhile; only cycles wait, for
milliseconds. Not in tests or the local stack (no ``LAMBDA_TASK_ROOT``), whose
heaps are not theirs to freeze.
"""

from __future__ import annotations

import gc
import os
from typing import Any

_suspended = False


def suspend() -> None:
    """Freeze the heap and stop collecting, until :func:`resume` (in Lambda only)."""
    global _suspended
    if os.environ.get("LAMBDA_TASK_ROOT") and gc.isenabled() and not _suspended:
        gc.freeze()
        gc.disable()
        _suspended = True


def resume(**_: Any) -> None:
    """Collect again, the heap so far frozen (a no-op unless :func:`suspend` stopped it).

    Takes keyword arguments so that it can be a botocore event handler.
    """
    global _suspended
    if _suspended:
        _suspended = False
        gc.enable()
        gc.freeze()

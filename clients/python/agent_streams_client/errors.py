"""Errors that only the client raises, next to the contract's (``agent_streams_protocol.errors``).

The contract's exceptions (``StreamNotFound``, ``DeltaConflict``…) are re-raised
by every transport as the same classes. What the contract cannot describe —
a throttled or unreachable endpoint, a reply that is not the contract's — gets
a class here, so callers can tell "retry later" from "this is a bug".
"""

from __future__ import annotations

from typing import Any

from agent_streams_protocol.errors import AgentStreamsError


class TransientError(AgentStreamsError):
    """A failure worth retrying: throttling, 5xx, timeouts, connection errors.

    ``maybe_processed`` says whether the server may have carried the request out
    anyway (a timeout after the request was sent). Operations whose effect is
    idempotent (every append, because appends are exactly-once; finish; abort;
    heartbeat; all reads) can be retried either way; ``create_stream`` and
    ``create_thread`` must not be retried when it is True, or they may run twice.

    ``retry_after`` is how long the server asked to wait first (seconds, from a
    ``Retry-After`` header or a ``ServiceUnavailable`` message), if it said.
    """

    status = 503

    def __init__(
        self,
        message: str,
        *,
        maybe_processed: bool,
        operation: str | None = None,
        cause: BaseException | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.maybe_processed = maybe_processed
        self.operation = operation
        self.cause = cause
        self.retry_after = retry_after

    def __str__(self) -> str:
        processed = "may have been processed" if self.maybe_processed else "was not processed"
        where = f"{self.operation}: " if self.operation else ""
        return f"{where}{self.message} (transient; the request {processed})"


class RemoteError(AgentStreamsError):
    """The server reported an error type that is not one of the contract's.

    For instance a Lambda runtime error (``Runtime.ImportModuleError``) or an
    exception class the client does not know. ``code`` is the remote type.
    """

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type

    @property
    def code(self) -> str:
        return self.error_type

    def __str__(self) -> str:
        return f"{self.error_type}: {self.message}"


class UnexpectedResponse(AgentStreamsError):
    """An HTTP reply that is neither a success nor one of the contract's error bodies.

    Typically an API Gateway reply (401/403 from an authorizer, 404 for a route
    that does not exist) or a proxy's HTML page.
    """

    def __init__(self, http_status: int, body: Any, *, operation: str | None = None) -> None:
        text = body if isinstance(body, str) else repr(body)
        super().__init__(f"{operation or 'request'}: unexpected HTTP {http_status}: {text[:500]}")
        self.http_status = http_status
        self.body = body
        self.operation = operation


class PartTooLarge(ValueError):
    """One part is larger than a delta may be; it cannot be sent, even alone.

    The limit is ``limits.MAX_DELTA_PARTS_BYTES`` (by default): the largest delta one
    list_deltas reply can always return. Content larger than that belongs elsewhere
    (an object store), with a reference to it in the part.
    """

    def __init__(self, size: int, limit: int, part_type: str) -> None:
        super().__init__(
            f"a {part_type!r} part is {size} bytes as compact JSON (in its delta), over "
            f"the {limit}-byte limit of one delta; it was not sent: store content that "
            "large elsewhere and send a reference to it"
        )
        self.size = size
        self.limit = limit
        self.part_type = part_type


class StreamerClosed(RuntimeError):
    """Parts were given to a DeltaStreamer after ``finish()``."""

"""The error model of the public contract.

Every failure an operation reports is one of these classes. The class name is
the error code: a direct Lambda invoke raises the exception itself (Lambda
reports the class name as ``errorType``, so Step Functions ``Retry``/``Catch``
and callers can match on it), and HTTP replies carry
``{"error": code, "message": text}`` with the class's status.
"""

from __future__ import annotations

from typing import Any, ClassVar


class AgentStreamsError(Exception):
    """Base of every error in the contract."""

    status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    @property
    def code(self) -> str:
        return type(self).__name__

    def to_body(self) -> dict[str, Any]:
        """The HTTP error body."""
        return {"error": self.code, "message": self.message}

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> AgentStreamsError:
        """Rebuild the error a reply body describes (the client's side of ``to_body``)."""
        err_cls = ERROR_CLASSES.get(str(body.get("error")), AgentStreamsError)
        err = err_cls.__new__(err_cls)
        AgentStreamsError.__init__(err, str(body.get("message", "")))
        if isinstance(err, DeltaConflict):
            err.expected_start = int(body.get("expectedStart", -1))
        if isinstance(err, ServiceUnavailable):
            # The HTTP reply carries it in its Retry-After header, which the caller reads.
            err.retry_after = ServiceUnavailable.DEFAULT_RETRY_AFTER
        return err


class ValidationError(AgentStreamsError):
    """The arguments do not fit the operation (422)."""

    status = 422


class ThreadNotFound(AgentStreamsError):
    status = 404

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id!r} does not exist")
        self.thread_id = thread_id


class StreamNotFound(AgentStreamsError):
    status = 404

    def __init__(self, stream_id: str) -> None:
        super().__init__(f"stream {stream_id!r} does not exist")
        self.stream_id = stream_id


class ThreadDeleting(AgentStreamsError):
    """The thread is being deleted; no new streams may be created in it (409)."""

    status = 409

    def __init__(self, thread_id: str) -> None:
        super().__init__(f"thread {thread_id!r} is being deleted")
        self.thread_id = thread_id


class DeltaConflict(AgentStreamsError):
    """A delta does not start where the stream's log ends (409)."""

    status = 409

    def __init__(self, stream_id: str, start: int, expected_start: int) -> None:
        super().__init__(
            f"delta for stream {stream_id!r} starts at {start}, "
            f"but the stream expects start {expected_start}"
        )
        self.stream_id = stream_id
        self.start = start
        self.expected_start = expected_start

    def to_body(self) -> dict[str, Any]:
        return {**super().to_body(), "expectedStart": self.expected_start}


class DeltaTooLarge(AgentStreamsError):
    """A delta (or the request carrying it) is larger than the service stores (413).

    ``message`` says which limit and what to do instead; by default, the item's.
    """

    status = 413

    def __init__(self, size: int, limit: int, message: str | None = None) -> None:
        super().__init__(
            message
            or (
                f"delta item would be {size} bytes, over the {limit}-byte limit; "
                "split the parts into smaller deltas"
            )
        )
        self.size = size
        self.limit = limit


class ReplyTooLarge(AgentStreamsError):
    """The reply would not fit the 6 MB a Lambda function may return (413).

    The message says how to read what was asked for in smaller replies instead.
    """

    status = 413


class Unauthorized(AgentStreamsError):
    """The request came through the JWT authorizer without a usable subject (401)."""

    status = 401


class Forbidden(AgentStreamsError):
    """The caller may not do this with what it asked for (403): a JWT caller naming
    another user as the owner of what it creates."""

    status = 403


class ServiceUnavailable(AgentStreamsError):
    """AWS kept throttling or failing after bounded retries (503); safe to retry.

    Nothing was written (or what was is exactly what a retry of the same request
    would write). ``retry_after`` is how many seconds to wait before trying again:
    the HTTP reply's ``Retry-After`` header, and the end of a direct invoke's message.
    """

    status = 503
    #: What callers are asked to wait when the failing side says nothing more precise.
    DEFAULT_RETRY_AFTER: ClassVar[int] = 1

    def __init__(self, message: str, *, retry_after: int = DEFAULT_RETRY_AFTER) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"{message}; retry after {self.retry_after} s")


class InternalError(AgentStreamsError):
    """An unexpected failure (500): AWS refused a request the service should not have
    made (a bug or a misconfigured deployment), or stored data breaks an invariant.
    Retrying the same request will not help.

    Its code is the one every unexpected failure already answers with (HTTP 500
    ``{"error": "InternalError"}``), so it is not one of the :data:`ERROR_CLASSES`
    a client rebuilds: to a caller it is an unexpected failure like any other."""

    status = 500


ERROR_CLASSES: dict[str, type[AgentStreamsError]] = {
    cls.__name__: cls
    for cls in (
        ValidationError,
        ThreadNotFound,
        StreamNotFound,
        ThreadDeleting,
        DeltaConflict,
        DeltaTooLarge,
        ReplyTooLarge,
        Unauthorized,
        Forbidden,
        ServiceUnavailable,
    )
}

"""The local stack's functions as an in-process transport's ``invoke`` callable.

``StreamsClient.in_process(invoke_local(stack))`` calls the stack's handlers
directly with direct-invoke events — no HTTP server, no botocore — and sees the
same values and errors as the Lambda transport would: a handler's exception
comes back as the contract's exception class (``ValidationError``,
``DeltaConflict``…), because a ``FunctionError`` payload is decoded by the very
function the Lambda transport uses. Tests that want the service's behaviour
without the wire use it; so can a script driving the embedded stack.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agent_streams_dev.local.functions import FunctionError

if TYPE_CHECKING:
    from agent_streams_dev.local.stack import LocalStack


def invoke_local(stack: LocalStack) -> Callable[[str, dict[str, Any]], Any]:
    """``invoke(operation, args)`` running ``stack``'s function for ``operation``.

    The stack must be started (its functions are loaded at start). An unknown
    operation is a ``ValueError`` — a bug in the caller, not a remote error.
    """
    # Imported here: the local stack itself never needs the client package.
    from agent_streams_client.lambda_transport import function_error

    functions = stack.functions
    if functions is None:
        raise RuntimeError("the local stack is not started: start() it before invoke_local()")
    by_operation = functions.by_operation

    def invoke(operation: str, args: dict[str, Any]) -> Any:
        function = by_operation.get(operation)
        if function is None:
            raise ValueError(f"the local stack has no function for operation {operation!r}")
        try:
            return function.invoke(args)
        except FunctionError as error:
            # The payload Lambda would return: {"errorType", "errorMessage", ...}.
            raise function_error(operation, error.payload) from error

    return invoke


__all__ = ["invoke_local"]

"""Direct Lambda invoke: the contract's operations as the stack's functions.

A pipeline running in AWS (another Lambda, a container, a Step Functions task)
skips API Gateway: it invokes ``{stack_name}-{operation}`` with the arguments
object as the payload, and the payload returned is the direct value. A function
error arrives as ``{"errorType", "errorMessage"}``, where ``errorType`` is the
contract's exception class name.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from agent_streams_client.errors import RemoteError, TransientError
from agent_streams_client.transport import json_body
from agent_streams_protocol.errors import (
    ERROR_CLASSES,
    AgentStreamsError,
    DeltaConflict,
    ServiceUnavailable,
)

if TYPE_CHECKING:
    from botocore.session import Session
    from mypy_boto3_lambda.client import LambdaClient

#: Lambda service errors worth retrying: throttling and the service's own trouble.
#: (Throttling happens before the function runs; the others may be after.)
_THROTTLED = frozenset({"TooManyRequestsException", "EC2ThrottledException", "ThrottlingException"})
_RETRYABLE_SERVICE = frozenset(
    {
        "ServiceException",
        "ResourceNotReadyException",
        "EC2UnexpectedException",
        "ENILimitReachedException",
        "SubnetIPAddressLimitReachedException",
        "ServiceUnavailableException",
    }
)
#: Function-error types from the runtime (not from our code) that mean "it died",
#: not "it refused": a timeout or a crash, possibly after writing.
_RUNTIME_CRASH = re.compile(r"^(Sandbox\.Timedout|Runtime\.(ExitError|OutOfMemory|Unknown))")
_EXPECTED_START = re.compile(r"expects start (\d+)")
_RETRY_AFTER = re.compile(r"retry after (\d+) s$")


class LambdaTransport:
    """Invokes ``f"{stack_name}-{operation}"`` synchronously (``RequestResponse``)."""

    def __init__(
        self,
        *,
        stack_name: str,
        region: str | None = None,
        endpoint_url: str | None = None,
        function_name: Callable[[str], str] | None = None,
        client: LambdaClient | None = None,
        botocore_session: Session | None = None,
        read_timeout: float = 65.0,
        max_connections: int = 10,
    ) -> None:
        if importlib.util.find_spec("botocore") is None:
            # Said now, not as a ModuleNotFoundError from a worker thread on the first call.
            raise ImportError(
                "direct Lambda invoke needs botocore: pip install 'agent-streams-client[aws]'"
            )
        self.stack_name = stack_name
        self._region = region
        self._endpoint_url = endpoint_url
        self._function_name = function_name or (lambda op: f"{stack_name}-{op}")
        self._client = client
        #: A client given by the caller is theirs: close() leaves it open.
        self._owns_client = client is None
        self._botocore_session = botocore_session
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._lock = threading.Lock()

    def function_name(self, operation: str) -> str:
        return self._function_name(operation)

    def _get_client(self) -> LambdaClient:
        # Created on first call (in a worker thread), never at import or construction.
        with self._lock:
            if self._client is None:
                import botocore.session
                from botocore.config import Config

                session = self._botocore_session or botocore.session.Session()
                client = session.create_client(
                    "lambda",
                    region_name=self._region,
                    endpoint_url=self._endpoint_url,
                    config=Config(
                        # One attempt: retrying is the caller's call (it knows what
                        # is idempotent), and TransientError tells it what happened.
                        retries={"max_attempts": 1, "mode": "standard"},
                        read_timeout=self._read_timeout,
                        max_pool_connections=self._max_connections,
                    ),
                )
                self._client = cast("LambdaClient", client)
            return self._client

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        return await asyncio.to_thread(self._invoke, operation, args)

    async def close(self) -> None:
        """Close the Lambda client this transport created (a given one stays open, and in use)."""
        if not self._owns_client:
            return
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def __aenter__(self) -> LambdaTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _invoke(self, operation: str, args: dict[str, Any]) -> Any:
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            ReadTimeoutError,
        )

        client = self._get_client()
        try:
            response = client.invoke(
                FunctionName=self.function_name(operation),
                InvocationType="RequestResponse",
                Payload=json_body(args),
            )
            payload_bytes = response["Payload"].read()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
            if code in _THROTTLED or status == 429:
                raise TransientError(
                    f"throttled: {exc}",
                    maybe_processed=False,
                    operation=operation,
                    cause=exc,
                    retry_after=_seconds(exc.response.get("retryAfterSeconds")),
                ) from exc
            if code in _RETRYABLE_SERVICE or status >= 500:
                raise TransientError(
                    f"Lambda service error: {exc}",
                    maybe_processed=True,
                    operation=operation,
                    cause=exc,
                ) from exc
            raise RemoteError(code or "ClientError", str(exc)) from exc
        except (EndpointConnectionError, ConnectTimeoutError) as exc:
            raise TransientError(
                f"cannot connect: {exc}", maybe_processed=False, operation=operation, cause=exc
            ) from exc
        except (ReadTimeoutError, ConnectionClosedError) as exc:
            raise TransientError(
                f"no reply: {exc}", maybe_processed=True, operation=operation, cause=exc
            ) from exc
        payload = json.loads(payload_bytes) if payload_bytes else None
        if response.get("FunctionError"):
            raise function_error(operation, payload)
        return payload


def function_error(operation: str, payload: Any) -> Exception:
    """The exception a ``FunctionError`` payload stands for."""
    if not isinstance(payload, dict):
        return RemoteError("FunctionError", str(payload))
    error_type = str(payload.get("errorType") or "FunctionError")
    message = str(payload.get("errorMessage") or "")
    if error_type == ServiceUnavailable.__name__:
        # "safe to retry": the contract's errors write nothing. Lambda carries only the
        # message; the server ends it with how long to wait.
        match = _RETRY_AFTER.search(message)
        return TransientError(
            message,
            maybe_processed=False,
            operation=operation,
            retry_after=float(match.group(1)) if match else None,
        )
    if error_type in ERROR_CLASSES:
        error = AgentStreamsError.from_body({"error": error_type, "message": message})
        if isinstance(error, DeltaConflict):
            # Lambda carries only the message; the expected start is in its text.
            match = _EXPECTED_START.search(message)
            error.expected_start = int(match.group(1)) if match else -1
        return error
    if _RUNTIME_CRASH.match(error_type) or "Task timed out" in message:
        return TransientError(f"{error_type}: {message}", maybe_processed=True, operation=operation)
    return RemoteError(error_type, message)


def _seconds(value: Any) -> float | None:
    """Lambda's ``retryAfterSeconds`` (a string of digits, when it says)."""
    text = str(value or "").strip()
    return float(text) if text.isdigit() else None

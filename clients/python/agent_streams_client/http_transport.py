"""HTTP transport: the contract's routes through API Gateway (or the local stack).

stdlib + urllib3 (a botocore dependency, so nothing new to install). urllib3 is
blocking, so each request runs in a worker thread (``asyncio.to_thread``); its
``PoolManager`` keeps connections alive between requests, which matters for a
writer sending a delta every 250 ms.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import re
import threading
import typing
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlencode, urlsplit

import urllib3

from agent_streams_client.errors import TransientError, UnexpectedResponse
from agent_streams_client.transport import json_body
from agent_streams_protocol.errors import (
    ERROR_CLASSES,
    AgentStreamsError,
    ServiceUnavailable,
    StreamNotFound,
    ValidationError,
)
from agent_streams_protocol.routes import ROUTES, Route

if TYPE_CHECKING:
    from botocore.credentials import Credentials
    from botocore.session import Session


@dataclass(frozen=True)
class BearerToken:
    """``Authorization: Bearer <token>``; ``token`` may be a callable, asked per request
    (so a caller can refresh an expiring JWT without rebuilding the transport)."""

    token: str | Callable[[], str]

    def value(self) -> str:
        return self.token() if callable(self.token) else self.token


Auth = None | Literal["none", "sigv4"] | BearerToken

_EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")
_FUNCTION_URL_HOST = re.compile(r"^[a-z0-9]+\.lambda-url\.([a-z0-9-]+)\.on\.aws$")

#: The key of an HTTP reply whose value is what a direct invoke returns (the other replies
#: are the value itself). finish_stream's direct value is null, but its reply says more —
#: whether the finish took effect — and StreamsClient.finish_stream passes it on.
_VALUE_KEYS = {
    "create_stream": "streamId",
    "add_delta": "accepted",
    "abort_stream": "aborted",
    "abort_streams_by_order": "aborted",
    "finish_stream": "status",
}
#: Operations whose 404 ``StreamNotFound`` is not an error but the value ``False``
#: (the reference's ``addDelta`` returns false for a missing stream).
NOT_FOUND_IS_FALSE: frozenset[str] = frozenset({"add_delta"})

#: A generous read timeout: a list_deltas reply may be 5 MB, and a Lambda cold start
#: plus a DynamoDB retry can take seconds.
DEFAULT_TIMEOUT = urllib3.Timeout(connect=5.0, read=30.0)


class HttpTransport:
    """Calls the contract's operations over HTTP.

    ``auth``: None (no auth), ``"sigv4"`` (IAM: requests signed for the
    ``execute-api`` service with the default credential chain) or a
    :class:`BearerToken` (a JWT authorizer).
    """

    def __init__(
        self,
        base_url: str,
        *,
        auth: Auth = None,
        region: str | None = None,
        timeout: float | urllib3.Timeout = DEFAULT_TIMEOUT,
        max_connections: int = 10,
        headers: dict[str, str] | None = None,
        botocore_session: Session | None = None,
        live_url: str | None = None,
    ) -> None:
        if auth is not None and not isinstance(auth, BearerToken) and auth not in ("none", "sigv4"):
            raise ValueError(f"auth must be None, 'none', 'sigv4' or a BearerToken, not {auth!r}")
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        #: Where the live reads (SSE) are: the stack's LiveUrl (a Function URL), or the
        #: base URL itself (the local stack serves both).
        self.live_url = (live_url or base_url).rstrip("/")
        self.auth: Auth = None if auth == "none" else auth
        self._region = region
        self._timeout = (
            timeout if isinstance(timeout, urllib3.Timeout) else urllib3.Timeout(timeout)
        )
        self._max_connections = max_connections
        self._headers = dict(headers or {})
        self._botocore_session = botocore_session
        # Created on first use, not here: constructing a transport must stay cheap
        # and side-effect free (no sockets, no credential lookups).
        self._pool: urllib3.PoolManager | None = None
        self._credentials: Credentials | None = None
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------

    async def call(self, operation: str, args: dict[str, Any]) -> Any:
        route = ROUTES.get(operation)
        if route is None:
            raise ValueError(f"unknown operation {operation!r}")
        try:
            url = self.base_url + route.render_path(args)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if route.query:
            # RFC 3986 encoding (only unreserved characters left as they are): what
            # SigV4 canonicalises, so the signature matches what API Gateway checks.
            url += "?" + urlencode(route.query_pairs(args), quote_via=quote, safe="")
        body = json_body(args) if route.body else None
        status, reply, retry_after = await asyncio.to_thread(
            self._send, operation, route.method, url, body
        )
        if 200 <= status < 300:
            try:
                return reply_value(route, status, reply)
            except ValueError as exc:
                raise UnexpectedResponse(status, reply, operation=operation) from exc
        return error_reply_value(operation, status, reply, retry_after)

    async def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.clear()

    async def __aenter__(self) -> HttpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def open_events(self, path: str, headers: dict[str, str]) -> urllib3.BaseHTTPResponse:
        """A GET of the live reads URL whose body is read as it arrives (blocking: call it
        from a worker thread). Connection failures are TransientError."""
        url = self.live_url + path
        headers = {"Accept": "text/event-stream", **self._headers, **headers}
        if isinstance(self.auth, BearerToken):
            headers["Authorization"] = f"Bearer {self.auth.value()}"
        elif self.auth == "sigv4":
            headers = self._sign("GET", url, None, headers)
        try:
            return self._get_pool().request(
                "GET",
                url,
                headers=headers,
                timeout=urllib3.Timeout(connect=self._timeout.connect_timeout, read=60.0),
                retries=False,
                redirect=False,
                preload_content=False,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise TransientError(
                f"live read: {exc}", maybe_processed=False, operation="events", cause=exc
            ) from exc

    # -- internals (run in a worker thread) ------------------------------------

    def _get_pool(self) -> urllib3.PoolManager:
        with self._lock:
            if self._pool is None:
                self._pool = urllib3.PoolManager(maxsize=self._max_connections, block=False)
            return self._pool

    def _send(
        self, operation: str, method: str, url: str, body: bytes | None
    ) -> tuple[int, Any, float | None]:
        headers = {"Accept": "application/json", **self._headers}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if isinstance(self.auth, BearerToken):
            headers["Authorization"] = f"Bearer {self.auth.value()}"
        elif self.auth == "sigv4":
            headers = self._sign(method, url, body, headers)
        try:
            response = self._get_pool().request(
                method,
                url,
                body=body,
                headers=headers,
                timeout=self._timeout,
                # Retries are the caller's decision (it knows which operations are
                # idempotent); urllib3 must not replay a POST on its own.
                retries=False,
                redirect=False,
            )
        except urllib3.exceptions.ConnectTimeoutError as exc:
            # Includes NewConnectionError (refused, DNS): nothing reached the server.
            raise TransientError(
                f"cannot connect: {exc}", maybe_processed=False, operation=operation, cause=exc
            ) from exc
        except urllib3.exceptions.SSLError as exc:
            raise TransientError(
                f"TLS error: {exc}", maybe_processed=False, operation=operation, cause=exc
            ) from exc
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise TransientError(
                f"timed out waiting for the reply: {exc}",
                maybe_processed=True,
                operation=operation,
                cause=exc,
            ) from exc
        except urllib3.exceptions.HTTPError as exc:
            # ProtocolError and friends: the connection broke after the request
            # may have gone out.
            raise TransientError(
                f"connection error: {exc}", maybe_processed=True, operation=operation, cause=exc
            ) from exc
        return (
            response.status,
            _decode(response.data),
            parse_retry_after(response.headers.get("Retry-After")),
        )

    def _sign(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> dict[str, str]:
        # botocore is imported here, not at module import: `agent-streams follow`
        # against a local stack never pays for it.
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        credentials = self._get_credentials()
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        # The live reads URL is a Lambda Function URL: signed for "lambda".
        host = urlsplit(url).hostname or ""
        service = "lambda" if _FUNCTION_URL_HOST.match(host) else "execute-api"
        SigV4Auth(credentials.get_frozen_credentials(), service, self._region_for(url)).add_auth(
            request
        )
        return {str(k): str(v) for k, v in request.headers.items()}

    def _get_botocore_session(self) -> Session:
        if self._botocore_session is None:
            import botocore.session

            self._botocore_session = botocore.session.Session()
        return self._botocore_session

    def _get_credentials(self) -> Credentials:
        with self._lock:
            if self._credentials is None:
                credentials = self._get_botocore_session().get_credentials()
                if credentials is None:
                    raise AgentStreamsError(
                        "auth='sigv4' needs AWS credentials, and the default chain found none"
                    )
                self._credentials = credentials
            return self._credentials

    def _region_for(self, url: str) -> str:
        if self._region:
            return self._region
        host = urlsplit(url).hostname or ""
        match = _EXECUTE_API_HOST.match(host) or _FUNCTION_URL_HOST.match(host)
        if match:
            return match.group(1)
        region = self._get_botocore_session().get_config_variable("region")
        return str(region) if region else "us-east-1"


def reply_value(route: Route[Any, Any], status: int, body: Any) -> Any:
    """What a direct invoke returns, from a success reply (ValueError: not the route's)."""
    if route.reply is None or status in route.bodiless:
        return None
    key = _VALUE_KEYS.get(route.operation)
    if key is not None:
        if not isinstance(body, dict) or key not in body:
            raise ValueError(f"reply has no {key!r}: {body!r}")
        return body[key]
    if typing.get_origin(route.reply) is list and not isinstance(body, list):
        raise ValueError(f"reply is not a JSON array: {body!r}")
    return body


def _decode(data: bytes) -> Any:
    if not data:
        return None
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", errors="replace")


def parse_retry_after(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        return None
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


def error_reply_value(
    operation: str, status: int, body: Any, retry_after: float | None = None
) -> Any:
    """Raise what an HTTP error reply means, or return the value it stands for.

    The only error reply that is a value: ``add_delta``'s 404 ``StreamNotFound``,
    which is ``False`` (the reference's return for a missing stream). A throttle
    (429, or the contract's 503 ``ServiceUnavailable``) is a :class:`TransientError`
    carrying the reply's ``Retry-After``: it is never read as a missing stream.
    """
    code = body.get("error") if isinstance(body, dict) else None
    if code == StreamNotFound.__name__ and operation in NOT_FOUND_IS_FALSE:
        return False
    if status == 429:
        # Throttled at the gateway or by Lambda, before the function ran.
        raise TransientError(
            f"throttled (HTTP 429): {_message(body)}",
            maybe_processed=False,
            operation=operation,
            retry_after=retry_after,
        )
    if isinstance(code, str) and code in ERROR_CLASSES:
        error = AgentStreamsError.from_body(body)
        if isinstance(error, ServiceUnavailable):
            # The contract: "no error writes anything", and 503 is "safe to retry".
            if retry_after is not None:
                error.retry_after = max(1, round(retry_after))
            raise TransientError(
                error.message,
                maybe_processed=False,
                operation=operation,
                cause=error,
                retry_after=retry_after,
            ) from error
        raise error
    if status >= 500:
        # A gateway 500/502/504 (function crashed or timed out): it may have run.
        raise TransientError(
            f"HTTP {status}: {_message(body)}",
            maybe_processed=True,
            operation=operation,
            retry_after=retry_after,
        )
    if status == 422:
        raise ValidationError(_message(body))
    raise UnexpectedResponse(status, body, operation=operation)


def _message(body: Any) -> str:
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body)[:500]

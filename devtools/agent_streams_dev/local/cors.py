"""CORS as AWS answers it in front of the functions, from the template's configuration.

Two resources carry CORS in ``template.yaml``, and each answers it itself, before any
function runs:

- the HTTP API's ``CorsConfiguration`` ("Configure CORS for HTTP APIs in API Gateway"):
  API Gateway answers preflight ``OPTIONS`` requests even without an ``OPTIONS`` route
  (204, no body), adds the configured headers to every response to a request with an
  ``Origin``, and ignores CORS headers the integration returns;
- a Function URL's ``Cors`` (Lambda developer guide, "Cross-origin resource sharing"):
  Lambda answers preflights and adds the configured headers to all responses through
  the URL; where the function's own headers conflict, the configured ones win.

A preflight is an ``OPTIONS`` request with ``Origin`` and ``Access-Control-Request-Method``
(what API Gateway requires to answer one); other ``OPTIONS`` requests are routed like
any request. The origins may be ``*``, exact origins, or ``https://*`` / ``http://*``
(any origin of that scheme). An origin that is not allowed gets no CORS headers: the
browser then refuses the response. AWS documents neither preflight status: 204 is what
HTTP APIs are commonly reported to answer; a Function URL's 200 is what the live reads'
tests have expected since the app answered preflights itself (not checked on AWS).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

_PREFIX = "access-control-"


@dataclass(frozen=True)
class CorsRules:
    """One resource's CORS configuration, answered as its service answers it."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False
    #: The status of an answered preflight.
    preflight_status: int = 204
    #: Whether the backend's own ``Access-Control-*`` headers are dropped (HTTP API) or
    #: only overridden where they conflict (Function URL).
    drop_backend_headers: bool = True

    @classmethod
    def http_api(cls, config: Mapping[str, Any]) -> CorsRules:
        """An ``AWS::ApiGatewayV2::Api``'s ``CorsConfiguration``, parameters resolved."""
        return cls._from(config, preflight_status=204, drop_backend_headers=True)

    @classmethod
    def function_url(cls, config: Mapping[str, Any]) -> CorsRules:
        """An ``AWS::Lambda::Url``'s ``Cors``, parameters resolved."""
        return cls._from(config, preflight_status=200, drop_backend_headers=False)

    @classmethod
    def _from(
        cls, config: Mapping[str, Any], *, preflight_status: int, drop_backend_headers: bool
    ) -> CorsRules:
        max_age = config.get("MaxAge")
        return cls(
            allow_origins=_strings(config.get("AllowOrigins")),
            allow_methods=_strings(config.get("AllowMethods")),
            allow_headers=_strings(config.get("AllowHeaders")),
            expose_headers=_strings(config.get("ExposeHeaders")),
            max_age=None if max_age is None else int(max_age),
            allow_credentials=str(config.get("AllowCredentials", False)).lower() == "true",
            preflight_status=preflight_status,
            drop_backend_headers=drop_backend_headers,
        )

    # -- a request ----------------------------------------------------------------------

    @staticmethod
    def is_preflight(method: str, headers: Mapping[str, str]) -> bool:
        """``headers``: lower-case names."""
        return (
            method == "OPTIONS"
            and bool(headers.get("origin"))
            and bool(headers.get("access-control-request-method"))
        )

    def allowed_origin(self, origin: str | None) -> str | None:
        """The ``Access-Control-Allow-Origin`` for a request from ``origin``, or None."""
        if not origin:
            return None
        if "*" in self.allow_origins and not self.allow_credentials:
            return "*"
        lowered = origin.lower()
        for allowed in self.allow_origins:
            if allowed == "*" or allowed.lower() == lowered:
                return origin
            if allowed.endswith("://*") and lowered.startswith(allowed[:-1].lower()):
                return origin
        return None

    def preflight(self, headers: Mapping[str, str]) -> tuple[int, list[tuple[str, str]]]:
        """The status and headers that answer a preflight (no body)."""
        origin = self.allowed_origin(headers.get("origin"))
        if origin is None:
            return self.preflight_status, []
        answer = self._origin_headers(origin)
        methods = self.allow_methods
        if "*" in methods:
            methods = (headers.get("access-control-request-method", ""),)
        if methods:
            answer.append(("Access-Control-Allow-Methods", ",".join(methods)))
        allowed_headers = self.allow_headers
        if "*" in allowed_headers:
            asked = headers.get("access-control-request-headers", "")
            allowed_headers = tuple(h.strip() for h in asked.split(",") if h.strip())
        if allowed_headers:
            answer.append(("Access-Control-Allow-Headers", ",".join(allowed_headers)))
        if self.max_age is not None:
            answer.append(("Access-Control-Max-Age", str(self.max_age)))
        return self.preflight_status, answer

    def response_headers(
        self, request_headers: Mapping[str, str], headers: Iterable[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """A response's ``headers`` as the service sends them for this request."""
        origin = self.allowed_origin(request_headers.get("origin"))
        added = [] if origin is None else self._origin_headers(origin)
        if self.expose_headers and origin is not None:
            added.append(("Access-Control-Expose-Headers", ",".join(self.expose_headers)))
        replaced = {name.lower() for name, _ in added}
        kept = [
            (name, value)
            for name, value in headers
            if not name.lower().startswith(_PREFIX)
            or (not self.drop_backend_headers and name.lower() not in replaced)
        ]
        return kept + added

    def _origin_headers(self, origin: str) -> list[tuple[str, str]]:
        found = [("Access-Control-Allow-Origin", origin)]
        if origin != "*":
            found.append(("Vary", "Origin"))
        if self.allow_credentials:
            found.append(("Access-Control-Allow-Credentials", "true"))
        return found


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items: Sequence[Any] = [value] if isinstance(value, str) else value
    return tuple(str(item).strip() for item in items if str(item).strip())

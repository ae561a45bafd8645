"""Test helpers shared by the suites: loading function modules, events, contexts."""

from __future__ import annotations

import importlib.util
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FUNCTIONS = ROOT / "functions"
EVENTS = ROOT / "events"


def load_function(operation: str) -> ModuleType:
    """Import ``functions/<operation>/app.py`` under a unique module name."""
    name = f"functions_{operation}_app"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS / operation / "app.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class FakeLambdaContext:
    function_name: str = "agent-streams-test"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:agent-streams-test"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 60_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def http_event(
    method: str,
    route_path: str,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    *,
    raw_body: str | None = None,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload 2.0) event for a route."""
    path = route_path
    for key, value in (path_parameters or {}).items():
        path = path.replace("{" + key + "}", value)
    text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
    return {
        "version": "2.0",
        "routeKey": f"{method} {route_path}",
        "rawPath": path,
        "rawQueryString": "&".join(f"{k}={v}" for k, v in (query or {}).items()),
        "headers": {"content-type": "application/json", **(headers or {})},
        "queryStringParameters": query or None,
        "pathParameters": path_parameters or None,
        "requestContext": {
            "http": {"method": method, "path": path},
            "requestId": "test-request",
            "routeKey": f"{method} {route_path}",
        },
        "body": text,
        "isBase64Encoded": False,
    }


def reply_json(response: dict[str, Any]) -> Any:
    body = response.get("body")
    return None if body is None else json.loads(body)


class Api:
    """Calls the functions' handlers the two ways the contract allows."""

    def __init__(self, context: FakeLambdaContext | None = None) -> None:
        self.context = context or FakeLambdaContext()
        #: The last HTTP reply in full (its headers, for instance).
        self.last_response: dict[str, Any] = {}

    def direct(self, operation: str, args: dict[str, Any]) -> Any:
        """The value a direct invoke returns (decoded, when the handler returned JSON as
        bytes, as it does for values with lone surrogates: Lambda sends those as they are)."""
        result = load_function(operation).handler(args, self.context)
        return json.loads(result) if isinstance(result, bytes) else result

    def http(
        self,
        operation: str,
        path_parameters: dict[str, str] | None = None,
        *,
        query: dict[str, str] | None = None,
        body: Any = None,
        raw_body: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        route = load_function(operation).OPERATION.http.route
        assert route is not None, f"{operation} has no HTTP route"
        event = http_event(
            route.method,
            route.path,
            path_parameters,
            query,
            body,
            raw_body=raw_body,
            headers=headers,
        )
        response = load_function(operation).handler(event, self.context)
        self.last_response = response
        return response["statusCode"], reply_json(response)

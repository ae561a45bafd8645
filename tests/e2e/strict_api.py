"""A second HTTP API over the running local stack, deployed from a copy of the
template with test-only functions and routes (``tests/e2e/functions``) and any
parameters (the JWT issuer…): the functions, tables and clock are the stack's own,
only the API in front differs, served on a port of its own."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from agent_streams_dev.local.api_gateway import HttpApi
from agent_streams_dev.local.http_server import LocalHttpServer
from agent_streams_dev.local.stack import LocalStack
from agent_streams_dev.local.template import Template


def function_resources(
    logical_id: str,
    folder: str,
    *,
    timeout: int,
    route: str | None = None,
    authorization: str = "NONE",
    scopes: list[str] | None = None,
) -> dict[str, Any]:
    """Template resources for a function in ``tests/e2e/functions/<folder>`` and its route."""
    resources: dict[str, Any] = {
        logical_id: {
            "Type": "AWS::Serverless::Function",
            "Properties": {"CodeUri": f"tests/e2e/functions/{folder}/", "Timeout": timeout},
        }
    }
    if route is not None:
        props: dict[str, Any] = {
            "ApiId": {"Ref": "HttpApi"},
            "RouteKey": route,
            "AuthorizationType": authorization,
            "Target": {"Fn::Sub": f"integrations/${{{logical_id}Integration}}"},
        }
        if authorization == "JWT":
            props["AuthorizerId"] = {"Ref": "JwtAuthorizer"}
        if scopes:
            props["AuthorizationScopes"] = scopes
        resources[f"{logical_id}Route"] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": props}
        resources[f"{logical_id}Integration"] = {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {
                "ApiId": {"Ref": "HttpApi"},
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": {"Fn::GetAtt": [logical_id, "Arn"]},
                "PayloadFormatVersion": "2.0",
            },
        }
    return resources


@contextmanager
def extra_api(
    stack: LocalStack,
    resources: Mapping[str, Any],
    *,
    parameters: Mapping[str, str] | None = None,
    integration_timeout_s: float = 30.0,
) -> Iterator[str]:
    """The URL of an HTTP API deployed from the stack's template plus ``resources``."""
    assert stack.functions is not None
    body = copy.deepcopy(stack.template.body)
    body["Resources"].update(copy.deepcopy(dict(resources)))
    template = Template(body)
    added = [
        stack.functions.add(spec).spec.operation
        for spec in template.functions().values()
        if spec.operation not in stack.functions.by_operation
    ]
    api = HttpApi(
        template,
        stack.functions,
        parameters=parameters,
        now_s=lambda: stack.clock.now_ms() / 1000,
        integration_timeout_s=integration_timeout_s,
    )
    server = LocalHttpServer("127.0.0.1", 0, api, {})
    server.start()
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        server.stop()
        for operation in added:
            stack.functions.remove(operation)

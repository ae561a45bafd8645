"""The stack's functions, in this process: each ``functions/<op>/app.py`` loaded from
the template, invoked the way Lambda would — an event, a context with a deadline, on
a thread of its own, held to the function's ``Timeout`` and Lambda's 6 MB reply
(``invocations.py``) — and reachable by the names and ARNs the template gives them."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from agent_streams_dev.local import invocations
from agent_streams_dev.local.invocations import FunctionError, Invocation, LocalLambdaContext
from agent_streams_dev.local.template import FunctionSpec, Template

ACCOUNT_ID = "123456789012"

__all__ = ["ACCOUNT_ID", "FunctionError", "LocalFunction", "LocalFunctions", "LocalLambdaContext"]


@dataclass(frozen=True)
class LocalFunction:
    spec: FunctionSpec
    name: str
    arn: str
    handler: Callable[[Any, Any], Any]

    def context(
        self, invoked_function_arn: str | None = None, request_id: str | None = None
    ) -> LocalLambdaContext:
        """A fresh context: its deadline is now plus the template's ``Timeout``; the
        invoked ARN (a qualified one, through the Invoke API) and request id if given."""
        return LocalLambdaContext(
            self.name,
            self.spec.timeout,
            aws_request_id=request_id or str(uuid.uuid4()),
            invoked_function_arn=invoked_function_arn or self.arn,
        )

    def start(
        self,
        event: Any,
        context: LocalLambdaContext | None = None,
        *,
        log_lines: list[str] | None = None,
    ) -> Invocation:
        """Start an invocation (on its own thread) with the template's ``Timeout``;
        ``log_lines`` collects its log for ``LogType: Tail``."""
        return invocations.start(
            self.name,
            self.spec.timeout,
            self.handler,
            event,
            context or self.context(),
            log_lines=log_lines,
        )

    def invoke(self, event: Any, context: LocalLambdaContext | None = None) -> Any:
        """A synchronous invoke: the reply as Lambda returns it (serialised by the
        runtime, at most 6 MB, within the function's timeout), else FunctionError."""
        return self.start(event, context).result()

    def invoke_payload(
        self,
        event: Any,
        context: LocalLambdaContext | None = None,
        *,
        log_lines: list[str] | None = None,
    ) -> bytes:
        """Like :meth:`invoke`, the reply's bytes as Lambda's Invoke API returns them."""
        return self.start(event, context, log_lines=log_lines).payload()


def _load_handler(spec: FunctionSpec) -> Callable[[Any, Any], Any]:
    module_name, _, attribute = spec.handler.rpartition(".")
    unique = f"agent_streams_local_fn_{spec.operation}"
    module = sys.modules.get(unique)
    if module is None:
        source = importlib.util.spec_from_file_location(unique, spec.code_dir / f"{module_name}.py")
        if source is None or source.loader is None:
            raise RuntimeError(f"cannot load {spec.code_dir}/{module_name}.py")
        module = importlib.util.module_from_spec(source)
        sys.modules[unique] = module
        source.loader.exec_module(module)
    handler: Callable[[Any, Any], Any] = getattr(module, attribute)
    return handler


class LocalFunctions:
    def __init__(self, template: Template, stack_name: str, region: str) -> None:
        self.by_operation: dict[str, LocalFunction] = {}
        self._by_name: dict[str, LocalFunction] = {}
        self._stack_name = stack_name
        self._region = region
        for spec in template.functions().values():
            self.add(spec)

    def add(self, spec: FunctionSpec) -> LocalFunction:
        """Load one more function (the template's, or a test's own)."""
        name = f"{self._stack_name}-{spec.operation}"
        arn = f"arn:aws:lambda:{self._region}:{ACCOUNT_ID}:function:{name}"
        function = LocalFunction(spec, name, arn, _load_handler(spec))
        self.by_operation[spec.operation] = function
        self._by_name[name] = function
        self._by_name[arn] = function
        return function

    def remove(self, operation: str) -> None:
        function = self.by_operation.pop(operation)
        self._by_name.pop(function.name, None)
        self._by_name.pop(function.arn, None)

    def find(self, name_or_arn: str) -> LocalFunction | None:
        key = unquote(name_or_arn)
        if key.startswith("arn:") and key.count(":") > 6:
            key = key.rsplit(":", 1)[0]  # a qualified ARN
        return self._by_name.get(key)

    def arn(self, operation: str) -> str:
        return self.by_operation[operation].arn

    def lambda_invoke_hook(self) -> Callable[..., Any]:
        """A botocore ``before-call.lambda.Invoke`` handler that serves invokes of
        this stack's functions in process (how the state machine's tasks reach them)."""
        from botocore.awsrequest import AWSResponse, HTTPHeaders
        from botocore.response import StreamingBody

        def hook(params: dict[str, Any], **_: Any) -> Any:
            path = str(params.get("url_path", ""))
            parts = path.split("/")
            if len(parts) < 4 or parts[2] != "functions":
                return None
            function = self.find(parts[3])
            if function is None:
                return None
            body = params.get("body") or b"{}"
            event = json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
            reply: dict[str, Any] = {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
            try:
                payload = function.invoke_payload(event)
            except FunctionError as error:
                payload = json.dumps(error.payload).encode()
                reply["FunctionError"] = "Unhandled"
            reply["Payload"] = StreamingBody(io.BytesIO(payload), len(payload))
            return AWSResponse(path, 200, HTTPHeaders(), None), reply

        return hook

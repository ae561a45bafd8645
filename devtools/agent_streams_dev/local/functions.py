"""The stack's functions, in this process: each ``functions/<op>/app.py`` loaded from
the template, invoked the way Lambda would (an event, a context with a deadline),
and reachable by the names and ARNs the template gives them."""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import time
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from agent_streams_dev.local.template import FunctionSpec, Template

ACCOUNT_ID = "123456789012"


@dataclass
class LocalLambdaContext:
    """What a handler sees of Lambda's context object."""

    function_name: str
    timeout_s: int
    memory_limit_in_mb: int = 512
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    invoked_function_arn: str = ""
    _deadline: float = field(default=0.0, repr=False)

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionError(Exception):
    """A handler raised: Lambda's ``FunctionError: Unhandled`` with its payload."""

    def __init__(self, payload: dict[str, Any]) -> None:
        super().__init__(payload.get("errorMessage", ""))
        self.payload = payload


@dataclass(frozen=True)
class LocalFunction:
    spec: FunctionSpec
    name: str
    arn: str
    handler: Callable[[Any, Any], Any]

    def invoke(self, event: Any) -> Any:
        context = LocalLambdaContext(self.name, self.spec.timeout, invoked_function_arn=self.arn)
        try:
            result = self.handler(event, context)
            # A handler returns JSON text as bytes when its value holds lone surrogates
            # (Lambda sends bytes as they are); callers here get the value it stands for.
            return json.loads(result) if isinstance(result, bytes) else result
        except Exception as exc:
            raise FunctionError(
                {
                    "errorMessage": str(exc),
                    "errorType": type(exc).__name__,
                    "stackTrace": traceback.format_exception(exc)[-5:],
                }
            ) from exc


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
        for operation, spec in template.functions().items():
            name = f"{stack_name}-{operation}"
            arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
            function = LocalFunction(spec, name, arn, _load_handler(spec))
            self.by_operation[operation] = function
            self._by_name[name] = function
            self._by_name[arn] = function

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
                payload = json.dumps(function.invoke(event)).encode()
            except FunctionError as error:
                payload = json.dumps(error.payload).encode()
                reply["FunctionError"] = "Unhandled"
            reply["Payload"] = StreamingBody(io.BytesIO(payload), len(payload))
            return AWSResponse(path, 200, HTTPHeaders(), None), reply

        return hook

"""Reading ``template.yaml``: the one description of the stack that the local stack,
the tests and the OpenAPI document all follow."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from agent_streams_dev.local.cfn import NO_VALUE, Evaluator, parameter_values

#: The repository's root (where template.yaml, functions/ and statemachines/ are).
PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsic tags (``!Ref x`` -> ``{"Ref": x}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    # `!Ref` and `!Condition` are the long forms `Ref` and `Condition`, the rest `Fn::…`.
    name = suffix if suffix in ("Ref", "Condition") else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    #: The operation's name: the function's folder under functions/.
    operation: str
    code_dir: Path
    handler: str
    timeout: int
    method: str | None
    path: str | None


@dataclass(frozen=True)
class RouteSpec:
    """One HTTP API route as deployed with some parameter values."""

    logical_id: str
    #: ``GET``…, or ``ANY``; ``$default`` routes have method and path ``None``.
    method: str | None
    path: str | None
    function_id: str
    #: ``NONE``, ``AWS_IAM``, ``JWT`` or ``CUSTOM``.
    authorization_type: str
    authorizer_id: str | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class JwtAuthorizerSpec:
    logical_id: str
    issuer: str
    audiences: tuple[str, ...]
    #: e.g. ``$request.header.Authorization``.
    identity_sources: tuple[str, ...]


@dataclass(frozen=True)
class FunctionUrlSpec:
    """One ``AWS::Lambda::Url`` as deployed with some parameter values."""

    logical_id: str
    function_id: str
    #: The target function's folder (its ``CodeUri``).
    code_dir: Path
    #: ``AWS_IAM`` or ``NONE``.
    auth_type: str
    #: The URL's ``Cors`` (None: no CORS configured).
    cors: dict[str, Any] | None
    #: The target function's environment variables that resolve to plain values.
    environment: dict[str, str]


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    properties: dict[str, Any]

    def create_table_kwargs(self, table_name: str) -> dict[str, Any]:
        props = self.properties
        kwargs: dict[str, Any] = {
            "TableName": table_name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = copy.deepcopy(props["GlobalSecondaryIndexes"])
        if self.stream_view_type:
            kwargs["StreamSpecification"] = {
                "StreamEnabled": True,
                "StreamViewType": self.stream_view_type,
            }
        return kwargs

    @property
    def stream_view_type(self) -> str | None:
        """The table's DynamoDB stream (``StreamSpecification``), if it has one."""
        spec = self.properties.get("StreamSpecification") or {}
        view = spec.get("StreamViewType")
        return None if view is None else str(view)

    @property
    def ttl_attribute(self) -> str | None:
        spec = self.properties.get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None


@dataclass(frozen=True)
class EventSourceMappingSpec:
    """One ``AWS::Lambda::EventSourceMapping`` from a table's DynamoDB stream to a function."""

    logical_id: str
    #: The table whose stream it reads (``!GetAtt <Table>.StreamArn``).
    table_id: str
    #: The function it invokes (its logical id).
    function_id: str
    batch_size: int
    starting_position: str
    #: ``FilterCriteria`` patterns, parsed (a record passes if any matches; none: all pass).
    filters: tuple[dict[str, Any], ...]
    maximum_retry_attempts: int
    bisect_on_error: bool
    report_batch_item_failures: bool
    #: The logical id of the on-failure destination queue, if any.
    on_failure_id: str | None


@dataclass(frozen=True)
class Template:
    body: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return dict(self.body["Resources"])

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def parameter_default(self, name: str) -> Any:
        return self.body["Parameters"][name].get("Default")

    def tables(self) -> dict[str, TableSpec]:
        return {
            logical_id: TableSpec(logical_id, resource["Properties"])
            for logical_id, resource in self.of_type("AWS::DynamoDB::Table").items()
        }

    def buckets(self, parameters: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """The S3 buckets' properties, parameters and conditions resolved."""
        return self._deployed("AWS::S3::Bucket", self.evaluator(parameters))

    def bucket_policies(
        self, parameters: Mapping[str, str] | None = None
    ) -> dict[str, dict[str, Any]]:
        """The bucket policies' properties (``Bucket`` is the bucket's logical id)."""
        return self._deployed("AWS::S3::BucketPolicy", self.evaluator(parameters))

    def routes(self) -> dict[str, tuple[str, str]]:
        """Function logical id -> (method, path) of its HTTP API route."""
        integrations = self.of_type("AWS::ApiGatewayV2::Integration")
        found: dict[str, tuple[str, str]] = {}
        for resource in self.of_type("AWS::ApiGatewayV2::Route").values():
            props = resource["Properties"]
            method, path = str(props["RouteKey"]).split(" ", 1)
            target = str(props["Target"]["Fn::Sub"])  # "integrations/${XIntegration}"
            integration = integrations[target.split("${", 1)[1].rstrip("}")]
            function_id = self.integration_function(integration["Properties"]["IntegrationUri"])
            found[function_id] = (method.upper(), path)
        return found

    def integration_function(self, uri: Any) -> str:
        """The logical id of the function an integration's ``IntegrationUri`` names: a
        ``!GetAtt F.Arn``, or a ``!Sub`` ARN ending in the function's fixed name
        (``function:${AWS::StackName}-<operation>``)."""
        if "Fn::GetAtt" in uri:
            return str(uri["Fn::GetAtt"][0])
        name = str(uri["Fn::Sub"]).rsplit(":function:", 1)[1]
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            if resource["Properties"].get("FunctionName") == {"Fn::Sub": name}:
                return logical_id
        raise ValueError(f"no function is named {name!r} (integration {uri!r})")

    def functions(self) -> dict[str, FunctionSpec]:
        """The operations' functions (``app.handler``), by operation."""
        globals_ = self.body.get("Globals", {}).get("Function", {})
        routes = self.routes()
        found: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
            if str(props.get("Handler", "")).endswith(".sh"):
                continue  # a web app behind the Lambda Web Adapter (local/asgi.py), no operation
            code_dir = PROJECT_ROOT / str(props["CodeUri"]).rstrip("/")
            method, path = routes.get(logical_id, (None, None))
            spec = FunctionSpec(
                logical_id=logical_id,
                operation=code_dir.name,
                code_dir=code_dir,
                handler=str(props.get("Handler", globals_.get("Handler"))),
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                method=method,
                path=path,
            )
            found[spec.operation] = spec
        return found

    # -- what a deployment with given parameters looks like -------------------------

    def evaluator(self, parameters: Mapping[str, str] | None = None) -> Evaluator:
        """Intrinsics resolved as CloudFormation would with these parameter overrides."""
        return Evaluator(
            parameter_values(self.body.get("Parameters", {}), parameters),
            self.body.get("Conditions", {}),
            frozenset(self.resources),
        )

    def failed_rules(self, parameters: Mapping[str, str] | None = None) -> list[str]:
        """The template's ``Rules`` these parameters break (CloudFormation would refuse them)."""
        return self.evaluator(parameters).failed_rules(self.body.get("Rules", {}))

    def _deployed(self, kind: str, evaluator: Evaluator) -> dict[str, dict[str, Any]]:
        """Resources of ``kind`` that exist with these parameters, properties resolved."""
        found = {}
        for logical_id, resource in self.of_type(kind).items():
            condition = resource.get("Condition")
            if condition is not None and not evaluator.condition(str(condition)):
                continue
            props = evaluator.resolve(resource.get("Properties", {}))
            found[logical_id] = {k: v for k, v in props.items() if v is not NO_VALUE}
        return found

    def route_specs(self, parameters: Mapping[str, str] | None = None) -> list[RouteSpec]:
        evaluator = self.evaluator(parameters)
        integrations = self._deployed("AWS::ApiGatewayV2::Integration", evaluator)
        specs = []
        for logical_id, props in self._deployed("AWS::ApiGatewayV2::Route", evaluator).items():
            key = str(props["RouteKey"])
            method, path = (None, None) if key == "$default" else key.split(" ", 1)
            target = props["Target"]
            target = str(target.get("Fn::Sub", target) if isinstance(target, dict) else target)
            integration_id = target.split("${", 1)[1].rstrip("}") if "${" in target else target
            uri = integrations[integration_id]["IntegrationUri"]
            authorizer = props.get("AuthorizerId")
            specs.append(
                RouteSpec(
                    logical_id=logical_id,
                    method=None if method is None else method.upper(),
                    path=path,
                    function_id=self.integration_function(uri),
                    authorization_type=str(props.get("AuthorizationType", "NONE")),
                    authorizer_id=None if authorizer is None else str(authorizer),
                    scopes=tuple(str(s) for s in props.get("AuthorizationScopes") or ()),
                )
            )
        return specs

    def jwt_authorizers(
        self, parameters: Mapping[str, str] | None = None
    ) -> dict[str, JwtAuthorizerSpec]:
        found = {}
        evaluator = self.evaluator(parameters)
        for logical_id, props in self._deployed("AWS::ApiGatewayV2::Authorizer", evaluator).items():
            if props.get("AuthorizerType") != "JWT":
                continue
            config = props.get("JwtConfiguration") or {}
            audiences = config.get("Audience") or []
            if isinstance(audiences, str):
                audiences = [audiences]
            found[logical_id] = JwtAuthorizerSpec(
                logical_id=logical_id,
                issuer=str(config.get("Issuer", "")),
                audiences=tuple(str(a) for a in audiences if str(a)),
                identity_sources=tuple(str(s) for s in props.get("IdentitySource") or ()),
            )
        return found

    def http_api_cors(self, parameters: Mapping[str, str] | None = None) -> dict[str, Any] | None:
        """The HTTP API's ``CorsConfiguration`` (None: the API answers no CORS)."""
        apis = self._deployed("AWS::ApiGatewayV2::Api", self.evaluator(parameters))
        configs = [
            props["CorsConfiguration"] for props in apis.values() if "CorsConfiguration" in props
        ]
        if len(configs) > 1:
            raise ValueError(
                "the local stack serves one HTTP API; the template has several with CORS"
            )
        return dict(configs[0]) if configs else None

    def function_urls(self, parameters: Mapping[str, str] | None = None) -> list[FunctionUrlSpec]:
        evaluator = self.evaluator(parameters)
        functions = self._deployed("AWS::Serverless::Function", evaluator)
        found = []
        for logical_id, props in self._deployed("AWS::Lambda::Url", evaluator).items():
            target = props["TargetFunctionArn"]
            function_id = str(target["Fn::GetAtt"][0] if isinstance(target, dict) else target)
            function = functions[function_id]
            variables = (function.get("Environment") or {}).get("Variables") or {}
            found.append(
                FunctionUrlSpec(
                    logical_id=logical_id,
                    function_id=function_id,
                    code_dir=PROJECT_ROOT / str(function["CodeUri"]).rstrip("/"),
                    auth_type=str(props.get("AuthType", "AWS_IAM")),
                    cors=dict(props["Cors"]) if props.get("Cors") else None,
                    environment={
                        str(k): str(v)
                        for k, v in variables.items()
                        if isinstance(v, str | int | float) and not isinstance(v, bool)
                    },
                )
            )
        return found

    def event_source_mappings(self) -> list[EventSourceMappingSpec]:
        """The event source mappings that read a table's stream."""
        found = []
        for logical_id, resource in self.of_type("AWS::Lambda::EventSourceMapping").items():
            props = resource["Properties"]
            source = props["EventSourceArn"]
            if not (isinstance(source, dict) and "Fn::GetAtt" in source):
                continue
            table_id, attribute = source["Fn::GetAtt"]
            if attribute != "StreamArn":
                continue
            function = props["FunctionName"]
            function_id = str(function["Ref"] if isinstance(function, dict) else function)
            filters = tuple(
                json.loads(str(f["Pattern"]))
                for f in (props.get("FilterCriteria") or {}).get("Filters") or []
            )
            on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get(
                "Destination"
            )
            found.append(
                EventSourceMappingSpec(
                    logical_id=logical_id,
                    table_id=str(table_id),
                    function_id=function_id,
                    batch_size=int(props.get("BatchSize", 100)),
                    starting_position=str(props.get("StartingPosition", "LATEST")),
                    filters=filters,
                    # Lambda's default: retry until the record expires.
                    maximum_retry_attempts=int(props.get("MaximumRetryAttempts", -1)),
                    bisect_on_error=bool(props.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (props.get("FunctionResponseTypes") or []),
                    on_failure_id=(
                        str(on_failure["Fn::GetAtt"][0])
                        if isinstance(on_failure, dict) and "Fn::GetAtt" in on_failure
                        else None
                    ),
                )
            )
        return found

    def state_machine(self) -> tuple[Path, dict[str, Any]]:
        """The state machine's ASL file and its DefinitionSubstitutions."""
        ((_, resource),) = self.of_type("AWS::Serverless::StateMachine").items()
        props = resource["Properties"]
        return PROJECT_ROOT / props["DefinitionUri"], dict(props.get("DefinitionSubstitutions", {}))


@cache
def load_template(path: Path = TEMPLATE_PATH) -> Template:
    with path.open(encoding="utf-8") as handle:
        return Template(yaml.load(handle, Loader=_CfnLoader))


def substitute(text: str, values: dict[str, str]) -> str:
    """Apply ``DefinitionSubstitutions`` (``${Name}``) to an ASL definition."""
    for name, value in values.items():
        text = text.replace("${" + name + "}", value)
    return text

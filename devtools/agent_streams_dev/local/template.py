"""Reading ``template.yaml``: the one description of the stack that the local stack,
the tests and the OpenAPI document all follow."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

#: The repository's root (where template.yaml, functions/ and statemachines/ are).
PROJECT_ROOT = Path(__file__).resolve().parents[3]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form intrinsic tags (``!Ref x`` -> ``{"Ref": x}``)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
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
        return kwargs

    @property
    def ttl_attribute(self) -> str | None:
        spec = self.properties.get("TimeToLiveSpecification") or {}
        return spec.get("AttributeName") if spec.get("Enabled") else None


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
        globals_ = self.body.get("Globals", {}).get("Function", {})
        routes = self.routes()
        found: dict[str, FunctionSpec] = {}
        for logical_id, resource in self.of_type("AWS::Serverless::Function").items():
            props = resource["Properties"]
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

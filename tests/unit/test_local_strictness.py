"""The local stack's strictness, piece by piece (the e2e tests run them over HTTP)."""

from __future__ import annotations

import copy
import io
import json
from typing import Any

import pytest

from agent_streams_dev.local.cfn import TemplateError
from agent_streams_dev.local.dynamo_limits import (
    MAX_PAGE_BYTES,
    DynamoLimits,
    KeySchema,
    item_size,
    key_schemas,
    value_size,
)
from agent_streams_dev.local.http_server import _read_chunked, _Refusal
from agent_streams_dev.local.jwt_authorizer import render_claim
from agent_streams_dev.local.template import Template, load_template


class TestTemplateAsDeployed:
    def test_jwt_routes_and_authorizer_exist_only_with_an_issuer(self) -> None:
        template = load_template()
        assert template.jwt_authorizers() == {}
        assert {r.authorization_type for r in template.route_specs()} == {"AWS_IAM"}
        with_jwt = {"JwtIssuer": "https://issuer.example", "JwtAudience": "a, b"}
        (authorizer,) = template.jwt_authorizers(with_jwt).values()
        assert (authorizer.issuer, authorizer.audiences) == ("https://issuer.example", ("a", "b"))
        jwt_routes = [r for r in template.route_specs(with_jwt) if r.authorization_type == "JWT"]
        assert jwt_routes
        assert {r.authorizer_id for r in jwt_routes} == {authorizer.logical_id}

    def test_none_leaves_every_route_open(self) -> None:
        routes = load_template().route_specs({"ApiAuthorization": "NONE"})
        assert {r.authorization_type for r in routes} == {"NONE"}

    def test_parameters_are_checked(self) -> None:
        with pytest.raises(TemplateError, match="not one of"):
            load_template().route_specs({"ApiAuthorization": "COGNITO"})
        with pytest.raises(TemplateError, match="no parameter"):
            load_template().route_specs({"Nope": "x"})

    def test_rules_refuse_a_combination(self) -> None:
        body = copy.deepcopy(load_template().body)
        body["Rules"] = {
            "JwtNeedsIam": {
                "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]},
                "Assertions": [
                    {
                        "Assert": {"Fn::Equals": [{"Ref": "ApiAuthorization"}, "AWS_IAM"]},
                        "AssertDescription": "JWT needs IAM on the writer routes",
                    }
                ],
            }
        }
        template = Template(body)
        assert template.failed_rules() == []
        assert template.failed_rules({"JwtIssuer": "https://i", "ApiAuthorization": "NONE"}) == [
            "JWT needs IAM on the writer routes"
        ]


class TestItemSize:
    def test_dynamodb_sizes(self) -> None:
        assert value_size({"S": "é"}) == 2
        assert value_size({"N": "123.4500"}) == 4  # 5 significant digits: 3 + 1
        assert value_size({"N": "-0.001"}) == 2
        assert value_size({"BOOL": True}) == value_size({"NULL": True}) == 1
        assert value_size({"B": "AAEC"}) == 3
        assert value_size({"L": [{"S": "ab"}, {"N": "1"}]}) == 3 + (2 + 1) + (2 + 1)
        assert value_size({"M": {"k": {"S": "v"}}}) == 3 + 1 + 1 + 1
        assert value_size({"SS": ["a", "bc"]}) == 3
        assert item_size({"id": {"S": "x"}, "n": {"N": "7"}}) == 3 + 3


class TestPages:
    def limits(self) -> DynamoLimits:
        props = load_template().tables()
        schemas = key_schemas({name: spec.properties for name, spec in props.items()})
        return DynamoLimits(schemas, lambda: 0)

    def page(self, index: str | None, items: list[dict[str, Any]]) -> dict[str, Any]:
        limits = self.limits()
        context: dict[str, Any] = {}
        body = {"TableName": "StreamsTable" if index else "DeltasTable"}
        if index:
            body["IndexName"] = index
        limits.before_page(params={"body": json.dumps(body).encode()}, context=context)
        parsed = {"Items": items, "Count": len(items), "ScannedCount": len(items)}
        limits.after_page(parsed=parsed, context=context)
        return parsed

    def test_a_page_over_1_mb_is_cut_with_a_last_evaluated_key(self) -> None:
        items = [
            {"streamId": {"S": "s"}, "start": {"N": str(i)}, "parts": {"S": "x" * 300_000}}
            for i in range(5)
        ]
        parsed = self.page(None, items)
        assert parsed["Count"] == len(parsed["Items"]) == 3
        assert sum(item_size(i) for i in parsed["Items"]) <= MAX_PAGE_BYTES
        assert parsed["LastEvaluatedKey"] == {"streamId": {"S": "s"}, "start": {"N": "2"}}

    def test_an_index_page_resumes_from_the_index_and_table_keys(self) -> None:
        items = [
            {
                "streamId": {"S": f"s{i}"},
                "threadId": {"S": "t"},
                "statusOrder": {"S": f"streaming#{i}"},
                "x": {"S": "x" * 400_000},
            }
            for i in range(3)
        ]
        parsed = self.page("threadId-status-order-stepOrder", items)
        assert parsed["Count"] == 2
        assert set(parsed["LastEvaluatedKey"]) == {"threadId", "statusOrder", "streamId"}

    def test_a_page_under_1_mb_is_left_alone(self) -> None:
        items = [{"streamId": {"S": "s"}, "start": {"N": "0"}, "parts": {"S": "x"}}]
        assert "LastEvaluatedKey" not in self.page(None, items)

    def test_key_schemas_follow_the_template(self) -> None:
        schemas = key_schemas({n: s.properties for n, s in load_template().tables().items()})
        assert schemas["DeltasTable"] == KeySchema(("streamId", "start"), {})
        assert schemas["StreamsTable"].page_key("threadId-status-order-stepOrder") == (
            "threadId",
            "statusOrder",
            "streamId",
        )


class TestChunked:
    def read(self, data: bytes) -> bytes:
        return _read_chunked(io.BytesIO(data))

    def test_chunks_with_extensions_and_trailers(self) -> None:
        assert self.read(b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-T: 1\r\n\r\n") == b"abcde"

    @pytest.mark.parametrize(
        "data", [b"", b"3\r\nab", b"-1\r\n", b"0x3\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXY0\r\n\r\n"]
    )
    def test_malformed(self, data: bytes) -> None:
        with pytest.raises(_Refusal):
            self.read(data)


def test_claims_are_rendered_as_payload_2_renders_them() -> None:
    assert render_claim("x") == "x"
    assert render_claim(12) == "12"
    assert render_claim(1.5) == "1.5"
    assert render_claim(1700000000.0) == "1700000000"
    assert render_claim(False) == "false"
    assert render_claim(["a", 1, True]) == "[a 1 true]"
    assert render_claim({"k": [1]}) == '{"k":[1]}'
    assert render_claim(None) is None

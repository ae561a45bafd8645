"""The SAM template: least privilege, authorization by default, the index projection,
and one function per operation of the contract."""

from __future__ import annotations

from typing import Any

import pytest

from agent_streams.storage.keys import (
    PER_DELTA_STREAM_ATTRIBUTES,
    STREAM_INDEX_ATTRIBUTES,
    STREAM_INDEX_NAME,
)
from agent_streams_dev.local.template import load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE.resources

OPERATIONS = {
    "create_thread", "get_thread", "delete_thread", "create_stream", "list_streams", "list_deltas",
    "abort_streams_by_order", "delete_thread_streams", "streaming_messages", "get_stream", "add_delta",
    "heartbeat_stream", "finish_stream", "abort_stream", "delete_stream", "timeout_stream",
    "cleanup_stream", "delete_thread_streams_page",
}  # fmt: skip

#: Parts spilled to S3: written by the functions that take a delta, read (ListBucket: a
#: missing object is a 404, not a 403) by the readers, deleted with their streams.
SPILL_WRITE = {"s3:PutObject"}
SPILL_READ = {"s3:GetObject", "s3:ListBucket"}
SPILL_DELETE = {"s3:DeleteObject", "s3:ListBucket"}
#: The objects' ARNs; ListBucket is on the bucket itself.
SPILL_OBJECTS = "${SpillBucket.Arn}/parts/*"

#: What each function may do, and nothing more.
ALLOWED_ACTIONS = {
    "create_thread": {"dynamodb:PutItem"},
    "get_thread": {"dynamodb:GetItem"},
    "delete_thread": {"dynamodb:GetItem", "dynamodb:UpdateItem", "states:StartExecution", "states:DescribeExecution"},
    "create_stream": {"dynamodb:ConditionCheckItem", "dynamodb:GetItem", "dynamodb:PutItem",
                      "scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole"},
    "list_streams": {"dynamodb:Query", "dynamodb:GetItem"},
    "list_deltas": {"dynamodb:Query", "dynamodb:GetItem", *SPILL_READ},
    "abort_streams_by_order": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:Query", "scheduler:DeleteSchedule"},
    "delete_thread_streams": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
                              "dynamodb:Query", "scheduler:DeleteSchedule", "states:StartExecution",
                              *SPILL_DELETE},
    "streaming_messages": {"dynamodb:Query", "dynamodb:GetItem", *SPILL_READ},
    "get_stream": {"dynamodb:GetItem"},
    "add_delta": {"dynamodb:UpdateItem", "dynamodb:PutItem", *SPILL_WRITE},
    "heartbeat_stream": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    "finish_stream": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem",
                      "scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole", *SPILL_WRITE},
    "abort_stream": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:PutItem", "scheduler:DeleteSchedule",
                     *SPILL_WRITE},
    "delete_stream": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:Query",
                      "scheduler:DeleteSchedule", "states:StartExecution", *SPILL_DELETE},
    "timeout_stream": {"dynamodb:GetItem", "dynamodb:UpdateItem", "scheduler:CreateSchedule",
                       "scheduler:DeleteSchedule", "iam:PassRole"},
    "cleanup_stream": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem", "dynamodb:Query",
                       "scheduler:CreateSchedule", "scheduler:DeleteSchedule", "iam:PassRole", *SPILL_DELETE},
    "delete_thread_streams_page": {"dynamodb:GetItem", "dynamodb:UpdateItem", "dynamodb:BatchWriteItem",
                                   "dynamodb:Query", "scheduler:DeleteSchedule", *SPILL_DELETE},
}  # fmt: skip

READER_OPERATIONS = {
    "get_thread",
    "list_streams",
    "list_deltas",
    "streaming_messages",
    "get_stream",
}
#: Behind the JWT authorizer when there is one: the readers, and the abort routes (a
#: browser's stop button); the service checks the token's subject owns the thread.
JWT_OPERATIONS = READER_OPERATIONS | {"abort_stream", "abort_streams_by_order"}


def statements(policies: list[Any]) -> list[dict[str, Any]]:
    found = []
    for policy in policies:
        for statement in policy.get("Statement", []):
            found.append(statement)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resource_text(resource: Any) -> str:
    """A statement resource as text: a literal, a !Sub string, or a !GetAtt target."""
    if isinstance(resource, str):
        return resource
    if "Fn::Sub" in resource:
        return str(resource["Fn::Sub"])
    if "Fn::GetAtt" in resource:
        return "GetAtt:" + ".".join(resource["Fn::GetAtt"])
    if "Ref" in resource:
        return "Ref:" + resource["Ref"]
    raise AssertionError(f"unexpected resource {resource!r}")


FUNCTIONS = {spec.operation: spec for spec in TEMPLATE.functions().values()}


def function_resource(operation: str) -> dict[str, Any]:
    return RESOURCES[FUNCTIONS[operation].logical_id]


def test_one_function_per_operation_with_a_fixed_name() -> None:
    assert set(FUNCTIONS) == OPERATIONS
    for operation in OPERATIONS:
        props = function_resource(operation)["Properties"]
        assert props["FunctionName"] == {"Fn::Sub": f"${{AWS::StackName}}-{operation}"}
        assert (FUNCTIONS[operation].code_dir / "app.py").is_file()


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_function_gets_only_the_actions_it_needs(operation: str) -> None:
    props = function_resource(operation)["Properties"]
    found = statements(props["Policies"])
    actions = {a for s in found for a in as_list(s["Action"])}
    assert actions == ALLOWED_ACTIONS[operation]
    for statement in found:
        assert statement["Effect"] == "Allow"
        for action in as_list(statement["Action"]):
            assert "*" not in action
        for resource in as_list(statement["Resource"]):
            text = resource_text(resource)
            assert text != "*"
            assert text.startswith(
                ("GetAtt:", "arn:${AWS::Partition}:", "${StreamsTable.Arn}/index/", SPILL_OBJECTS)
            ), text
            if text.startswith("GetAtt:SpillBucket"):
                assert as_list(statement["Action"]) == ["s3:ListBucket"]
            if action_service(statement) == "s3" and statement["Action"] != ["s3:ListBucket"]:
                assert text == SPILL_OBJECTS


def action_service(statement: dict[str, Any]) -> str:
    (service,) = {a.split(":")[0] for a in as_list(statement["Action"])}
    return service


def test_the_spill_bucket_is_private_encrypted_tls_only_and_expires_parts() -> None:
    props = RESOURCES["SpillBucket"]["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    rules = {r["Id"]: r for r in props["LifecycleConfiguration"]["Rules"]}
    assert rules["expire-spilled-parts"] == {
        "Id": "expire-spilled-parts",
        "Status": "Enabled",
        "Prefix": "parts/",
        "ExpirationInDays": {"Ref": "SpillExpirationDays"},
    }
    policy = RESOURCES["SpillBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "SpillBucket"}
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:*"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert [resource_text(r) for r in statement["Resource"]] == [
        "GetAtt:SpillBucket.Arn",
        "${SpillBucket.Arn}/*",
    ]
    env = TEMPLATE.body["Globals"]["Function"]["Environment"]["Variables"]
    assert env["SPILL_BUCKET"] == {"Ref": "SpillBucket"}
    assert env["SPILL_EXPIRATION_DAYS"] == {"Ref": "SpillExpirationDays"}
    assert TEMPLATE.body["Outputs"]["SpillBucketName"]["Value"] == {"Ref": "SpillBucket"}


def test_resources_are_scoped_to_the_stack() -> None:
    for operation in OPERATIONS:
        for statement in statements(function_resource(operation)["Properties"]["Policies"]):
            for resource in as_list(statement["Resource"]):
                text = resource_text(resource)
                if text.startswith("GetAtt:"):
                    assert text.split(":")[1].split(".")[0] in RESOURCES
                elif "scheduler" in text:
                    assert text.endswith(":schedule/${StreamSchedules}/*")
                elif "states" in text:
                    assert "${AWS::StackName}-delete-thread-streams" in text
                elif "/index/" in text:
                    assert text.endswith(f"/index/{STREAM_INDEX_NAME}")


def test_the_scheduler_role_may_invoke_only_the_two_targets() -> None:
    role = RESOURCES["SchedulerRole"]["Properties"]
    (policy,) = role["Policies"]
    by_action = {s["Action"]: as_list(s["Resource"]) for s in policy["PolicyDocument"]["Statement"]}
    assert set(by_action) == {"lambda:InvokeFunction", "sqs:SendMessage"}
    targets = sorted(resource_text(r) for r in by_action["lambda:InvokeFunction"])
    assert [t.rsplit("-", 1)[1] for t in targets] == ["cleanup_stream", "timeout_stream"]


def test_the_state_machine_role_is_scoped() -> None:
    props = RESOURCES["DeleteThreadStreamsStateMachine"]["Properties"]
    policies = props["Policies"]
    assert policies[0] == {
        "LambdaInvokePolicy": {"FunctionName": {"Ref": "DeleteThreadStreamsPageFunction"}}
    }
    tables, logs = statements(policies[1:])
    assert set(tables["Action"]) == {"dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert resource_text(tables["Resource"]) == "GetAtt:ThreadsTable.Arn"
    # CloudWatch Logs delivery for Step Functions cannot be scoped (AWS requires "*").
    assert all(a.startswith("logs:") for a in logs["Action"])


def test_every_route_is_authorized_by_default() -> None:
    assert TEMPLATE.parameter_default("ApiAuthorization") == "AWS_IAM"
    assert TEMPLATE.parameter_default("JwtIssuer") == ""
    routes = TEMPLATE.of_type("AWS::ApiGatewayV2::Route")
    assert len(routes) == 15
    by_function = TEMPLATE.routes()
    for logical_id, route in routes.items():
        auth = route["Properties"]["AuthorizationType"]
        function_id = next(
            f for f, (m, p) in by_function.items() if f"{m} {p}" == route["Properties"]["RouteKey"]
        )
        operation = next(op for op, spec in FUNCTIONS.items() if spec.logical_id == function_id)
        authorizer = route["Properties"].get("AuthorizerId")
        if operation in JWT_OPERATIONS:
            assert auth == {"Fn::If": ["UseJwt", "JWT", {"Ref": "ApiAuthorization"}]}, logical_id
            assert authorizer == {
                "Fn::If": ["UseJwt", {"Ref": "JwtAuthorizer"}, {"Ref": "AWS::NoValue"}]
            }, logical_id
        else:
            assert auth == {"Ref": "ApiAuthorization"}, logical_id
            assert authorizer is None, logical_id


def test_the_jwt_authorizer_is_optional() -> None:
    authorizer = RESOURCES["JwtAuthorizer"]
    assert authorizer["Condition"] == "UseJwt"
    assert authorizer["Properties"]["AuthorizerType"] == "JWT"


def test_jwt_without_signed_writers_is_refused() -> None:
    """With a JWT issuer the writer routes outside the authorizer keep ApiAuthorization, so
    NONE would leave them open: the template's rule refuses that combination."""
    rule = TEMPLATE.body["Rules"]["JwtRequiresSignedWriters"]
    assert rule["RuleCondition"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "JwtIssuer"}, ""]}]}
    assert rule["Assertions"] == [
        {
            "Assert": {"Fn::Equals": [{"Ref": "ApiAuthorization"}, "AWS_IAM"]},
            "AssertDescription": rule["Assertions"][0]["AssertDescription"],
        }
    ]


@pytest.mark.parametrize("operation", sorted(JWT_OPERATIONS))
def test_functions_behind_the_jwt_authorizer_may_read_threads(operation: str) -> None:
    """The ownership check reads the thread: without GetItem on it, every JWT call fails."""
    found = statements(function_resource(operation)["Properties"]["Policies"])
    assert any(
        "dynamodb:GetItem" in as_list(s["Action"])
        and resource_text(s["Resource"]) == "GetAtt:ThreadsTable.Arn"
        for s in found
    ), operation


def test_the_index_projection_keeps_per_delta_writes_out() -> None:
    (index,) = TEMPLATE.tables()["StreamsTable"].properties["GlobalSecondaryIndexes"]
    assert index["IndexName"] == STREAM_INDEX_NAME
    projected = index["Projection"]["NonKeyAttributes"]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert tuple(projected) == STREAM_INDEX_ATTRIBUTES
    assert not set(projected) & set(PER_DELTA_STREAM_ATTRIBUTES)
    keys = {k["AttributeName"] for k in index["KeySchema"]}
    assert not keys & set(PER_DELTA_STREAM_ATTRIBUTES)


@pytest.mark.parametrize("table", ["ThreadsTable", "StreamsTable", "DeltasTable"])
def test_tables_are_on_demand_encrypted_and_recoverable(table: str) -> None:
    props = TEMPLATE.tables()[table].properties
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    if table != "ThreadsTable":
        assert props["TimeToLiveSpecification"] == {"AttributeName": "expiresAt", "Enabled": True}


def test_functions_do_not_log_events_or_parts_by_default() -> None:
    env = TEMPLATE.body["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert env["LOG_PARTS"] == {"Ref": "LogParts"}
    assert TEMPLATE.parameter_default("LogParts") == "false"


def test_every_function_has_a_log_group_with_retention() -> None:
    for operation in OPERATIONS:
        group = function_resource(operation)["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        assert RESOURCES[group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}

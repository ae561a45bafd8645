"""The SAM template: least privilege, authorization by default, the index projection,
and one function per operation of the contract."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agent_streams.observability import METRICS, SERVICE
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
    "cleanup_stream", "delete_thread_streams_page", "get_stream_message", "publish_events",
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
    "get_stream_message": {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", *SPILL_READ},
    "publish_events": {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator",
                       "dynamodb:ListStreams", "dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:PutItem",
                       "dynamodb:BatchWriteItem", "events:PutEvents", "sqs:SendMessage", *SPILL_READ},
}  # fmt: skip

READER_OPERATIONS = {
    "get_thread",
    "list_streams",
    "list_deltas",
    "streaming_messages",
    "get_stream",
    "get_stream_message",
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
#: Every function the template makes — the operations' and any other, such as the live
#: reads' web app (a ``.sh`` handler under the Lambda Web Adapter): what alarms and the
#: dashboard must cover.
ALL_FUNCTIONS = sorted(TEMPLATE.of_type("AWS::Serverless::Function"))


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
                (
                    "GetAtt:",
                    "arn:${AWS::Partition}:",
                    "${StreamsTable.Arn}/index/",
                    "${StreamsTable.Arn}/stream/",
                    "${ThreadsTable.Arn}/stream/",
                    SPILL_OBJECTS,
                )
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
                elif text.startswith("arn:${AWS::Partition}:events:"):
                    assert text.endswith(":event-bus/${EventBusName}")


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
    assert len(routes) == 16
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


# -- lifecycle events -----------------------------------------------------------------------


def test_the_streams_and_threads_tables_record_old_and_new_images() -> None:
    for table in ("StreamsTable", "ThreadsTable"):
        assert TEMPLATE.tables()[table].stream_view_type == "NEW_AND_OLD_IMAGES"
    assert TEMPLATE.tables()["DeltasTable"].stream_view_type is None  # no records per delta


def test_the_event_source_mappings_filter_out_everything_but_transitions_and_removals() -> None:
    from agent_streams_dev.local.event_sources import Filters

    by_table = {m.table_id: m for m in TEMPLATE.event_source_mappings()}
    assert set(by_table) == {"StreamsTable", "ThreadsTable"}
    for mapping in by_table.values():
        assert mapping.function_id == FUNCTIONS["publish_events"].logical_id
        assert mapping.report_batch_item_failures
        assert mapping.bisect_on_error
        assert mapping.maximum_retry_attempts > 0
        assert mapping.on_failure_id == "EventsDeadLetterQueue"
        assert mapping.starting_position == "TRIM_HORIZON"
    streams = Filters(by_table["StreamsTable"].filters)

    def record(name: str, old: str | None, new: str | None) -> dict[str, Any]:
        images: dict[str, Any] = {}
        if old is not None:
            images["OldImage"] = {"status": {"S": old}, "nextStart": {"N": "4"}}
        if new is not None:
            images["NewImage"] = {"status": {"S": new}, "nextStart": {"N": "5"}}
        return {"eventName": name, "dynamodb": {"Keys": {"streamId": {"S": "s"}}, **images}}

    assert streams.passes(record("MODIFY", "streaming", "finished"))
    assert streams.passes(record("MODIFY", "streaming", "aborted"))
    assert streams.passes(record("REMOVE", "finished", None))
    assert not streams.passes(record("MODIFY", "streaming", "streaming"))  # a delta, a heartbeat
    assert not streams.passes(record("MODIFY", "finished", "finished"))  # the snapshot's count
    assert not streams.passes(record("INSERT", None, "streaming"))
    threads = Filters(by_table["ThreadsTable"].filters)
    assert threads.passes({"eventName": "REMOVE", "dynamodb": {}})
    assert not threads.passes({"eventName": "MODIFY", "dynamodb": {}})


def test_the_bus_is_a_parameter_the_default_bus_by_default() -> None:
    assert TEMPLATE.parameter_default("EventBusName") == "default"
    env = function_resource("publish_events")["Properties"]["Environment"]["Variables"]
    assert env["EVENT_BUS_NAME"] == {"Ref": "EventBusName"}


# -- operations: alarms, dashboard, environment ---------------------------------------

NOTIFY = {"Fn::If": ["NotifyAlarms", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}
ALARMS = TEMPLATE.of_type("AWS::CloudWatch::Alarm")


def alarm_metrics(alarm: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(namespace, metric, dimensions) of every metric an alarm reads."""
    props = alarm["Properties"]
    if "MetricName" in props:
        found = [(props["Namespace"], props["MetricName"], props["Dimensions"])]
    else:
        found = [
            (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"],
             q["MetricStat"]["Metric"]["Dimensions"])
            for q in props["Metrics"] if "MetricStat" in q
        ]  # fmt: skip
    return [(ns, name, {d["Name"]: d["Value"] for d in dims}) for ns, name, dims in found]


def test_alarms_notify_the_topic_only_when_one_is_given() -> None:
    assert TEMPLATE.parameter_default("AlarmTopicArn") == ""
    assert TEMPLATE.body["Conditions"]["NotifyAlarms"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    assert len(ALARMS) == 2 * len(ALL_FUNCTIONS) + 6
    for logical_id, alarm in ALARMS.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == NOTIFY, logical_id
        assert props["OKActions"] == NOTIFY, logical_id
        assert "InsufficientDataActions" not in props, logical_id
        assert props["AlarmDescription"], logical_id
        assert "TreatMissingData" in props, logical_id


def test_functions_outside_the_operations_are_covered_too() -> None:
    assert "StreamEventsFunction" in ALL_FUNCTIONS
    assert len(ALL_FUNCTIONS) == len(OPERATIONS) + 1


@pytest.mark.parametrize("logical_id", ALL_FUNCTIONS)
def test_every_function_has_its_errors_and_throttles_alarms(logical_id: str) -> None:
    function = {"Ref": logical_id}
    name = RESOURCES[logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
    operation = name.removeprefix("${AWS::StackName}-")
    by_metric = {}
    for alarm in ALARMS.values():
        for namespace, name, dims in alarm_metrics(alarm):
            if namespace == "AWS/Lambda" and dims == {"FunctionName": function}:
                by_metric[name] = alarm["Properties"]
    assert set(by_metric) == {"Errors", "Throttles"}
    errors, throttles = by_metric["Errors"], by_metric["Throttles"]
    assert (errors["Statistic"], errors["Period"], errors["EvaluationPeriods"]) == ("Sum", 300, 1)
    assert errors["Threshold"] == {"Ref": "FunctionErrorThreshold"}
    assert errors["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert (throttles["Statistic"], throttles["Period"], throttles["Threshold"]) == ("Sum", 300, 0)
    assert throttles["ComparisonOperator"] == "GreaterThanThreshold"
    assert errors["TreatMissingData"] == throttles["TreatMissingData"] == "notBreaching"
    assert operation in str(errors["AlarmDescription"])


def test_the_scheduler_dead_letter_queue_alarms_on_any_message() -> None:
    props = ALARMS["SchedulerDeadLetterQueueAlarm"]["Properties"]
    assert alarm_metrics(ALARMS["SchedulerDeadLetterQueueAlarm"]) == [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
         {"QueueName": {"Fn::GetAtt": ["SchedulerDeadLetterQueue", "QueueName"]}}),
    ]  # fmt: skip
    assert (props["Statistic"], props["Threshold"], props["ComparisonOperator"]) == (
        "Maximum", 0, "GreaterThanThreshold",
    )  # fmt: skip
    # SQS stops reporting an idle queue: a message left there must keep the alarm on.
    assert props["TreatMissingData"] == "ignore"


def test_the_events_dead_letter_queue_alarms_on_any_message() -> None:
    alarm = ALARMS["EventsDeadLetterQueueAlarm"]
    props = alarm["Properties"]
    assert alarm_metrics(alarm) == [
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible",
         {"QueueName": {"Fn::GetAtt": ["EventsDeadLetterQueue", "QueueName"]}}),
    ]  # fmt: skip
    assert (props["Statistic"], props["Threshold"], props["TreatMissingData"]) == (
        "Maximum", 0, "ignore",
    )  # fmt: skip


def test_thread_deletions_that_do_not_succeed_raise_an_alarm() -> None:
    alarm = ALARMS["DeleteThreadStreamsExecutionsAlarm"]
    machine = {"StateMachineArn": {"Ref": "DeleteThreadStreamsStateMachine"}}
    assert sorted(alarm_metrics(alarm), key=str) == sorted(
        [("AWS/States", name, machine)
         for name in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")], key=str,
    )  # fmt: skip
    (expression,) = [q for q in alarm["Properties"]["Metrics"] if q.get("ReturnData")]
    assert expression["Expression"] == "SUM(FILL(METRICS(), 0))"


def table_operations(table: str) -> set[str]:
    """Every DynamoDB operation a policy of the template grants on ``table`` or its index."""
    granted: set[str] = set()
    policies = [function_resource(op)["Properties"]["Policies"] for op in OPERATIONS]
    policies.append(RESOURCES["DeleteThreadStreamsStateMachine"]["Properties"]["Policies"])
    for statement in (s for p in policies for s in statements(p)):
        for resource in as_list(statement["Resource"]):
            text = resource_text(resource)
            if text == f"GetAtt:{table}.Arn" or text.startswith(f"${{{table}.Arn}}/index/"):
                granted.update(a.split(":")[1] for a in as_list(statement["Action"]))
    # A condition check only happens inside a transaction, and every table takes part in one.
    return (granted - {"ConditionCheckItem"}) | {"TransactWriteItems"}


@pytest.mark.parametrize("table", ["ThreadsTable", "StreamsTable", "DeltasTable"])
def test_each_table_has_a_throttling_alarm_over_what_is_done_with_it(table: str) -> None:
    alarm = ALARMS[f"{table}ThrottlesAlarm"]
    found = alarm_metrics(alarm)
    assert len(found) <= 10  # CloudWatch's limit for a metric math alarm
    assert all(namespace == "AWS/DynamoDB" for namespace, _, _ in found)
    requests = {d["Operation"] for _, name, d in found if name == "ThrottledRequests"}
    assert requests == table_operations(table)
    events = {(name, d.get("GlobalSecondaryIndexName")) for _, name, d in found if "Events" in name}
    indexes = [None] + [
        index["IndexName"]
        for index in TEMPLATE.tables()[table].properties.get("GlobalSecondaryIndexes", [])
    ]
    assert events == {(f"{kind}ThrottleEvents", i) for kind in ("Read", "Write") for i in indexes}
    assert all(d["TableName"] == {"Ref": table} for _, _, d in found)
    props = alarm["Properties"]
    assert (props["EvaluationPeriods"], props["DatapointsToAlarm"]) == (5, 3)


# The dashboard: its body is JSON with ${...} references, each one a resource, a resource
# attribute or a pseudo parameter of the template.
PSEUDO_PARAMETERS = {"AWS::StackName", "AWS::Region", "AWS::AccountId", "AWS::Partition"}


def dashboard() -> tuple[dict[str, Any], set[str]]:
    props = TEMPLATE.resources["Dashboard"]["Properties"]
    text = props["DashboardBody"]["Fn::Sub"]
    assert isinstance(text, str)
    references = set(re.findall(r"\$\{([^}]+)\}", text))
    body = json.loads(re.sub(r"\$\{([^}]+)\}", lambda m: f"<{m.group(1)}>", text))
    return body, references


def dashboard_metrics() -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    body, _ = dashboard()
    found = []
    for widget in body["widgets"]:
        for row in widget["properties"].get("metrics", []):
            options = row[-1] if isinstance(row[-1], dict) else {}
            fields = row[:-1] if options else row
            namespace, name, *dims = fields
            found.append((namespace, name, dict(zip(dims[::2], dims[1::2], strict=True)), options))
    return found


def test_the_dashboard_refers_only_to_what_the_template_makes() -> None:
    body, references = dashboard()
    for reference in references:
        logical_id = reference.split(".")[0]
        assert reference in PSEUDO_PARAMETERS or logical_id in RESOURCES, reference
    for widget in body["widgets"]:
        assert widget["x"] + widget["width"] <= 24
        if widget["type"] == "graph":
            assert widget["properties"]["region"] == "<AWS::Region>"


def test_the_dashboard_shows_the_metrics_the_functions_publish() -> None:
    shown = {(name, tuple(sorted(dims.items()))) for ns, name, dims, _ in dashboard_metrics()
             if ns == "AgentStreams"}  # fmt: skip
    names = {name for name, _ in shown}
    # Each one a name the code counts (observability.METRICS, checked against the code by
    # tests/unit/test_observability.py), and every one of them shown.
    assert names == set(METRICS)
    # The dimensions Powertools emits: service (observability.SERVICE) and stack.
    for _, dims in shown:
        assert dict(dims) == {"service": SERVICE, "stack": "<AWS::StackName>"}


def test_the_dashboard_shows_every_function_and_the_stack_resources() -> None:
    lambda_rows = [(name, dims["FunctionName"], opts) for ns, name, dims, opts in dashboard_metrics()
                   if ns == "AWS/Lambda"]  # fmt: skip
    functions = {f"<{logical_id}>" for logical_id in ALL_FUNCTIONS}
    for metric in ("Duration", "Errors", "Throttles"):
        assert {f for name, f, _ in lambda_rows if name == metric} == functions, metric
    by_namespace: dict[str, set[str]] = {}
    for ns, _, dims, _ in dashboard_metrics():
        by_namespace.setdefault(ns, set()).update(dims.values())
    assert by_namespace["AWS/DynamoDB"] >= {"<ThreadsTable>", "<StreamsTable>", "<DeltasTable>"}
    assert by_namespace["AWS/SQS"] == {
        "<SchedulerDeadLetterQueue.QueueName>",
        "<EventsDeadLetterQueue.QueueName>",
    }
    assert by_namespace["AWS/States"] == {"<DeleteThreadStreamsStateMachine>"}
    assert by_namespace["AWS/ApiGateway"] == {"<HttpApi>"}
    # S3's daily storage metrics of the spill bucket.
    assert by_namespace["AWS/S3"] == {"<SpillBucket>", "AllStorageTypes", "StandardStorage"}
    assert set(by_namespace) == {"AgentStreams", "AWS/Lambda", "AWS/DynamoDB", "AWS/SQS",
                                 "AWS/States", "AWS/ApiGateway", "AWS/S3"}  # fmt: skip


def test_the_dashboard_shows_p50_and_p99_durations() -> None:
    body, _ = dashboard()
    stats = {w["properties"]["stat"] for w in body["widgets"]
             if any(row[1] == "Duration" and row[0] == "AWS/Lambda"
                    for row in w["properties"].get("metrics", []))}  # fmt: skip
    assert stats == {"p50", "p99"}


def test_functions_know_their_stack_and_take_an_endpoint_only_when_given() -> None:
    env = TEMPLATE.body["Globals"]["Function"]["Environment"]["Variables"]
    assert env["STACK_NAME"] == {"Ref": "AWS::StackName"}
    # Declared for every function (sam local's --env-vars can only set declared variables);
    # empty by default, which botocore takes for no endpoint.
    assert env["AWS_ENDPOINT_URL"] == {"Ref": "AwsEndpointUrl"}
    assert TEMPLATE.parameter_default("AwsEndpointUrl") == ""

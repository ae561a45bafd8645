"""The template's resources, made at an AWS endpoint (created if missing)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent_streams.config import Settings
from agent_streams_dev.local.buckets import ensure_buckets
from agent_streams_dev.local.functions import ACCOUNT_ID, LocalFunctions
from agent_streams_dev.local.template import Template, substitute

#: Parameters the local stack sets differently from the template's defaults.
LOCAL_PARAMETERS = {
    # moto's index is updated with the table, so there is nothing to wait for.
    "IndexSettleSeconds": "0",
}


@dataclass(frozen=True)
class StackResources:
    settings: Settings
    state_machine_arn: str
    table_names: dict[str, str]
    #: The state machine's definition, substitutions applied.
    definition: dict[str, Any]
    #: The tables' DynamoDB stream ARNs, by logical id (tables with a stream).
    stream_arns: dict[str, str]
    #: The queues (by logical id) the event source mappings send failed batches to.
    queue_urls: dict[str, str]


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def ensure_resources(
    template: Template,
    functions: LocalFunctions,
    *,
    stack_name: str,
    region: str,
    clients: Any,
    parameters: Mapping[str, str] | None = None,
) -> StackResources:
    """Create (or find) the tables, bucket, schedule group, DLQ and state machine of the
    template (deployed with ``parameters``).

    ``clients(service)`` returns a boto3 client for the endpoint.
    """
    dynamodb = clients("dynamodb")
    table_names = {logical_id: f"{stack_name}-{logical_id}" for logical_id in template.tables()}
    existing = set(dynamodb.list_tables().get("TableNames", []))
    stream_arns: dict[str, str] = {}
    for logical_id, spec in template.tables().items():
        name = table_names[logical_id]
        if name not in existing:
            dynamodb.create_table(**spec.create_table_kwargs(name))
            dynamodb.get_waiter("table_exists").wait(TableName=name)
            if spec.ttl_attribute:
                dynamodb.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={"AttributeName": spec.ttl_attribute, "Enabled": True},
                )
        if spec.stream_view_type:
            table = dynamodb.describe_table(TableName=name)["Table"]
            if not (table.get("StreamSpecification") or {}).get("StreamEnabled"):
                # A table made before it had a stream: CloudFormation would add it.
                dynamodb.update_table(
                    TableName=name,
                    StreamSpecification={
                        "StreamEnabled": True,
                        "StreamViewType": spec.stream_view_type,
                    },
                )
                table = dynamodb.describe_table(TableName=name)["Table"]
            stream_arns[logical_id] = str(table["LatestStreamArn"])

    buckets = ensure_buckets(
        template, clients("s3"), stack_name=stack_name, region=region, parameters=parameters
    )
    deployed = template.evaluator(parameters).parameters

    group = f"{stack_name}-streams"
    try:
        clients("scheduler").create_schedule_group(Name=group)
    except Exception as exc:
        if _error_code(exc) != "ConflictException":
            raise
    sqs = clients("sqs")
    queue_url = sqs.create_queue(QueueName=f"{stack_name}-scheduler-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{stack_name}-local"
    queue_urls = {
        mapping.on_failure_id: sqs.create_queue(QueueName=f"{stack_name}-{mapping.on_failure_id}")[
            "QueueUrl"
        ]
        for mapping in template.event_source_mappings()
        if mapping.on_failure_id is not None
    }

    path, substitutions = template.state_machine()

    def resolve(value: Any) -> str:
        if isinstance(value, dict) and "Ref" in value:
            ref = value["Ref"]
            if ref in table_names:
                return table_names[ref]
            if ref in LOCAL_PARAMETERS:
                return LOCAL_PARAMETERS[ref]
            return str(template.parameter_default(ref))
        if isinstance(value, dict) and "Fn::GetAtt" in value:
            logical_id, attribute = value["Fn::GetAtt"]
            for function in functions.by_operation.values():
                if function.spec.logical_id == logical_id and attribute == "Arn":
                    return function.arn
        if isinstance(value, str):
            return value
        raise ValueError(f"cannot resolve {value!r} locally")

    definition = substitute(
        path.read_text(encoding="utf-8"), {k: resolve(v) for k, v in substitutions.items()}
    )
    parsed = json.loads(definition)  # a substitution gone wrong shows here, not in an execution
    sfn = clients("stepfunctions")
    machine_name = f"{stack_name}-delete-thread-streams"
    machine_arn = next(
        (
            m["stateMachineArn"]
            for m in sfn.list_state_machines()["stateMachines"]
            if m["name"] == machine_name
        ),
        None,
    )
    if machine_arn is None:
        machine_arn = sfn.create_state_machine(
            name=machine_name, definition=definition, roleArn=role_arn, type="STANDARD"
        )["stateMachineArn"]
    else:
        sfn.update_state_machine(stateMachineArn=machine_arn, definition=definition)

    settings = Settings(
        threads_table=table_names["ThreadsTable"],
        streams_table=table_names["StreamsTable"],
        deltas_table=table_names["DeltasTable"],
        schedule_group=group,
        scheduler_role_arn=role_arn,
        scheduler_dlq_arn=dlq_arn,
        timeout_function_arn=functions.arn("timeout_stream"),
        cleanup_function_arn=functions.arn("cleanup_stream"),
        delete_thread_state_machine_arn=machine_arn,
        retention_days=int(deployed["RetentionDays"]),
        spill_bucket=buckets["SpillBucket"],
        spill_expiration_days=int(deployed["SpillExpirationDays"]),
        event_bus_name=str(deployed.get("EventBusName") or "default"),
        stack_name=stack_name,
        region=region,
    )
    return StackResources(settings, machine_arn, table_names, parsed, stream_arns, queue_urls)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The environment variables a deployed function would get for these settings."""
    return {
        "THREADS_TABLE": settings.threads_table,
        "STREAMS_TABLE": settings.streams_table,
        "DELTAS_TABLE": settings.deltas_table,
        "SCHEDULE_GROUP": settings.schedule_group,
        "SCHEDULER_ROLE_ARN": settings.scheduler_role_arn,
        "SCHEDULER_DLQ_ARN": settings.scheduler_dlq_arn,
        "TIMEOUT_FUNCTION_ARN": settings.timeout_function_arn,
        "CLEANUP_FUNCTION_ARN": settings.cleanup_function_arn,
        "DELETE_THREAD_STATE_MACHINE_ARN": settings.delete_thread_state_machine_arn,
        "RETENTION_DAYS": str(settings.retention_days),
        "SPILL_BUCKET": settings.spill_bucket,
        "SPILL_EXPIRATION_DAYS": str(settings.spill_expiration_days),
        "EVENT_BUS_NAME": settings.event_bus_name,
        "STACK_NAME": settings.stack_name,
    }

"""``agent-streams create-resources``: the stack's AWS resources at an endpoint, for sam local.

``sam local invoke`` and ``sam local start-api`` run each function in Docker with the
template's environment, where ``!Ref ThreadsTable`` is just ``ThreadsTable``, and send its
AWS calls to ``AWS_ENDPOINT_URL`` (a moto server). This creates at that endpoint what the
template would: the tables and their index, the spill bucket, the schedule group, the
scheduler's dead-letter queue and the state machine, named ``<stack>-<LogicalId>`` (the
bucket in lower case) as ``agent-streams local --aws-endpoint`` names them and as
``local.env.json`` (sam local's ``--env-vars``) expects them for the default stack name.
Running it again changes nothing.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

DEFAULT_STACK_NAME = "agent-streams-local"
DEFAULT_REGION = "us-east-1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--aws-endpoint",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="the endpoint to create them at, e.g. a moto server (default: AWS_ENDPOINT_URL)",
    )
    parser.add_argument(
        "--stack-name",
        default=DEFAULT_STACK_NAME,
        help=f"prefix of resource names (default {DEFAULT_STACK_NAME}, as in local.env.json)",
    )
    parser.add_argument("--region", default=DEFAULT_REGION, help="default us-east-1")
    parser.add_argument(
        "--sample-data",
        action="store_true",
        help="also create the thread and the stream the sample events in events/ name",
    )


def run(args: argparse.Namespace) -> int:
    endpoint = args.aws_endpoint
    if not endpoint:
        raise SystemExit("create-resources: give --aws-endpoint URL (or set AWS_ENDPOINT_URL)")
    # Any credentials do for a local endpoint; the service's own clients read these too.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        os.environ.setdefault(name, "local")
    os.environ.update(
        {"AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": args.region, "AWS_REGION": args.region}
    )
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

    import boto3

    from agent_streams_dev.local.functions import LocalFunctions
    from agent_streams_dev.local.resources import ensure_resources
    from agent_streams_dev.local.template import load_template

    session: Any = boto3.session.Session(region_name=args.region)

    def clients(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)

    template = load_template()
    functions = LocalFunctions(template, args.stack_name, args.region)
    resources = ensure_resources(
        template, functions, stack_name=args.stack_name, region=args.region, clients=clients
    )
    settings = resources.settings
    print(f"at {endpoint} ({args.region}):")
    for logical_id, name in resources.table_names.items():
        print(f"  table {name} ({logical_id})")
    print(f"  bucket {settings.spill_bucket} (SpillBucket)")
    print(f"  schedule group {settings.schedule_group}")
    print(f"  dead-letter queue {settings.scheduler_dlq_arn}")
    print(f"  state machine {resources.state_machine_arn}")
    if args.sample_data:
        from agent_streams.aws import reset_clients
        from agent_streams.service.context import aws_services, use_services
        from agent_streams_dev.local.sample_data import ensure_sample_data

        reset_clients()
        use_services(aws_services(settings))
        try:
            created = ensure_sample_data()
        finally:
            use_services(None)
        print("  sample data: " + (", ".join(created) or "already there"))
    return 0

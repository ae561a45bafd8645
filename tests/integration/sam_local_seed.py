"""The state each sample event needs, set at the endpoint sam local's functions use.

``python -m tests.integration.sam_local_seed``, run with a function's ``sam local``
environment (its table names, ``AWS_ENDPOINT_URL``): for each operation it reads on stdin it
empties the three tables and replays the story the events tell up to that operation (the
steps of ``tests/integration/test_events.py``, from the events' own direct-invoke arguments,
the service's id generators pinned to the events' ids), through the service, at that
endpoint; then it answers ``ok`` (or ``error: ...``) on stdout.

The story is backdated: its clock starts 11 minutes ago, so that a stream silent "for ten
minutes" or finished "five minutes ago" is so by the real clock the function runs on.
"""

from __future__ import annotations

import sys
import time
import traceback
import types
from typing import Any

BACKDATE_MS = 11 * 60 * 1000


def empty_tables(dynamodb: Any, names: list[str]) -> None:
    for name in names:
        keys = [
            k["AttributeName"]
            for k in dynamodb.describe_table(TableName=name)["Table"]["KeySchema"]
        ]
        for page in dynamodb.get_paginator("scan").paginate(TableName=name):
            for item in page["Items"]:
                dynamodb.delete_item(TableName=name, Key={k: item[k] for k in keys})


def main() -> None:
    import boto3

    from agent_streams.config import settings_from_env
    from agent_streams.service.context import aws_services, use_services
    from agent_streams_dev.local.sample_data import pinned_ids
    from tests.fakes import ManualClock
    from tests.integration.test_events import BEFORE, STREAM, THREAD

    settings = settings_from_env()
    dynamodb = boto3.client("dynamodb", region_name=settings.region)
    tables = [settings.threads_table, settings.streams_table, settings.deltas_table]
    for line in sys.stdin:
        operation = line.strip()
        try:
            empty_tables(dynamodb, tables)
            clock = ManualClock(int(time.time() * 1000) - BACKDATE_MS)
            use_services(aws_services(settings, clock))
            with pinned_ids(THREAD, STREAM):
                BEFORE[operation](types.SimpleNamespace(clock=clock))  # type: ignore[arg-type]
            answer = "ok"
        except Exception:
            answer = "error: " + traceback.format_exc().replace("\n", " | ")
        finally:
            use_services(None)
        print(answer, flush=True)


if __name__ == "__main__":
    main()

"""Sleeps ``sleep`` seconds, then writes a marker item to the Threads table with the
runtime's own DynamoDB client — from its thread, or through a thread pool (``via=pool``)."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from agent_streams import aws

POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="strict-sleep")


def _write(marker: str) -> None:
    aws.client("dynamodb").put_item(
        TableName=os.environ["THREADS_TABLE"],
        Item={"threadId": {"S": marker}, "status": {"S": "marker"}},
    )


def handler(event: dict[str, Any], context: Any) -> Any:
    args = event.get("queryStringParameters") or {} if "requestContext" in event else event
    time.sleep(float(args.get("sleep", 0)))
    if args.get("via") == "pool":
        POOL.submit(_write, str(args["marker"])).result()
    else:
        _write(str(args["marker"]))
    return {"statusCode": 200, "body": '{"written": true}'}

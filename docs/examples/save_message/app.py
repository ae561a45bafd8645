"""A target of the sample rule in docs/events.md: saves each finished reply's final message.

EventBridge invokes it with a ``Stream Finished`` event. It reads the message with one
direct invoke of the agent-streams stack's ``get_stream_message`` (IAM, no HTTP
signing; answered from the snapshot) and puts it in a table of the application's
own, keyed by thread and stream. Delivery is at least once: putting the same item
again is harmless.
"""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any


@cache
def _clients() -> tuple[Any, Any]:
    import boto3

    return boto3.client("lambda"), boto3.client("dynamodb")


def handler(event: dict[str, Any], context: Any) -> None:
    detail = event["detail"]
    lambda_client, dynamodb = _clients()
    reply = lambda_client.invoke(
        FunctionName=f"{os.environ['AGENT_STREAMS_STACK']}-get_stream_message",
        Payload=json.dumps({"streamId": detail["streamId"]}).encode(),
    )
    payload = reply["Payload"].read()
    if reply.get("FunctionError"):
        # StreamNotFound: the stream's retention ran out before this ran (raise it with
        # retentionSeconds); anything else is tried again by EventBridge.
        raise RuntimeError(f"get_stream_message failed: {payload[:500]!r}")
    message = json.loads(payload)
    dynamodb.put_item(
        TableName=os.environ["MESSAGES_TABLE"],
        Item={
            "threadId": {"S": detail["threadId"]},
            "streamId": {"S": detail["streamId"]},
            "order": {"N": str(detail["order"])},
            "stepOrder": {"N": str(detail["stepOrder"])},
            # Up to 400 KB in an item: a longer reply belongs in S3.
            "uiMessage": {"S": json.dumps(message["uiMessage"], ensure_ascii=False)},
        },
    )

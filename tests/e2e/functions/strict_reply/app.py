"""Replies with ``size`` copies of ``char``: as an HTTP body, or as a direct invoke's value."""

from __future__ import annotations

from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    args = event.get("queryStringParameters") or {} if "requestContext" in event else event
    text = str(args.get("char", "x")) * int(args.get("size", 0))
    if "requestContext" not in event:
        return text
    return {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": text}

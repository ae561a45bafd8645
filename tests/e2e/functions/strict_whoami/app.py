"""Echoes what API Gateway put in ``requestContext.authorizer``."""

from __future__ import annotations

import json
from typing import Any


def handler(event: dict[str, Any], context: Any) -> Any:
    authorizer = event["requestContext"].get("authorizer")
    return {"statusCode": 200, "body": json.dumps({"authorizer": authorizer})}

"""botocore clients, created on first use and shared by the process.

boto3 is not imported: the layer talks to AWS through botocore (PynamoDB does
too), which keeps cold starts short. ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_<SERVICE>`` variables are honoured by botocore itself.

Every client comes from one botocore session, and DynamoDB has one client,
PynamoDB's included (see ``storage.models``): a session's first client loads the
endpoint data and resolves credentials, which costs several times what a second
client of the same session does, so a function that calls DynamoDB and Scheduler
pays that once.

botocore makes one attempt per call: retries are :mod:`agent_streams.retries`'s,
which knows the invocation's deadline (botocore's own backoff does not, and can
sleep past it) and DynamoDB's cancellation reasons (which botocore never retries).
"""

from __future__ import annotations

import os
import threading
from typing import Any

#: Held while a client is created: botocore's client creation is not thread-safe.
creating_lock = threading.RLock()
_clients: dict[tuple[str, str | None], Any] = {}
_session: Any = None

#: Connections per client: DynamoDB reads up to 16 streams at once (list_deltas), S3
#: up to 16 spilled parts.
_POOL_SIZES = {"dynamodb": 32, "s3": 16}


def _service_config(service: str) -> dict[str, Any]:
    """Client options of one service. S3 at an endpoint of one's own (moto, LocalStack)
    is addressed by path: ``bucket.localhost`` need not resolve; AWS itself keeps
    botocore's choice (virtual-hosted)."""
    if service == "s3" and (
        os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    ):
        return {"s3": {"addressing_style": "path"}}
    return {}


def session() -> Any:
    """The process's botocore session."""
    global _session
    with creating_lock:
        if _session is None:
            import botocore.session

            _session = botocore.session.get_session()
        return _session


def client(service: str, region: str | None = None) -> Any:
    key = (service, region)
    found = _clients.get(key)
    if found is not None:
        return found
    with creating_lock:
        found = _clients.get(key)
        if found is None:
            import botocore.config

            found = session().create_client(
                service,
                region_name=region,
                config=botocore.config.Config(
                    retries={"mode": "standard", "total_max_attempts": 1},
                    connect_timeout=3,
                    read_timeout=10,
                    max_pool_connections=_POOL_SIZES.get(service, 10),
                    **_service_config(service),
                ),
            )
            _clients[key] = found
        return found


def reset_clients() -> None:
    """Forget every client (tests and the local stack, after the endpoint changed)."""
    global _session
    with creating_lock:
        _clients.clear()
        _session = None


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        return None if code is None else str(code)
    return None


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of the reply a botocore ``ClientError`` came from."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return None if status is None else int(status)
    return None

"""botocore clients, created on first use and shared by the process.

boto3 is not imported: the layer talks to AWS through botocore (PynamoDB does
too), which keeps cold starts short. ``AWS_ENDPOINT_URL`` and the per-service
``AWS_ENDPOINT_URL_<SERVICE>`` variables are honoured by botocore itself.

Every client comes from one botocore session, and DynamoDB has one client,
PynamoDB's included (see ``storage.models``): a session's first client loads the
endpoint data and resolves credentials, which costs several times what a second
client of the same session does, so a function that calls DynamoDB and Scheduler
pays that once. The session loads its data through :func:`_service_loader`'s
loader, which skips botocore's survey of every service on disk.

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

            from agent_streams import heap

            made = botocore.session.get_session()
            made.register_component("data_loader", _service_loader(made))
            # The SDK has loaded once a call has completed (every client of the session
            # inherits its handlers).
            made.register("after-call", heap.resume, unique_id="agent-streams-heap")
            _session = made
        return _session


def _service_loader(session: Any) -> Any:
    """botocore's data loader for ``session``'s data path, minus two costs of a cold start.

    - The survey: before it loads a service's model, botocore's loader lists every service
      it could load, opening each of the ~420 folders of its data path to check it holds a
      file of the wanted type (~2,000 file-system calls, for ``service-2`` and again for
      ``endpoint-rule-set-1``). This one takes the folders as the list; a name without the
      wanted file still fails when its versions are listed, with ``DataNotFoundError``
      (botocore's ``UnknownServiceError`` is one).
    - Ordered dicts: botocore parses its JSON with ``object_pairs_hook=OrderedDict``, a
      Python call per object, which doubles the cost of its largest file (the endpoints,
      1.2 MB). Plain dicts keep their order too, and nothing in botocore needs more.

    Together about half of creating the first client. Both are public extension points
    of botocore (``Loader``'s ``file_loader``, the session's ``data_loader`` component).
    """
    import gzip
    import json

    from botocore.loaders import JSONFileLoader, Loader, instance_cache

    class PlainJSONFileLoader(JSONFileLoader):
        OPENERS = ((".json", open), (".json.gz", gzip.open))

        def load_file(self, file_path: str) -> Any:
            for extension, opener in self.OPENERS:
                full_path = file_path + extension
                if os.path.isfile(full_path):
                    with opener(full_path, "rb") as handle:
                        return json.loads(handle.read().decode("utf-8"))
            return None

    class ServiceLoader(Loader):
        @instance_cache
        def list_available_services(self, type_name: str) -> list[str]:
            found: set[str] = set()
            for path in self.search_paths:
                if os.path.isdir(path):
                    with os.scandir(path) as entries:
                        found.update(entry.name for entry in entries if entry.is_dir())
            return sorted(found)

    # As botocore's create_loader reads AWS_DATA_PATH (the session's data_path).
    data_path = session.get_config_variable("data_path")
    extra = (
        None
        if data_path is None
        else [os.path.expanduser(os.path.expandvars(p)) for p in data_path.split(os.pathsep)]
    )
    return ServiceLoader(extra_search_paths=extra, file_loader=PlainJSONFileLoader())


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

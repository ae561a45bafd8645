"""The local stack behind a counting proxy, and direct (uncounted) clients for arranging.

Without an endpoint, an embedded moto server (as ``LocalStack`` would start it);
with ``--aws-endpoint URL``, that endpoint. Either way the stack's functions
reach AWS only through :class:`~agent_streams_dev.local.counting.CountingProxy`, so
what they cost is counted where AWS would count it. The benchmark's own work
(seeding data, waiting for executions, reading histories) goes straight to the
endpoint and is not counted.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import time
from typing import Any

import urllib3

from agent_streams_dev.local.counting import CountingProxy
from agent_streams_dev.local.stack import LocalStack

REGION = "us-east-1"


class Api:
    """A plain HTTP client for the local stack's API."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool = urllib3.PoolManager(maxsize=32)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        reply = self._pool.request(
            method,
            self.url + path,
            body=None if body is None else json.dumps(body).encode(),
            headers={"content-type": "application/json"},
            retries=False,
            timeout=600,
        )
        return reply.status, (json.loads(reply.data) if reply.data else None)

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, reply = self.request(method, path, body)
        if status >= 300:
            raise RuntimeError(f"{method} {path}: {status} {reply}")
        return reply

    def thread(self) -> str:
        return str(self.ok("POST", "/threads", {})["threadId"])

    def stream(self, thread_id: str, order: int = 0, step: int = 0) -> str:
        reply = self.ok(
            "POST",
            f"/threads/{thread_id}/streams",
            {"order": order, "stepOrder": step, "format": "UIMessageChunk", "model": "bench"},
        )
        return str(reply["streamId"])

    def append(self, stream_id: str, start: int, n: int = 3) -> Any:
        return self.ok("POST", f"/streams/{stream_id}/deltas", delta(start, n))


def text_parts(start: int, n: int) -> list[dict[str, Any]]:
    return [{"type": "text-delta", "id": "t0", "delta": f"word{start + i} "} for i in range(n)]


def delta(start: int, n: int) -> dict[str, Any]:
    return {"start": start, "end": start + n, "parts": text_parts(start, n)}


class Bench:
    def __init__(self, aws_endpoint: str | None = None) -> None:
        self.aws_endpoint = aws_endpoint
        self.embedded = aws_endpoint is None
        self.upstream = aws_endpoint or ""
        self._moto: Any = None
        self._saved: dict[str, str | None] = {}
        self.proxy: CountingProxy | None = None
        self.stack: LocalStack | None = None
        self.api: Api | None = None
        self._direct: dict[str, Any] = {}

    # -- life -------------------------------------------------------------------

    def start(self) -> Bench:
        self._env({"AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION})
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if not os.environ.get(name):
                self._env({name: "bench"})
        if self.embedded:
            self._start_moto()
        self.proxy = CountingProxy(self.upstream).start()
        self.stack = LocalStack(
            port=0,
            aws_endpoint=self.proxy.url,
            stack_name=f"bench-{secrets.token_hex(3)}",
            region=REGION,
        ).start()
        self.api = Api(self.stack.url)
        return self

    def stop(self) -> None:
        if self.stack is not None:
            if not self.embedded:
                self._remove_resources()
            self.stack.stop()
        if self.proxy is not None:
            self.proxy.stop()
        if self._moto is not None:
            self._moto.stop()
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    def __enter__(self) -> Bench:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _start_moto(self) -> None:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        from agent_streams_dev.local import moto_compat

        moto_compat.apply()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.upstream = f"http://{host}:{port}"
        # moto's ASL interpreter calls AWS back at MOTO_PORT (its DynamoDB tasks).
        self._env({"MOTO_PORT": str(port)})

    def _env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved.setdefault(name, os.environ.get(name))
            os.environ[name] = value

    # -- helpers ----------------------------------------------------------------

    def direct(self, service: str) -> Any:
        """A boto3 client straight to the endpoint: the benchmark's own, uncounted, calls."""
        found = self._direct.get(service)
        if found is None:
            import boto3
            from botocore.config import Config

            found = boto3.session.Session(region_name=REGION).client(
                service,
                endpoint_url=self.upstream,
                config=Config(max_pool_connections=32, retries={"mode": "standard"}),
            )
            self._direct[service] = found
        return found

    @property
    def settings(self) -> Any:
        assert self.stack is not None
        assert self.stack.resources is not None
        return self.stack.resources.settings

    def wait_for_execution(self, execution_arn: str, timeout: float = 900.0) -> dict[str, Any]:
        sfn = self.direct("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply: dict[str, Any] = sfn.describe_execution(executionArn=execution_arn)
            if reply["status"] != "RUNNING":
                return reply
            time.sleep(0.05)
        raise TimeoutError(f"execution {execution_arn} still running after {timeout}s")

    def _remove_resources(self) -> None:
        """Against an endpoint of one's own: leave it as it was found."""
        assert self.stack is not None
        assert self.stack.resources is not None
        resources = self.stack.resources
        for name in resources.table_names.values():
            try:
                self.direct("dynamodb").delete_table(TableName=name)
            except Exception as exc:
                logging.getLogger(__name__).warning("could not delete table %s: %s", name, exc)
        scheduler = self.direct("scheduler")
        group = resources.settings.schedule_group
        try:
            for page in scheduler.get_paginator("list_schedules").paginate(GroupName=group):
                for schedule in page.get("Schedules", []):
                    scheduler.delete_schedule(GroupName=group, Name=schedule["Name"])
            scheduler.delete_schedule_group(Name=group)
        except Exception as exc:
            logging.getLogger(__name__).warning("could not delete schedules: %s", exc)
        try:
            sqs = self.direct("sqs")
            queue = f"{self.stack.stack_name}-scheduler-dlq"
            sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=queue)["QueueUrl"])
        except Exception as exc:
            logging.getLogger(__name__).warning("could not delete the DLQ: %s", exc)
        try:
            s3 = self.direct("s3")
            bucket = resources.settings.spill_bucket
            for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=entry["Key"])
            s3.delete_bucket(Bucket=bucket)
        except Exception as exc:
            logging.getLogger(__name__).warning("could not delete the bucket: %s", exc)
        try:
            self.direct("stepfunctions").delete_state_machine(
                stateMachineArn=resources.state_machine_arn
            )
        except Exception as exc:
            logging.getLogger(__name__).warning("could not delete the state machine: %s", exc)

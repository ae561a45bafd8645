"""The counting proxy the benchmarks count AWS requests with (``agent_streams_dev.local.counting``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from agent_streams_dev.local.counting import CountingProxy, identify


class _Endpoint:
    """Answers every request 200 with a JSON body naming what it received."""

    def __init__(self) -> None:
        received: list[tuple[str, str, dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _reply(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((self.command, self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = do_PUT = do_DELETE = _reply

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def proxy() -> Iterator[tuple[CountingProxy, _Endpoint]]:
    endpoint = _Endpoint()
    with CountingProxy(endpoint.url) as running:
        yield running, endpoint
    endpoint.server.shutdown()
    endpoint.server.server_close()


def _client(service: str, url: str) -> Any:
    session = botocore.session.get_session()
    session.set_credentials("AKIDEXAMPLE", "secret")
    return session.create_client(
        service, "us-east-1", endpoint_url=url, config=Config(retries={"max_attempts": 1})
    )


def test_identify_by_target_by_rest_route_and_by_query_action() -> None:
    signed = "AWS4-HMAC-SHA256 Credential=AKID/20250101/us-east-1/{}/aws4_request, Signature=x"
    assert identify(
        "POST",
        "/",
        {"X-Amz-Target": "DynamoDB_20120810.Query", "Authorization": signed.format("dynamodb")},
        b"{}",
    ) == ("dynamodb", "Query")
    assert identify("POST", "/", {"X-Amz-Target": "AWSStepFunctions.StartExecution"}, b"") == (
        "states",
        "StartExecution",
    )
    scheduler = {"Authorization": signed.format("scheduler")}
    assert identify("POST", "/schedules/timeout-x-0", scheduler, b"{}") == (
        "scheduler",
        "CreateSchedule",
    )
    assert identify("DELETE", "/schedules/timeout-x-0?groupName=g", scheduler, b"") == (
        "scheduler",
        "DeleteSchedule",
    )
    assert identify("GET", "/schedules", scheduler, b"") == ("scheduler", "ListSchedules")
    assert identify("POST", "/", {"Authorization": signed.format("sqs")}, b"Action=SendMessage&x=1") == (
        "sqs",
        "SendMessage",
    )  # fmt: skip
    s3 = {"Authorization": signed.format("s3")}
    key = "/bucket/parts/s1/0-0-ab%2Fc"
    assert identify("PUT", key, s3, b"{}") == ("s3", "PutObject")
    assert identify("GET", key, s3, b"") == ("s3", "GetObject")
    assert identify("GET", "/bucket?list-type=2&prefix=parts%2Fs1%2F", s3, b"") == (
        "s3",
        "ListObjectsV2",
    )
    assert identify("POST", "/bucket?delete", s3, b"<Delete/>") == ("s3", "DeleteObjects")
    assert identify("PUT", "/bucket", s3, b"") == ("s3", "PUT /bucket")


def test_requests_are_forwarded_unchanged_and_counted_by_operation_and_table(
    proxy: tuple[CountingProxy, _Endpoint],
) -> None:
    running, endpoint = proxy
    dynamodb = _client("dynamodb", running.url)
    scheduler = _client("scheduler", running.url)
    with running.window(keep_bodies=True) as tally:
        dynamodb.get_item(TableName="Streams", Key={"streamId": {"S": "s"}})
        dynamodb.batch_write_item(
            RequestItems={
                "Deltas": [{"DeleteRequest": {"Key": {"streamId": {"S": "s"}}}}] * 3,
                "Streams": [{"DeleteRequest": {"Key": {"streamId": {"S": "s"}}}}],
            }
        )
        scheduler.delete_schedule(Name="timeout-s-0", GroupName="g")
    dynamodb.get_item(TableName="Streams", Key={"streamId": {"S": "t"}})  # after the window
    assert tally.by_operation() == {
        "dynamodb:GetItem": 1,
        "dynamodb:BatchWriteItem": 1,
        "scheduler:DeleteSchedule": 1,
    }
    assert tally.count("dynamodb", "GetItem", table="Streams", index=None) == 1
    (batch,) = tally.select("dynamodb", "BatchWriteItem")
    assert batch.batch_items == {"Deltas": 3, "Streams": 1}
    assert tally.select("dynamodb", "GetItem")[0].body["Key"] == {"streamId": {"S": "s"}}
    assert all(r.status == 200 for r in tally.requests)
    method, path, headers, _ = endpoint.received[0]
    assert (method, path) == ("POST", "/")
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.GetItem"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256")
    assert len(endpoint.received) == 4
    assert running.total == 4


def test_gather_tells_concurrent_requests_from_sequential_ones(
    proxy: tuple[CountingProxy, _Endpoint],
) -> None:
    running, _ = proxy
    dynamodb = _client("dynamodb", running.url)

    def query(n: int) -> Any:
        return dynamodb.query(
            TableName="Deltas",
            KeyConditionExpression="streamId = :s",
            ExpressionAttributeValues={":s": {"S": f"s{n}"}},
        )

    query(0)  # the client's first call (credentials, endpoint) out of the way
    with (
        running.window() as together,
        running.gather(4, timeout=30, match=lambda s, op: op == "Query") as gate,
        ThreadPoolExecutor(4) as pool,
    ):
        list(pool.map(query, range(4)))
    assert together.count("dynamodb", "Query") == 4
    assert together.max_in_flight == 4
    assert not gate.timed_out

    with (
        running.window() as one_by_one,
        running.gather(3, timeout=0.05, match=lambda s, op: op == "Query") as gate,
    ):
        for n in range(3):
            query(n)
    assert one_by_one.count("dynamodb", "Query") == 3
    assert one_by_one.max_in_flight == 1
    assert gate.timed_out


def test_intercepted_requests_are_answered_by_the_proxy_and_never_forwarded(
    proxy: tuple[CountingProxy, _Endpoint],
) -> None:
    running, endpoint = proxy
    dynamodb = _client("dynamodb", running.url)
    seen: list[tuple[str, str]] = []

    def throttle_gets(service: str, operation: str, body: bytes) -> Any:
        seen.append((service, operation))
        if operation != "GetItem":
            return None
        error = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"slow down"}'
        return 400, {"Content-Type": "application/x-amz-json-1.0"}, error

    with running.window() as tally, running.intercepting(throttle_gets):
        with pytest.raises(dynamodb.exceptions.ClientError) as raised:
            dynamodb.get_item(TableName="Streams", Key={"streamId": {"S": "s"}})
        dynamodb.query(TableName="Streams", KeyConditionExpression="a = :a",
                       ExpressionAttributeValues={":a": {"S": "s"}})  # fmt: skip
    dynamodb.get_item(TableName="Streams", Key={"streamId": {"S": "t"}})  # no longer intercepted
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    # botocore tried the throttled GetItem again (its one retry): answered here both times.
    assert seen == [("dynamodb", "GetItem")] * 2 + [("dynamodb", "Query")]
    assert [(r.operation, r.status) for r in tally.requests] == [
        ("GetItem", 400),
        ("GetItem", 400),
        ("Query", 200),
    ]
    assert [headers["X-Amz-Target"] for _, _, headers, _ in endpoint.received] == [
        "DynamoDB_20120810.Query",
        "DynamoDB_20120810.GetItem",
    ]

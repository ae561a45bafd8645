"""The local stack, once per test process, reached over HTTP like any client would.

Run these apart from the moto-in-process suites (``make test`` does): the local
stack owns the process's AWS endpoint and service wiring while it runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3

from agent_streams_dev.local.stack import LocalStack


class LocalApi:
    """A plain HTTP client for the local stack's API (and its clock)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._pool = urllib3.PoolManager(maxsize=32)

    def request(self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        reply = self._pool.request(
            method,
            self.url + path,
            body=data,
            headers={"content-type": "application/json", **(headers or {})},
            retries=False,
            timeout=120,
        )
        text = reply.data
        return reply.status, (json.loads(text) if text else None)

    def get(self, path: str) -> tuple[int, Any]:
        return self.request("GET", path)

    def post(self, path: str, body: Any = None) -> tuple[int, Any]:
        return self.request("POST", path, {} if body is None else body)

    def delete(self, path: str) -> tuple[int, Any]:
        return self.request("DELETE", path)

    def advance(self, seconds: float) -> list[str]:
        status, reply = self.post("/_local/clock/advance", {"seconds": seconds})
        assert status == 200, reply
        return list(reply["fired"])

    def now(self) -> int:
        return int(self.get("/_local/clock")[1]["now"])

    # conveniences for arranging a test
    def thread(self, **fields: Any) -> str:
        status, body = self.post("/threads", fields)
        assert status == 201, body
        return str(body["threadId"])

    def stream(self, thread_id: str, order: int = 0, step: int = 0, **meta: Any) -> str:
        status, body = self.post(
            f"/threads/{thread_id}/streams", {"order": order, "stepOrder": step, **meta}
        )
        assert status == 201, body
        return str(body["streamId"])

    def append(self, stream_id: str, start: int, *texts: str) -> tuple[int, Any]:
        parts = [{"type": "text-delta", "id": "t", "delta": t} for t in texts or ("x",)]
        return self.post(
            f"/streams/{stream_id}/deltas",
            {"start": start, "end": start + len(parts), "parts": parts},
        )

    def state(self, stream_id: str) -> tuple[int, Any]:
        return self.get(f"/streams/{stream_id}")


@pytest.fixture(scope="session")
def local_stack() -> Iterator[LocalStack]:
    with LocalStack(port=0) as stack:
        yield stack


@pytest.fixture
def api(local_stack: LocalStack) -> LocalApi:
    return LocalApi(local_stack.url)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        help="requests test_fuzz.py sends at least (default 2,000; `make fuzz`: 20,000)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "fuzz: schemathesis runs against the local stack")

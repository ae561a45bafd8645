"""503 ``ServiceUnavailable``: retried with the same request, after its ``Retry-After``.

The server answers it when AWS kept throttling past its own retries; nothing was
written. The writer must send the very same delta again (appends are exactly-once),
wait what the server asked (within bounds), and never take it for "the stream ended".
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from agent_streams_client.errors import TransientError
from agent_streams_client.http_transport import error_reply_value, parse_retry_after
from agent_streams_client.lambda_transport import function_error
from agent_streams_client.retry import RetryPolicy, is_retryable, is_retryable_unprocessed
from agent_streams_protocol.errors import ServiceUnavailable, StreamNotFound

from .fake_clock import FakeClock, run, wait_until
from .helpers import make_streamer, td, text_of
from .service import Service


def test_the_policy_waits_at_least_the_retry_after_it_was_asked_within_bounds() -> None:
    policy = RetryPolicy(base_delay_s=0.1, max_delay_s=5.0, max_retry_after_s=30.0)
    half = lambda: 0.5  # noqa: E731
    plain = TransientError("x", maybe_processed=False)
    assert policy.wait(plain, 0, half) == 0.05
    asked = TransientError("x", maybe_processed=False, retry_after=3)
    assert policy.wait(asked, 0, half) == 3
    assert policy.wait(TransientError("x", maybe_processed=False, retry_after=600), 0, half) == 30
    assert policy.wait(ServiceUnavailable("in process", retry_after=2), 0, half) == 2
    # The backoff wins when it is the longer one.
    assert policy.wait(TransientError("x", maybe_processed=False, retry_after=1), 6, half) == 2.5


def test_service_unavailable_is_retryable_even_for_creation() -> None:
    error = ServiceUnavailable("DynamoDB kept failing")
    assert is_retryable(error)
    assert is_retryable_unprocessed(error)
    assert not is_retryable(StreamNotFound("s"))


def test_retry_after_header_values() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(" 0 ") == 0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    found = parse_retry_after(later)
    assert found is not None
    assert 15 <= found <= 20
    earlier = format_datetime(datetime.now(UTC) - timedelta(seconds=20), usegmt=True)
    assert parse_retry_after(earlier) == 0


@pytest.mark.parametrize("operation", ["add_delta", "finish_stream", "create_stream"])
def test_an_http_503_is_transient_with_its_retry_after_never_a_missing_stream(
    operation: str,
) -> None:
    body = {"error": "ServiceUnavailable", "message": "throttled; retry after 4 s"}
    with pytest.raises(TransientError) as raised:
        error_reply_value(operation, 503, body, 4.0)
    assert (raised.value.retry_after, raised.value.maybe_processed) == (4.0, False)
    with pytest.raises(TransientError) as throttled:
        error_reply_value(operation, 429, {"message": "Too Many Requests"}, 2.0)
    assert throttled.value.retry_after == 2.0


def test_a_direct_invoke_service_unavailable_carries_the_retry_after_of_its_message() -> None:
    error = function_error(
        "add_delta",
        {
            "errorType": "ServiceUnavailable",
            "errorMessage": "DynamoDB kept failing (TransactionCanceledException "
            "[None, ThrottlingError]) while trying to append a delta; retry after 2 s",
        },
    )
    assert isinstance(error, TransientError)
    assert (error.retry_after, error.maybe_processed) == (2.0, False)


@pytest.mark.parametrize(
    "error",
    [
        ServiceUnavailable("in process", retry_after=3),
        TransientError("over HTTP", maybe_processed=False, retry_after=3),
    ],
    ids=["in-process", "transport"],
)
def test_a_throttled_writer_sends_the_same_delta_again_after_the_retry_after(
    service: Service, error: Exception
) -> None:
    async def body() -> None:
        aborted: list[str] = []
        wire, clock, s = make_streamer(
            service,
            clock=FakeClock(autojump=True),
            throttle_ms=0,
            heartbeat_interval_s=math.inf,
            on_async_abort=aborted.append,
        )
        await s.add_parts([td("a")])
        await wait_until(lambda: wire.count("add_delta") == 1)
        wire.inject("add_delta", error, times=3)
        wire.inject("finish_stream", error, times=2)
        for count, text in enumerate("bc", 2):
            await s.add_parts([td(text)])
            await wait_until(lambda n=count: len(service.parts(s.stream_id or "")) == n)
        await s.add_parts([td("d")])
        await s.finish()
        assert s.finished
        assert aborted == []
        stream_id = s.stream_id or ""
        assert text_of(service.parts(stream_id)) == "abcd"
        assert service.stream(stream_id)["status"] == "finished"
        # The refused requests were sent again as they were, none skipped or merged away.
        sent = [(a["start"], a["end"]) for a in wire.args_of("add_delta")]
        assert sent == sorted(sent)
        assert len(set(sent)) < len(sent)
        # Each retry waited at least what the server asked.
        assert sum(1 for d in clock.slept if d >= 3) >= 5

    run(body())

"""Bad input against the local stack: schemathesis from its ``/openapi.json``, and
hand-written cases for what a generator rarely reaches.

Fuzzing: every operation of the document, with requests that fit it (positive)
and requests that do not (negative), some of them aimed at real threads and
streams so the handlers get past the 404s. Every reply must be no 5xx, conform
to the document (status, content type, headers, body schema), and a request the
document forbids must be refused with a 4xx. The default run sends at least
2,000 requests; ``--fuzz-examples=N`` (or ``AGENT_STREAMS_FUZZ_EXAMPLES=N``) sends
at least N (``make fuzz``).

Hand-written: oversized bodies and parts, deep nesting, invalid UTF-8, huge
numbers, unknown fields, wrong content types, 10,000 cursors; each gets a 4xx
and writes nothing.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3

from agent_streams.api.http import MAX_BODY_BYTES
from agent_streams_dev.local.stack import LocalStack
from agent_streams_dev.local.template import PROJECT_ROOT
from agent_streams_dev.openapi_live import LIVE_PATHS
from agent_streams_protocol.limits import MAX_PART_BYTES
from tests.e2e.conftest import LocalApi
from tests.e2e.reliability_invariants import aws, delta_body, full_log, spans
from tests.reliability_report import record

try:
    import schemathesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
        response_headers_conformance,
        response_schema_conformance,
        status_code_conformance,
    )
except ImportError:  # the hand-written cases below run without it
    schemathesis = None  # type: ignore[assignment]

pytestmark = pytest.mark.e2e

DEFAULT_EXAMPLES = 2000
EXAMPLES_ENV = "AGENT_STREAMS_FUZZ_EXAMPLES"
DOCUMENT = Path(PROJECT_ROOT) / "openapi.json"
if schemathesis is not None:
    CHECKS = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_headers_conformance,
        response_schema_conformance,
        negative_data_rejection,
    ]
    OPERATIONS = [
        result.ok().label  # type: ignore[union-attr]
        for result in schemathesis.openapi.from_path(DOCUMENT).get_all_operations()
    ]
else:  # pragma: no cover
    OPERATIONS = []  # type: ignore[unreachable]
needs_schemathesis = pytest.mark.skipif(
    schemathesis is None, reason="schemathesis is not installed (the dev extra has it)"
)


def examples_wanted(config: pytest.Config) -> int:
    given_ = config.getoption("fuzz_examples", default=None) or os.environ.get(EXAMPLES_ENV)
    return int(given_) if given_ else DEFAULT_EXAMPLES


@pytest.fixture(scope="module")
def served_schema(local_stack: LocalStack) -> Any:
    """The document the local stack serves (it must be the repository's)."""
    status, document = LocalApi(local_stack.url).get("/openapi.json")
    assert status == 200
    assert document == json.loads(DOCUMENT.read_text(encoding="utf-8"))
    schema = schemathesis.openapi.from_dict(document)
    # The local stack takes unsigned requests (the template's ApiAuthorization=NONE):
    # leaving out the SigV4 header is no schema violation here.
    schema.config.generation.update(with_security_parameters=False)
    return schema


@pytest.fixture(scope="module")
def real_ids(local_stack: LocalStack) -> dict[str, list[str]]:
    """Threads and streams that exist, for the fuzzer to aim at now and then."""
    api = LocalApi(local_stack.url)
    threads, streams = [], []
    for _ in range(4):
        thread = api.thread(title="fuzzed")
        threads.append(thread)
        for order in range(2):
            stream = api.stream(thread, order=order)
            for start in range(3):
                api.append(stream, start)
            streams.append(stream)
    return {"threadId": threads, "streamId": streams}


class Tally:
    def __init__(self) -> None:
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self._lock = threading.Lock()

    def add(self, status: int) -> None:
        with self._lock:
            self.requests += 1
            self.statuses[status] += 1

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


@pytest.mark.fuzz
@needs_schemathesis
@pytest.mark.parametrize("label", OPERATIONS)
def test_fuzz_operation(
    label: str,
    served_schema: Any,
    real_ids: dict[str, list[str]],
    local_stack: LocalStack,
    request: pytest.FixtureRequest,
) -> None:
    operation = served_schema[label.split(" ", 1)[1]][label.split(" ", 1)[0]]
    wanted = math.ceil(examples_wanted(request.config) / len(OPERATIONS))
    session = __import__("requests").Session()
    tally = Tally()
    derandomize = request.config.getoption("fuzz_examples", default=None) is None

    def run(mode: GenerationMode, examples: int, seed: int) -> None:
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            derandomize=derandomize,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=False,
        )
        @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
        def fuzz(case: Any, data: st.DataObject) -> None:
            if mode == GenerationMode.POSITIVE and data.draw(st.booleans(), label="aim"):
                # Aim at things that exist (only where the case is valid: a negative
                # case must stay invalid).
                for name in list(case.path_parameters or {}):
                    if name in real_ids:
                        case.path_parameters[name] = data.draw(st.sampled_from(real_ids[name]))
                if case.query and "cursors" in case.query:
                    stream = data.draw(st.sampled_from(real_ids["streamId"]))
                    case.query["cursors"] = f"{stream}:{data.draw(st.integers(0, 4))}"
            # A live read of a streaming stream never ends by itself: judge its first seconds.
            live = case.operation.path in LIVE_PATHS
            response = case.call(
                base_url=local_stack.url, session=session, timeout=2 if live else 60
            )
            tally.add(response.status_code)
            case.validate_response(response, checks=CHECKS)

        fuzz()

    rounds = 0
    while tally.requests < wanted and rounds < 10:
        left = wanted - tally.requests
        run(GenerationMode.POSITIVE, max(1, left // 2), rounds)
        run(GenerationMode.NEGATIVE, max(1, wanted - tally.requests), rounds)
        rounds += 1
        derandomize = False  # the next rounds draw other examples
    record("fuzz", requests=tally.requests, server_errors=tally.server_errors)
    assert tally.server_errors == 0, tally.statuses
    assert tally.requests >= wanted, (tally.requests, tally.statuses)


# -- hand-written bad input ------------------------------------------------------------------------

MiB = 1024 * 1024
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class Raw:
    """Requests exactly as given: bytes, headers, any path."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.pool = urllib3.PoolManager(maxsize=4)

    def send(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str | None = "application/json",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        all_headers = dict(headers or {})
        if content_type is not None:
            all_headers["content-type"] = content_type
        reply = self.pool.urlopen(
            method, self.url + path, body=body, headers=all_headers, retries=False, timeout=120
        )
        try:
            decoded = json.loads(reply.data) if reply.data else None
        except ValueError:
            decoded = reply.data
        return reply.status, decoded


@pytest.fixture
def raw(local_stack: LocalStack) -> Raw:
    return Raw(local_stack.url)


@pytest.fixture
def target(api: LocalApi) -> dict[str, str]:
    thread = api.thread(title="target")
    stream = api.stream(thread)
    for start in range(2):
        api.append(stream, start)
    return {"thread": thread, "stream": stream}


def item_counts(stack: LocalStack) -> dict[str, int]:
    assert stack.resources is not None
    dynamodb = aws(stack, "dynamodb")
    counts = {}
    for name in stack.resources.table_names.values():
        counts[name] = dynamodb.scan(TableName=name, Select="COUNT", ConsistentRead=True)["Count"]
    return counts


@pytest.fixture
def nothing_written(
    api: LocalApi, local_stack: LocalStack, target: dict[str, str]
) -> Iterator[dict[str, str]]:
    """The test's requests must leave every table and the target stream as they were."""
    before = (item_counts(local_stack), api.state(target["stream"]))
    log = spans(full_log(api, target["thread"], target["stream"]))
    yield target
    assert (item_counts(local_stack), api.state(target["stream"])) == before
    assert spans(full_log(api, target["thread"], target["stream"])) == log


def refused(status: int, body: Any, *allowed: int) -> None:
    """A clear 4xx: one of ``allowed``, with the contract's error body if the function answered."""
    assert status in allowed, (status, str(body)[:300])
    assert 400 <= status < 500
    if isinstance(body, dict) and "error" in body:
        assert set(body) <= {"error", "message", "expectedStart"}, body
        assert isinstance(body["message"], str)
    record("bad_input", requests=1, server_errors=int(status >= 500))


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text-delta", "id": "t", "delta": text}


class TestOversized:
    def test_a_body_over_the_limit_is_too_large(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        stream = nothing_written["stream"]
        body = json.dumps({"start": 2, "end": 3, "parts": [text_part("x" * MAX_BODY_BYTES)]})
        status, reply = raw.send("POST", f"/streams/{stream}/deltas", body.encode())
        refused(status, reply, 413)
        assert reply["error"] == "DeltaTooLarge"
        # A body that carries no delta: a ValidationError.
        title = json.dumps({"title": "t" * MAX_BODY_BYTES}).encode()
        refused(*raw.send("POST", "/threads", title), 422)
        status, reply = raw.send(
            "POST",
            f"/streams/{stream}/finish",
            json.dumps({"finalDelta": json.loads(body)}).encode(),
        )
        refused(status, reply, 413)

    def test_a_body_over_10_mib_is_refused_by_the_gateway(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        stream = nothing_written["stream"]
        body = (
            b'{"start": 2, "end": 3, "parts": [{"type": "x", "d": "' + b"y" * (10 * MiB) + b'"}]}'
        )
        status, reply = raw.send("POST", f"/streams/{stream}/deltas", body)
        refused(status, reply, 413)
        assert reply == {"message": "Request Entity Too Large"}

    @pytest.mark.parametrize(
        "parts",
        [
            [text_part("x" * MAX_PART_BYTES)],  # one part over the maximum
            [text_part("x" * 1000)] * 420,  # many small parts adding up past an item
            [text_part("\U0001f600" * 750_000)],  # 750,000 characters, 3,000,000 UTF-8 bytes
        ],
        ids=["one-big-part", "many-parts", "multibyte"],
    )
    def test_parts_over_the_limits_are_delta_too_large(
        self, api: LocalApi, nothing_written: dict[str, str], parts: list[Any]
    ) -> None:
        stream = nothing_written["stream"]
        body = {"start": 2, "end": 2 + len(parts), "parts": parts}

        def post(path: str, value: Any) -> tuple[int, Any]:
            # Compact UTF-8, as the Python client sends it: escaped as ASCII, the emoji
            # would make an event over Lambda's 6 MB request, refused by the gateway.
            raw = json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
            return api.request("POST", path, raw=raw)

        status, reply = post(f"/streams/{stream}/deltas", body)
        refused(status, reply, 413)
        assert reply["error"] == "DeltaTooLarge"
        status, reply = post(
            f"/streams/{stream}/finish", {"finalDelta": {"streamId": stream, **body}}
        )
        refused(status, reply, 413)
        assert reply["error"] == "DeltaTooLarge"
        status, reply = post(
            f"/streams/{stream}/abort", {"reason": "r", "finalDelta": {"streamId": stream, **body}}
        )
        refused(status, reply, 413)
        assert reply["error"] == "DeltaTooLarge"

    def test_a_delta_just_under_the_limit_is_accepted(self, api: LocalApi) -> None:
        stream = api.stream(api.thread())
        status, reply = api.post(
            f"/streams/{stream}/deltas",
            {"start": 0, "end": 1, "parts": [text_part("x" * 390_000)]},
        )
        assert (status, reply) == (200, {"accepted": True, "status": "streaming"})

    def test_long_texts_elsewhere_are_validation_errors(
        self, api: LocalApi, nothing_written: dict[str, str]
    ) -> None:
        thread, stream = nothing_written["thread"], nothing_written["stream"]
        refused(*api.post("/threads", {"summary": "s" * 70_000}), 422)
        refused(*api.post(f"/streams/{stream}/abort", {"reason": "r" * 5000}), 422)
        refused(*api.post(f"/threads/{thread}/streams", {"order": 1, "stepOrder": 0, "model": "m" * 300}), 422)  # fmt: skip


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


class TestNesting:
    @pytest.mark.parametrize("depth", [70, 1000, 100_000])
    def test_deeply_nested_parts_are_refused(
        self, raw: Raw, nothing_written: dict[str, str], depth: int
    ) -> None:
        stream = nothing_written["stream"]
        if depth <= 100:
            body = json.dumps({"start": 2, "end": 3, "parts": [{"type": "x", "v": nested(depth)}]})
        else:  # past the JSON encoder's own recursion limit: built as text
            deep = (
                '{"k": ' * (depth // 2)
                + "[" * (depth // 2)
                + "]" * (depth // 2)
                + "}" * (depth // 2)
            )
            body = '{"start": 2, "end": 3, "parts": [{"type": "x", "v": ' + deep + "}]}"
        status, reply = raw.send("POST", f"/streams/{stream}/deltas", body.encode())
        refused(status, reply, 422)

    def test_deep_nesting_in_other_bodies(self, raw: Raw, nothing_written: dict[str, str]) -> None:
        thread = nothing_written["thread"]
        deep = "[" * 50_000 + "]" * 50_000
        refused(*raw.send("POST", "/threads", ('{"title": ' + deep + "}").encode()), 422)
        options = '{"order": 1, "stepOrder": 0, "providerOptions": {"p": ' + "{\"a\": " * 80 + "1" + "}" * 80 + "}}"  # fmt: skip
        refused(*raw.send("POST", f"/threads/{thread}/streams", options.encode()), 422)
        refused(*raw.send("POST", f"/threads/{thread}/streams", deep.encode()), 422)


class TestEncoding:
    def test_invalid_utf8_bodies_are_refused(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        stream = nothing_written["stream"]
        for body in (
            b'{"start": 2, "end": 3, "parts": [{"type": "x", "d": "\xff\xfe"}]}',
            b'{"start": 2, "end": 3, "parts": [{"type": "\xc3\x28"}]}',
            b"\xef\xbb\xbf" + b'{"start": 2}',  # a byte order mark
            b"\x00\x00\x00{",
        ):
            refused(*raw.send("POST", f"/streams/{stream}/deltas", body), 422)

    def test_lone_surrogates_outside_parts_are_refused(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        # Parts may hold them (a JavaScript writer's split characters: test_js_strings_e2e);
        # the other text fields may not.
        stream, thread = nothing_written["stream"], nothing_written["thread"]
        refused(*raw.send("POST", "/threads", b'{"title": "\\ud83d"}'), 422)
        refused(*raw.send("POST", f"/streams/{stream}/abort", b'{"reason": "\\udc00"}'), 422)
        refused(*raw.send("POST", f"/threads/{thread}/streams", b'{"order": 1, "stepOrder": 0, "model": "\\ud800"}'), 422)  # fmt: skip

    @pytest.mark.parametrize(
        "path",
        [
            "/streams/%FF%FE",
            "/streams/%ED%A0%80",  # an encoded surrogate
            "/streams/a%2Fb",
            "/streams/" + "a" * 41,
            "/streams/a.b",
            "/threads/%00/streams",
        ],
    )
    def test_bad_ids_in_the_path(
        self, raw: Raw, nothing_written: dict[str, str], path: str
    ) -> None:
        status, reply = raw.send("GET", path, content_type=None)
        refused(status, reply, 404, 422)

    def test_bad_query_strings(self, raw: Raw, nothing_written: dict[str, str]) -> None:
        thread, stream = nothing_written["thread"], nothing_written["stream"]
        for query in (
            f"cursors={stream}:%FF",
            f"cursors={stream}%00:0",
            "cursors=%ED%A0%80:0",
            f"cursors={stream}:0&cursors={stream}:1",
            f"cursors={stream}",
            f"cursors={stream}:-1",
            f"cursors={stream}:1e3",
            f"cursors={stream}:0x10",
        ):
            refused(*raw.send("GET", f"/threads/{thread}/deltas?{query}", content_type=None), 422)
        for query in ("statuses=streaming,bogus", "startOrder=-1", "startOrder=%FF", "unknown=1"):
            refused(*raw.send("GET", f"/threads/{thread}/streams?{query}", content_type=None), 422)


class TestNumbers:
    @pytest.mark.parametrize(
        "body",
        [
            b'{"start": 2, "end": 1e400, "parts": [{"type": "x"}]}',
            b'{"start": 2, "end": 100000000000000000000000000000000000000, "parts": [{"type": "x"}]}',
            b'{"start": 2, "end": 9007199254740992, "parts": [{"type": "x"}]}',
            b'{"start": 2, "end": 3.0, "parts": [{"type": "x"}]}',
            b'{"start": 2, "end": 3, "parts": [{"type": "x", "n": 1e400}]}',
            b'{"start": 2, "end": 3, "parts": [{"type": "x", "n": NaN}]}',
            b'{"start": 2, "end": 3, "parts": [{"type": "x", "n": -Infinity}]}',
            b'{"start": -0, "end": 3, "parts": [{"type": "x"}]}',
            b'{"start": 2, "end": "3", "parts": [{"type": "x"}]}',
            b'{"start": true, "end": 3, "parts": [{"type": "x"}]}',
            b'{"start": 2, "end": 3, "parts": [{"type": "x", "n": ' + b"9" * 5000 + b"}]}",
        ],
    )
    def test_numbers_out_of_range_or_of_the_wrong_kind(
        self, raw: Raw, nothing_written: dict[str, str], body: bytes
    ) -> None:
        stream = nothing_written["stream"]
        status, reply = raw.send("POST", f"/streams/{stream}/deltas", body)
        if status == 409:  # -0 is 0: a valid number, at the wrong start
            assert body.startswith(b'{"start": -0'), reply
            record("bad_input", requests=1, server_errors=0)
            return
        refused(status, reply, 422)

    def test_huge_orders(self, raw: Raw, nothing_written: dict[str, str]) -> None:
        thread = nothing_written["thread"]
        for order in (b"1e400", b"10" + b"0" * 400, b"-1", b"1.5", b"281474976710656"):
            body = b'{"order": ' + order + b', "stepOrder": 0}'
            refused(*raw.send("POST", f"/threads/{thread}/streams", body), 422)
        for query in ("order=" + "9" * 400 + "&stepOrder=0&status=success", "order=1e3&stepOrder=0&status=success"):  # fmt: skip
            refused(*raw.send("GET", f"/threads/{thread}/streams/messages?{query}", content_type=None), 422)  # fmt: skip


class TestShapes:
    def test_unknown_fields_are_refused(
        self, api: LocalApi, nothing_written: dict[str, str]
    ) -> None:
        thread, stream = nothing_written["thread"], nothing_written["stream"]
        refused(*api.post("/threads", {"title": "t", "owner": "me"}), 422)
        refused(*api.post(f"/threads/{thread}/streams", {"order": 1, "stepOrder": 0, "status": "finished"}), 422)  # fmt: skip
        refused(*api.post(f"/streams/{stream}/deltas", {**delta_body(2, 3), "nextStart": 9}), 422)
        refused(*api.post(f"/streams/{stream}/finish", {"finalDelta": {**delta_body(2, 3), "x": 1}}), 422)  # fmt: skip
        refused(*api.post(f"/streams/{stream}/abort", {"reason": "r", "status": "finished"}), 422)
        refused(*api.post(f"/threads/{thread}/streams/abort", {"order": 0, "reason": "r", "all": True}), 422)  # fmt: skip
        refused(*api.post(f"/streams/{stream}/heartbeat", {"at": 1}), 422)

    def test_a_body_naming_another_id_is_refused(
        self, api: LocalApi, nothing_written: dict[str, str]
    ) -> None:
        stream = nothing_written["stream"]
        other = "A" * 38
        refused(*api.post(f"/streams/{stream}/deltas", {"streamId": other, **delta_body(2, 3)}), 422)  # fmt: skip
        refused(*api.post(f"/streams/{stream}/finish", {"finalDelta": {"streamId": other, **delta_body(2, 3)}}), 422)  # fmt: skip
        refused(*api.post(f"/streams/{stream}/heartbeat", {"streamId": other}), 422)

    @pytest.mark.parametrize(
        "body",
        [b"", b"null", b"[]", b'"text"', b"42", b"{", b'{"start": 2,}', b"{}", b'{"parts": []}'],
    )
    def test_bodies_that_are_not_a_delta(
        self, raw: Raw, nothing_written: dict[str, str], body: bytes
    ) -> None:
        stream = nothing_written["stream"]
        refused(*raw.send("POST", f"/streams/{stream}/deltas", body), 422)

    @pytest.mark.parametrize(
        "content_type",
        [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/xml",
            "application/octet-stream",
        ],
    )
    def test_wrong_content_types(
        self, raw: Raw, nothing_written: dict[str, str], content_type: str
    ) -> None:
        stream = nothing_written["stream"]
        body = json.dumps(delta_body(2, 3)).encode()
        refused(*raw.send("POST", f"/streams/{stream}/deltas", body, content_type), 422)
        refused(*raw.send("POST", "/threads", b'{"title": "t"}', content_type), 422)

    def test_methods_and_paths_the_api_has_not(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        stream = nothing_written["stream"]
        for method, path in (
            ("PUT", f"/streams/{stream}"),
            ("PATCH", f"/streams/{stream}/deltas"),
            ("GET", f"/streams/{stream}/deltas"),
            ("POST", "/streams"),
            ("GET", "/"),
            ("DELETE", "/threads"),
        ):
            refused(*raw.send(method, path, b"{}"), 404, 405)


class TestCursors:
    def test_ten_thousand_cursors_are_refused_quickly(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        thread = nothing_written["thread"]
        # 10,000 distinct ids of three characters: 60 KB of query string, over the HTTP
        # API's 10,240 bytes of request line and headers: the gateway refuses it (JSON).
        ids = [ALPHABET[i // 3844] + ALPHABET[i // 62 % 62] + ALPHABET[i % 62] for i in range(10_000)]  # fmt: skip
        assert len(set(ids)) == 10_000
        cursors = ",".join(f"{i}:0" for i in ids)
        sent = time.monotonic()
        status, reply = raw.send("GET", f"/threads/{thread}/deltas?cursors={cursors}", content_type=None)  # fmt: skip
        refused(status, reply, 414)
        assert reply == {"message": "Request-URI Too Long"}
        assert time.monotonic() - sent < 5, "refused before reading anything"
        many = "&".join(f"cursors={i}:0" for i in ids)
        refused(*raw.send("GET", f"/threads/{thread}/deltas?{many}", content_type=None), 414)
        # Over the function's cursor limit but within the gateway's: the function refuses
        # them, as one list or as repeated parameters (API Gateway joins them with commas).
        few = ",".join(f"{i}:0" for i in ids[:1000])
        status, reply = raw.send("GET", f"/threads/{thread}/deltas?cursors={few}", content_type=None)  # fmt: skip
        refused(status, reply, 422)
        assert "cursors" in reply["message"]
        many = "&".join(f"cursors={i}:0" for i in ids[:600])
        refused(*raw.send("GET", f"/threads/{thread}/deltas?{many}", content_type=None), 422)

    def test_ten_thousand_cursors_of_real_length_overflow_the_request_line(
        self, raw: Raw, nothing_written: dict[str, str]
    ) -> None:
        thread, stream = nothing_written["thread"], nothing_written["stream"]
        cursors = ",".join(f"{stream[:-5]}{i:05d}:0" for i in range(10_000))
        status, reply = raw.send("GET", f"/threads/{thread}/deltas?cursors={cursors}", content_type=None)  # fmt: skip
        refused(status, reply, 414, 422)

    def test_a_hundred_cursors_are_served(self, api: LocalApi, target: dict[str, str]) -> None:
        thread, stream = target["thread"], target["stream"]
        others = [f"{stream[:-5]}{i:05d}" for i in range(99)]
        cursors = ",".join([f"{stream}:0", *(f"{s}:0" for s in others)])
        status, reply = api.get(f"/threads/{thread}/deltas?cursors={cursors}")
        assert status == 200
        assert spans(reply) == [(0, 1), (1, 2)]

    def test_ten_thousand_cursors_by_direct_invoke(
        self, local_stack: LocalStack, nothing_written: dict[str, str]
    ) -> None:
        from agent_streams_dev.local.functions import FunctionError

        functions = local_stack.functions
        assert functions is not None
        cursors = [{"streamId": f"s{i}", "cursor": 0} for i in range(10_000)]
        with pytest.raises(FunctionError) as failed:
            functions.by_operation["list_deltas"].invoke(
                {"threadId": nothing_written["thread"], "cursors": cursors}
            )
        assert failed.value.payload["errorType"] == "ValidationError"
        record("bad_input", requests=1, server_errors=0)

"""Every code block of README.md and docs/*.md runs, as a reader would run it.

Blocks are found by reading the Markdown (a new one is picked up by itself); each
fenced block needs a language this module knows, and ``text`` marks what is not code
(output, transcripts, diagrams, usage lines). By language:

- ``python``: a doc's blocks run in order in one namespace, in a fresh interpreter
  (``docs_runner.py``; top-level ``await`` as in ``python -m asyncio``), against a local
  stack of this module's own (``agent-streams local`` in a subprocess, as ``make serve``
  runs it) and, for the LLM SDKs, against ``llm_wire.LlmWire``: the real ``anthropic``,
  ``openai`` and ``boto3`` SDKs, pointed there by their own variables
  (``ANTHROPIC_BASE_URL``, ``OPENAI_BASE_URL``, ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``),
  get each provider's streaming wire format. What a doc leaves to its reader is given
  in ``DRIVERS``: code run before or after one block (calling the functions a block
  only defines, giving a program its argument). A block that defines a function
  nothing calls fails.
- ``sh``: each command line is either run — ``curl``, variable assignments — with
  ``bash -euo pipefail`` against the local stack (``curl`` fails on an HTTP error), or,
  for what cannot run here (``make serve``, ``sam deploy``, ``aws sns``), checked:
  ``make -n`` knows the target (and samconfig.toml the ``CONFIG_ENV``), the tool's
  ``--help`` lists every flag, ``aws`` operations and parameters exist in botocore's
  service model, ``--parameter-overrides`` names the template's parameters.
- ``json``: parses, and is checked against what it claims to be (``JSON_CHECKS``).
- ``js``/``tsx``/``yaml``: run by the test named in ``COVERED`` (a Node script, Chromium,
  a rule deployed on the local stack's bus); this module checks that the test exists and
  reads that doc.

The only text changed before running is the local stack's address,
``http://127.0.0.1:3000`` (``make serve``'s), replaced by this module's stack's. The
variables the docs name for ids — ``$T``, ``$S``, ``$THREAD``, ``$API`` — are set in
the environment, to a thread and a stream made for the block.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import urllib3
from cfnlint.decode import cfn_yaml  # type: ignore[import-untyped]

from tests.e2e.llm_wire import REPLY_TEXT, LlmWire

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DOCS_URL = "http://127.0.0.1:3000"
LANGUAGES = {"python", "sh", "bash", "json", "js", "tsx", "yaml", "text"}
BIN = Path(sys.executable).parent
SAM = ROOT / ".venv-tools" / "bin" / "sam"


@dataclass(frozen=True)
class Block:
    doc: str  # relative to the repository
    line: int  # of the opening fence
    language: str
    code: str

    @property
    def label(self) -> str:
        return f"{self.doc}:{self.line}"


def blocks(path: Path) -> list[Block]:
    found, lines, i = [], path.read_text(encoding="utf-8").split("\n"), 0
    while i < len(lines):
        fence = re.match(r"^(```+)(.*)$", lines[i])
        if fence:
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith(fence[1]))
            code = "\n".join(lines[i + 1 : end]) + "\n"
            found.append(Block(str(path.relative_to(ROOT)), i + 1, fence[2].strip(), code))
            i = end
        i += 1
    return found


ALL = [block for doc in DOCS for block in blocks(doc)]


def of(language: str, *languages: str) -> list[Block]:
    return [b for b in ALL if b.language in (language, *languages)]


# -- blocks run elsewhere ---------------------------------------------------------------------

#: (doc, language, a line of the block) -> (file, the test that runs it, how it reads the doc).
COVERED = {
    ("docs/local-stack.md", "python", "lam = boto3.client("): (
        "tests/e2e/test_lambda_invoke_e2e.py",
        "test_the_docs_python_example_runs_against_the_stack",
        'docs_block("python")',
    ),
    ("docs/local-stack.md", "js", "new LambdaClient({"): (
        "tests/e2e/test_lambda_invoke_node.py",
        "test_the_docs_node_example_runs_against_the_stack",
        'docs_block("js")',  # test_lambda_invoke_e2e.docs_block reads docs/local-stack.md
    ),
    ("docs/browser.md", "tsx", "export function Chat("): (
        "tests/browser/test_chat_in_browser.py",
        "test_the_docs_react_example_is_the_one_the_browser_runs",
        '"browser.md"',
    ),
    ("docs/events.md", "yaml", "SaveFinishedMessage:"): (
        "tests/e2e/test_events_sample.py",
        "test_the_sample_rule_sends_stream_finished_to_a_function_that_saves_the_message",
        'DOCS / "events.md"',
    ),
}


def covered(block: Block) -> tuple[str, str, str] | None:
    for (doc, language, needle), test in COVERED.items():
        if block.doc == doc and block.language == language and needle in block.code:
            return test
    return None


def test_every_block_has_a_language_this_test_runs() -> None:
    unknown = [f"{b.label}: {b.language or '(none)'}" for b in ALL if b.language not in LANGUAGES]
    assert not unknown, "tag each block with its language, or `text` when it is not code"
    assert len(of("python")) >= 15, "the docs were not found"
    assert len(of("sh", "bash")) >= 8, "the docs were not found"


def test_blocks_run_by_other_tests_are_run_there() -> None:
    for language in ("js", "tsx", "yaml"):
        for block in of(language):
            assert covered(block), f"{block.label}: no test runs this {language} block"
    for (doc, language, needle), (path, name, reads) in COVERED.items():
        matching = [b for b in of(language) if b.doc == doc and needle in b.code]
        assert len(matching) == 1, f"{doc}: one {language} block with {needle!r} expected"
        source = (ROOT / path).read_text(encoding="utf-8")
        assert f"def {name}(" in source, f"{path} has no {name}"
        assert reads in source, f"{path} does not read {doc}"


# -- the local stack and the LLM wire ---------------------------------------------------------


@dataclass
class Stack:
    url: str
    http: urllib3.PoolManager

    def call(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.http.request(
            method, self.url + path, body=None if body is None else json.dumps(body), timeout=60
        )
        assert reply.status < 300, (method, path, reply.status, reply.data[:500])
        return json.loads(reply.data) if reply.data else None

    def thread_and_stream(self, title: str) -> tuple[str, str]:
        thread_id = self.call("POST", "/threads", {"title": title})["threadId"]
        stream = self.call("POST", f"/threads/{thread_id}/streams", {"order": 0, "stepOrder": 0})
        return thread_id, stream["streamId"]


def user_env() -> dict[str, str]:
    """A user's shell: none of the AWS settings of this process."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_"))}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """``agent-streams local``, as ``make serve`` runs it, on a free port."""
    process = subprocess.Popen(
        [str(BIN / "agent-streams"), "local", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=user_env(),
    )
    assert process.stdout is not None
    ready = ""
    deadline = time.monotonic() + 60
    while "ready on" not in ready and time.monotonic() < deadline:
        ready = process.stdout.readline()
        if not ready and process.poll() is not None:
            break
    match = re.search(r"ready on (http://\S+)", ready)
    assert match, f"the local stack did not start: {ready!r}"
    drain = threading.Thread(target=process.stdout.read, daemon=True)
    drain.start()
    try:
        yield Stack(match[1], urllib3.PoolManager(headers={"content-type": "application/json"}))
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@pytest.fixture(scope="module")
def wire() -> Iterator[LlmWire]:
    with LlmWire() as server:
        yield server


# -- python -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Driver:
    before: str = ""
    after: str = ""
    expect: str = ""  # a regular expression the block's output must match


_MSGS = '[{"role": "user", "content": "Hi"}]'

#: (doc, a line of the block) -> what runs around it.
DRIVERS: dict[tuple[str, str], Driver] = {
    ("README.md", "async def main()"): Driver(expect=r"^success Lisbon in May\.\n"),
    ("docs/client.md", "async def main()"): Driver(expect=r"^[\w-]{16,}\n"),
    ("docs/client.md", "thread = await client.create_thread"): Driver(
        after="assert deltas[0]['parts'] == [{'type': 'start'}], deltas"
    ),
    ("docs/client.md", "await AsyncOpenAI().chat.completions.create("): Driver(
        after=f"await reply(client, thread['threadId'], 10, {_MSGS})"
    ),
    ("docs/client.md", "openai_responses_chunks(stream)"): Driver(
        after=f"await reply(client, thread['threadId'], 11, {_MSGS})"
    ),
    ("docs/client.md", "anthropic_chunks(stream)"): Driver(
        after=f"await reply(client, thread['threadId'], 12, {_MSGS})"
    ),
    ("docs/client.md", "bedrock_chunks(response)"): Driver(
        after=(
            "await reply(client, thread['threadId'], 13,"
            " [{'role': 'user', 'content': [{'text': 'Hi'}]}])"
        )
    ),
    ("docs/client.md", "def handler(event, context)"): Driver(
        after=f"handler({{'threadId': thread['threadId'], 'order': 14, 'messages': {_MSGS}}}, None)"
    ),
    ("docs/client.md", "async def follow(thread_id"): Driver(
        before="import sys; sys.argv = ['follow.py', thread['threadId']]",
        expect=r"^success: \d+ characters\n",
    ),
}

#: client.md's pipelines: (order, what the provider streamed).
PIPELINES = {
    9: REPLY_TEXT["openai_chat_tools"],
    10: REPLY_TEXT["openai_chat"],
    11: REPLY_TEXT["openai_responses"],
    12: REPLY_TEXT["anthropic"],
    13: REPLY_TEXT["bedrock"],
    14: REPLY_TEXT["openai_chat"],
}


def driver(block: Block) -> Driver:
    found = [d for (doc, needle), d in DRIVERS.items() if doc == block.doc and needle in block.code]
    assert len(found) <= 1, f"{block.label}: two drivers match"
    return found[0] if found else Driver()


def test_every_driver_matches_one_block() -> None:
    for doc, needle in DRIVERS:
        matching = [b for b in of("python") if b.doc == doc and needle in b.code]
        assert len(matching) == 1, f"{doc}: {needle!r} matches {len(matching)} blocks"


def defined_functions(code: str) -> set[str]:
    tree = ast.parse(code)
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}


def python_docs() -> list[str]:
    return sorted({b.doc for b in of("python") if not covered(b)})


@pytest.mark.parametrize("doc", python_docs())
def test_python_blocks_run(doc: str, stack: Stack, wire: LlmWire, tmp_path: Path) -> None:
    own = [b for b in of("python") if b.doc == doc and not covered(b)]
    steps: list[dict[str, Any]] = []
    for i, block in enumerate(own):
        d = driver(block)
        text = block.code + "".join(b.code for b in own[i + 1 :]) + d.after
        uncalled = {
            n
            for n in defined_functions(block.code)
            if len(re.findall(rf"\b{n}\b", text)) <= text.count(f"def {n}(")
        }
        assert not uncalled, f"{block.label} defines {uncalled} and nothing calls it: add a driver"
        if d.before:
            steps.append({"label": f"{block.label} (before)", "code": d.before})
        steps.append({"label": block.label, "code": block.code.replace(DOCS_URL, stack.url)})
        if d.after:
            steps.append({"label": f"{block.label} (after)", "code": d.after})
    if doc == "docs/client.md":
        # The pipelines' stream, read back: what they streamed is what readers get.
        steps.append({"label": "thread id", "code": "print('THREAD', thread['threadId'])"})
    script = tmp_path / "steps.json"
    script.write_text(json.dumps(steps), encoding="utf-8")
    env = {
        **user_env(),
        **wire.environment(),
        "AWS_ENDPOINT_URL_LAMBDA": stack.url,
        "AGENT_STREAMS_STACK": "agent-streams-local",
    }
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("docs_runner.py")), str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-6000:]
    outputs = dict(re.findall(r"^### (\S+)\n(.*?)(?=^### |\Z)", done.stdout, flags=re.M | re.S))
    for block in own:
        expect = driver(block).expect
        if expect:
            assert re.search(expect, outputs[block.label], flags=re.M), (
                block.label,
                outputs[block.label],
            )
    if doc == "docs/client.md":
        thread_id = re.findall(r"^THREAD (\S+)$", done.stdout, flags=re.M)[-1]
        for order, text in PIPELINES.items():
            docs = stack.call(
                "GET",
                f"/threads/{thread_id}/streams/messages?order={order}&stepOrder=0&status=success",
            )
            assert docs, order
            assert text in json.dumps(docs), (order, docs)
        assert {"/v1/chat/completions", "/v1/responses", "/v1/messages"} <= set(wire.paths())
        assert any(p.endswith("/converse-stream") for p in wire.paths())


# -- sh ---------------------------------------------------------------------------------------


def commands(code: str) -> list[str]:
    """The block's command lines: continuations joined, comments and blank lines left out."""
    joined = re.sub(r"\\\n\s*", " ", code)
    out = []
    for line in joined.split("\n"):
        words = shlex.split(line, comments=True)
        if words:
            out.append(line)
    return out


def runs_here(line: str) -> bool:
    words = shlex.split(line, comments=True)
    assignment = bool(re.fullmatch(r"[A-Z_]+=\S*", words[0])) and len(words) == 1
    return words[0] == "curl" or assignment


def _help_has_flags(help_cmd: list[str], words: list[str], line: str) -> None:
    done = subprocess.run(help_cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(help_cmd)}: {done.stderr[-2000:]}"
    text = done.stdout + done.stderr
    for word in words:
        if word.startswith("-") and word != "-":
            flag = word.split("=", 1)[0]
            assert re.search(rf"(^|[\s,\[]){re.escape(flag)}([\s,=\]]|$)", text, flags=re.M), (
                f"{line}: {flag} is not in `{' '.join(help_cmd)}`"
            )


def _subcommand(words: list[str]) -> list[str]:
    out = []
    for word in words[1:]:
        if word.startswith("-"):
            break
        out.append(word)
    return out


def _config_env(name: str) -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text(encoding="utf-8"))
    assert "deploy" in config.get(name, {}), f"samconfig.toml has no [{name}.deploy]"


def check_make(words: list[str], line: str) -> None:
    done = subprocess.run(
        ["make", "-n", *words[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{line}: {done.stderr[-2000:]}"
    for word in words[1:]:
        if word.startswith("CONFIG_ENV="):
            _config_env(word.split("=", 1)[1])
            assert f"--config-env {word.split('=', 1)[1]}" in done.stdout


def check_sam(words: list[str], line: str) -> None:
    assert SAM.exists(), "the SAM CLI (.venv-tools, `make tools`) is needed to check sam commands"
    sub = _subcommand(words)
    _help_has_flags([str(SAM), *sub, "--help"], words, line)
    if "--config-env" in words:
        _config_env(words[words.index("--config-env") + 1])
    if "--parameter-overrides" in words:
        template = cfn_yaml.load(str(ROOT / "template.yaml"))
        declared = template["Parameters"]
        for pair in words[words.index("--parameter-overrides") + 1].split():
            name, value = pair.split("=", 1)
            assert name in declared, f"{line}: the template has no parameter {name}"
            allowed = declared[name].get("AllowedValues")
            assert not allowed or value in map(str, allowed), f"{line}: {name}={value}"


#: The aws CLI's own names for parameters (awscli/customizations/argrename.py).
AWS_CLI_RENAMES = {("sns", "subscribe", "--notification-endpoint"): "Endpoint"}


def check_aws(words: list[str], line: str) -> None:
    service, command = words[1], words[2]
    model = botocore.session.get_session().get_service_model(service)
    names = {re.sub(r"(?<!^)(?=[A-Z])", "-", op).lower(): op for op in model.operation_names}
    assert command in names, f"{line}: {service} has no {command}"
    shape = model.operation_model(names[command]).input_shape
    members = shape.members if shape is not None else {}
    for word in words[3:]:
        if word.startswith("--"):
            member = AWS_CLI_RENAMES.get((service, command, word)) or "".join(
                part.capitalize() for part in word[2:].split("-")
            )
            assert member in members, f"{line}: {word} is not a parameter of {names[command]}"


def check_tool(words: list[str], line: str) -> None:
    program = Path(words[0]).name
    if program == "make":
        return check_make(words, line)
    if program == "sam":
        return check_sam(words, line)
    if program == "aws":
        return check_aws(words, line)
    if program in ("agent-streams", "moto_server"):
        return _help_has_flags([str(BIN / program), *_subcommand(words), "--help"], words, line)
    raise AssertionError(f"{line}: no check for {program}: run it here or teach this test")


def sh_blocks() -> list[Block]:
    return of("sh", "bash")


@pytest.mark.parametrize("block", sh_blocks(), ids=lambda b: b.label)
def test_shell_blocks(block: Block, stack: Stack) -> None:
    lines = commands(block.code)
    script = []
    for line in lines:
        if runs_here(line):
            script.append(line.replace(DOCS_URL, stack.url))
        else:
            words = shlex.split(line, comments=True)
            check_tool([w for w in words if w != "&"], line)
    if not script:
        return
    thread_id, stream_id = stack.thread_and_stream(block.label)
    live_thread, live_stream = stack.thread_and_stream(f"{block.label} live")
    stack.call(
        "POST",
        f"/streams/{live_stream}/deltas",
        {"start": 0, "end": 1, "parts": [{"type": "text-start", "id": "t"}]},
    )
    # The live thread's reply ends a moment after a reader connects.
    finisher = threading.Timer(1.5, stack.call, ("POST", f"/streams/{live_stream}/finish", {}))
    finisher.start()
    prelude = 'curl() { command curl --fail-with-body --max-time 30 -sS "$@"; echo; }\n'
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", prelude + "\n".join(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**user_env(), "API": stack.url, "T": thread_id, "S": stream_id, "THREAD": live_thread},
        check=False,
    )
    finisher.join()
    assert done.returncode == 0, f"{block.label}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    if "/stream\n" in block.code or "/stream " in block.code:
        assert "data: [DONE]" in done.stdout, done.stdout


# -- json -------------------------------------------------------------------------------------


def _jwt_context(value: Any) -> None:
    jwt = value["requestContext"]["authorizer"]["jwt"]
    assert all(isinstance(claim, str) for claim in jwt["claims"].values()), "claims are strings"
    assert jwt["scopes"] is None or isinstance(jwt["scopes"], list)


def _lifecycle_event(value: Any) -> None:
    """An EventBridge event as publish_events makes it: its detail is what the runtime
    makes of the stream it describes."""
    from agent_streams.lifecycle_events import DETAIL_TYPES, SOURCE, stream_event
    from agent_streams.types import Stream

    assert value["source"] == SOURCE
    assert value["detail-type"] in DETAIL_TYPES
    detail = value["detail"]
    stream = Stream(
        detail["streamId"],
        detail["threadId"],
        detail["order"],
        detail["stepOrder"],
        detail["status"],
        0,
        0,
        next_start=detail["cursor"],
        reason=detail.get("reason"),
        meta={k: detail[k] for k in ("userId", "format") if k in detail},  # type: ignore[misc]
    )
    assert stream_event(value["detail-type"], stream, detail["stack"], 0).detail == detail


#: (doc, a line of the block) -> what the value must be.
JSON_CHECKS = {
    ("docs/local-stack.md", '"requestContext"'): _jwt_context,
    ("docs/events.md", '"detail-type"'): _lifecycle_event,
}


@pytest.mark.parametrize("block", of("json"), ids=lambda b: b.label)
def test_json_blocks(block: Block) -> None:
    value = json.loads(block.code)
    checks = [
        c for (doc, needle), c in JSON_CHECKS.items() if doc == block.doc and needle in block.code
    ]
    assert len(checks) == 1, f"{block.label}: say in JSON_CHECKS what this JSON is"
    checks[0](value)


# -- links ------------------------------------------------------------------------------------


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    out = set()
    for heading in re.findall(r"^#+ (.*)$", text, flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        out.add(slug)
    return out


def test_relative_links_point_at_files_and_headings() -> None:
    broken = []
    for doc in DOCS:
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                continue
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists():
                broken.append(f"{doc.name}: {target}")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{doc.name}: {target} (no such heading)")
    assert not broken, broken


def test_no_doc_cites_the_internal_design_document() -> None:
    assert not [d.name for d in DOCS if "DESIGN.md" in d.read_text(encoding="utf-8")]

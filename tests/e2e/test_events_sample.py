"""The sample rule of docs/events.md, on the local stack's real events: its pattern picks
out exactly the Stream Finished events, and its function saves the message they name."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from agent_streams_dev.local.stack import LocalStack
from agent_streams_dev.local.template import load_template
from tests.e2e.conftest import LocalApi
from tests.e2e.test_lifecycle_events_e2e import finished, say, settle

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def snippet(path: Path) -> str:
    text = path.read_text(encoding="utf-8")
    (found,) = re.findall(r"<!-- sample-rule -->\n```yaml\n(.*?)```", text, re.S)
    return str(found)


def sample_rule(tmp_path: Path) -> dict[str, Any]:
    """The function of the sample, as docs/events.md's SAM snippet declares it."""
    snippet_text = snippet(DOCS / "events.md")
    template = tmp_path / "sample.yaml"
    template.write_text("Resources:\n" + snippet_text, encoding="utf-8")
    (function,) = load_template(template).resources.values()
    return dict(function)


def load_sample() -> ModuleType:
    path = DOCS / "examples" / "save_message" / "app.py"
    spec = importlib.util.spec_from_file_location("save_message_sample", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_rule_sends_stream_finished_to_a_function_that_saves_the_message(
    api: LocalApi, local_stack: LocalStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    function = sample_rule(tmp_path)
    pattern = function["Properties"]["Events"]["StreamFinished"]["Properties"]["Pattern"]
    assert pattern["detail"]["stack"] == ["agent-streams"]  # the stack's name, here ours
    pattern["detail"]["stack"] = [local_stack.stack_name]

    events, sqs = local_stack.client("events"), local_stack.client("sqs")
    assert local_stack.resources is not None
    bus = local_stack.resources.settings.event_bus_name
    queue = sqs.create_queue(QueueName="sample-rule-target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    settle(api)  # what earlier tests set off is not this rule's
    events.put_rule(Name="sample-rule", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="sample-rule", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    try:
        thread = api.thread()
        done = finished(api, thread, "The final ", "answer.", userId="ada")
        aborted = api.stream(thread, order=1, format="UIMessageChunk")
        say(api, aborted, "half")
        api.post(f"/streams/{aborted}/abort", {"reason": "stop"})
        deleted = finished(api, thread, "gone", order=2)
        api.delete(f"/streams/{deleted}")
        settle(api)
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    finally:
        events.remove_targets(Rule="sample-rule", EventBusName=bus, Ids=["q"])
        events.delete_rule(Name="sample-rule", EventBusName=bus)
    delivered = [json.loads(m["Body"]) for m in messages]
    assert [(e["detail-type"], e["detail"]["streamId"]) for e in delivered] == [
        ("Stream Finished", done),
        ("Stream Finished", deleted),
    ]

    dynamodb = local_stack.client("dynamodb")
    dynamodb.create_table(
        TableName="sample-messages",
        AttributeDefinitions=[
            {"AttributeName": "threadId", "AttributeType": "S"},
            {"AttributeName": "streamId", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "threadId", "KeyType": "HASH"},
            {"AttributeName": "streamId", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    variables = function["Properties"]["Environment"]["Variables"]
    assert set(variables) == {"AGENT_STREAMS_STACK", "MESSAGES_TABLE"}
    monkeypatch.setenv("AGENT_STREAMS_STACK", local_stack.stack_name)
    monkeypatch.setenv("MESSAGES_TABLE", "sample-messages")
    monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", local_stack.url)  # the stack's Invoke API
    sample = load_sample()
    sample.handler(delivered[0], None)
    sample.handler(delivered[0], None)  # at least once: the same event again is harmless
    with pytest.raises(RuntimeError, match="StreamNotFound"):
        sample.handler(delivered[1], None)  # deleted before the function ran

    (item,) = dynamodb.scan(TableName="sample-messages")["Items"]
    assert (item["threadId"]["S"], item["streamId"]["S"]) == (thread, done)
    saved = json.loads(item["uiMessage"]["S"])
    assert saved == api.get(f"/streams/{done}/message")[1]["uiMessage"]
    assert saved["text"] == "The final answer."
    dynamodb.delete_table(TableName="sample-messages")

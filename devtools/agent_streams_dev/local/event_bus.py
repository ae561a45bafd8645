"""What the stack puts on its EventBridge bus, as a subscriber of the bus sees it.

``publish_events`` puts the lifecycle events on the stack's bus (the template's
``EventBusName``) at the endpoint, as on AWS. The local stack subscribes the way an
application would: a rule on that bus matching the stack's own events (source
``agent-streams``, ``detail.stack`` the stack's name) with a queue as its target,
which it reads after every delivery (``GET /_local/events`` lists what it read). So
the events go through the endpoint's EventBridge, rule matching included, and the
same works against any endpoint that has EventBridge and SQS.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

from agent_streams.lifecycle_events import SOURCE


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class EventObserver:
    def __init__(self, client: Any, sqs: Any, *, bus: str, stack_name: str) -> None:
        self._events = client
        self._sqs = sqs
        self.bus = bus
        self.stack_name = stack_name
        self.rule = f"{stack_name}-local-observer"
        self.queue_url = ""
        self._seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def install(self) -> EventObserver:
        """The bus (unless it is the account's default), a queue, and the rule between."""
        if self.bus != "default":
            try:
                self._events.create_event_bus(Name=self.bus)
            except Exception as exc:
                if _error_code(exc) != "ResourceAlreadyExistsException":
                    raise
        self.queue_url = self._sqs.create_queue(QueueName=f"{self.stack_name}-local-events")[
            "QueueUrl"
        ]
        queue_arn = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["QueueArn"]
        )["Attributes"]["QueueArn"]
        pattern = {"source": [SOURCE], "detail": {"stack": [self.stack_name]}}
        self._events.put_rule(
            Name=self.rule, EventBusName=self.bus, EventPattern=json.dumps(pattern), State="ENABLED"
        )
        self._events.put_targets(
            Rule=self.rule, EventBusName=self.bus, Targets=[{"Id": "local", "Arn": queue_arn}]
        )
        return self

    def collect(self) -> int:
        """Read what the rule delivered since the last call; how many events."""
        found = 0
        while True:
            reply = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
            )
            messages = reply.get("Messages") or []
            if not messages:
                return found
            for message in messages:
                event = json.loads(message["Body"])
                with self._lock:
                    self._seen.append(
                        {
                            "source": event.get("source"),
                            "detailType": event.get("detail-type"),
                            "detail": event.get("detail"),
                            "time": _iso_time(event.get("time")),
                        }
                    )
                found += 1
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    def events(self) -> list[dict[str, Any]]:
        """The events seen so far, oldest first."""
        with self._lock:
            return [dict(event) for event in self._seen]


def _iso_time(value: Any) -> Any:
    """EventBridge's ``time`` (``2026-01-01T00:00:00Z``), whatever the endpoint sent."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value

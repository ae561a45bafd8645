"""Logger, Tracer and Metrics, made once and shared by every function.

Metrics an operator watches: DeltasWritten, DeltaBytes, DeltaConflicts,
StreamsCreated, StreamsFinished, StreamsAborted, StreamsTimedOut,
StreamsCleanedUp, ThreadsDeleted, ScheduleFailures.
"""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

SERVICE = "agent-streams"

logger = Logger(service=SERVICE)
tracer = Tracer(service=SERVICE)
metrics = Metrics(namespace="AgentStreams", service=SERVICE)


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    metrics.add_metric(name=name, unit=unit, value=value)


# A function that adds no metric in an invocation is normal here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish")

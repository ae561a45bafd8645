"""Logger, Tracer and Metrics, made once and shared by every function.

Metrics an operator watches: DeltasWritten, DeltaBytes, DeltaConflicts,
StreamsCreated, StreamsFinished, StreamsAborted, StreamsTimedOut, StreamsExpired,
StreamsCleanedUp, ThreadsDeleted, ScheduleFailures, DeletionsHandedOver, AwsRetries
(transient AWS failures retried; see ``agent_streams.retries``).
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

SERVICE = "agent-streams"

logger = Logger(service=SERVICE)
#: Not patched at import: patching imports botocore's client machinery, which a handler
#: needs only once it talks to AWS. :func:`trace_aws_calls` patches when the service builds
#: its AWS adapters, before any client exists, so every AWS call is traced as before.
tracer = Tracer(service=SERVICE, auto_patch=False)
metrics = Metrics(namespace="AgentStreams", service=SERVICE)

#: What the functions call AWS through (Powertools' default patches every library X-Ray
#: knows; the others are never used here, and trying them costs imports).
TRACED_MODULES = ("botocore", "pynamodb")
_traced = False
_trace_lock = threading.Lock()


def trace_aws_calls() -> None:
    """Have X-Ray trace the AWS SDK's calls (once; a no-op where tracing is disabled)."""
    global _traced
    with _trace_lock:
        if not _traced:
            if not tracer.disabled:
                # As Powertools' patch_all did: a module that cannot be patched is skipped,
                # never a reason to fail the invocation.
                provider: Any = tracer.provider
                provider.patch(TRACED_MODULES, raise_errors=False)
            _traced = True


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    # Powertools keeps metrics it will never publish when they are disabled (the local
    # stack, tests) and prints them every 100: do not hand it any.
    if is_metrics_disabled():
        return
    metrics.add_metric(name=name, unit=unit, value=value)


# A function that adds no metric in an invocation is normal here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish")

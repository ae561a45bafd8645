"""Logger, Metrics and the Tracer, made once and shared by every function.

The metrics an operator watches are in :data:`METRICS` (the dashboard in
``template.yaml`` shows them; a test checks it names no other).

X-Ray is loaded on the first invocation that X-Ray records. Lambda samples a few
requests a second: an invocation it does not sample carries ``Sampled=0`` in
``_X_AMZN_TRACE_ID``, and the X-Ray SDK would only make it dummy subsegments that
are never sent, after importing the SDK (and through it wrapt and asyncio) and
patching botocore, a fifth of a first invocation. botocore itself passes the trace
header on to AWS (its ``add_recursion_detection_header``), so downstream services
see the same trace either way. The first recorded invocation creates the Tracer
and patches botocore and PynamoDB at class level, so clients made before are
traced from then on.
"""

from __future__ import annotations

import functools
import os
import threading
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

SERVICE = "agent-streams"
NAMESPACE = "AgentStreams"

#: Every metric the functions publish (namespace ``AgentStreams``; dimensions ``service``
#: and, where the template names it, ``stack``: see :func:`use_stack_dimension`).
#: A test checks that every ``count(...)`` names one of these.
METRICS = frozenset(
    {
        "DeltasWritten",
        "DeltaBytes",
        "DeltaConflicts",
        "StreamsCreated",
        "StreamsFinished",
        "StreamsAborted",
        "StreamsTimedOut",
        # Streams aborted at the end of their lifetime (reason "expired").
        "StreamsExpired",
        "StreamsCleanedUp",
        "ScheduleFailures",
        # Sync deletions that handed the rest over to the state machine (202).
        "DeletionsHandedOver",
        # Transient AWS failures retried (see agent_streams.retries).
        "AwsRetries",
        # A reply of 503 ServiceUnavailable (AWS kept throttling or failing).
        "ServiceUnavailable",
        # Lifecycle events put on the bus (publish_events; at least once: a batch handed
        # over again counts again).
        "EventsPublished",
        # Ended streams' snapshots: stored, their compressed size, skipped (a message
        # too large to keep) and failed (the event still goes out either way; readers
        # materialise from the deltas).
        "SnapshotsStored",
        "SnapshotsSkipped",
        "SnapshotBytes",
        "SnapshotFailures",
        # Parts too large for a delta item, stored in S3, and read back (storage.spill).
        "PartsSpilled",
        "SpilledPartsRead",
    }
)

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)

#: What the functions call AWS through (Powertools' default patches every library X-Ray
#: knows; the others are never used here, and trying them costs imports).
TRACED_MODULES = ("botocore", "pynamodb")
TRACE_HEADER = "_X_AMZN_TRACE_ID"

_tracer: Tracer | None = None
_tracer_lock = threading.Lock()
_cold = True

H = TypeVar("H", bound=Callable[..., Any])


def recorded(header: str | None) -> bool:
    """Whether X-Ray may record an invocation carrying this trace header.

    The SDK records only ``Sampled=1`` (with a root and a parent); anything but an absent
    header or an explicit ``Sampled=0`` is left to it.
    """
    if not header:
        return False
    fields = dict(part.split("=", 1) for part in header.split(";") if "=" in part)
    return fields.get("Sampled", "").strip() != "0"


def tracer() -> Tracer:
    """The Powertools Tracer, made (and botocore and PynamoDB patched) on first use."""
    global _tracer
    with _tracer_lock:
        if _tracer is None:
            from aws_lambda_powertools import Tracer

            made = Tracer(service=SERVICE, auto_patch=False)
            if not made.disabled:
                # As Powertools' patch_all does: a module that cannot be patched is
                # skipped, never a reason to fail the invocation.
                provider: Any = made.provider
                provider.patch(TRACED_MODULES, raise_errors=False)
            _tracer = made
        return _tracer


def capture_lambda_handler(handler: H) -> H:
    """``Tracer.capture_lambda_handler``, for the invocations X-Ray records only.

    A recorded invocation runs in a ``## <handler>`` subsegment annotated ``ColdStart``
    and ``Service`` (an exception is recorded on it by the SDK). Unlike Powertools', the
    reply is not added as metadata: it is user content, and a large one would push the
    subsegment over X-Ray's 64 KB document limit. ``ColdStart`` is this module's own: the
    first invocation of a process is cold whether or not it was recorded.
    """
    name = f"## {handler.__name__}"

    @functools.wraps(handler)
    def run(event: Any, context: Any) -> Any:
        global _cold
        cold, _cold = _cold, False
        if not recorded(os.environ.get(TRACE_HEADER)):
            return handler(event, context)
        active = tracer()
        provider: Any = active.provider
        with provider.in_subsegment(name=name) as subsegment:
            subsegment.put_annotation("ColdStart", cold)
            subsegment.put_annotation("Service", SERVICE)
            return handler(event, context)

    return run  # type: ignore[return-value]


def use_stack_dimension(stack_name: str) -> None:
    """Give every metric from now on a ``stack`` dimension (kept across invocations)."""
    if stack_name:
        metrics.set_default_dimensions(stack=stack_name)


def count(name: str, value: float = 1, unit: MetricUnit = MetricUnit.Count) -> None:
    # Powertools keeps metrics it will never publish when they are disabled (the local
    # stack, tests) and prints them every 100: do not hand it any.
    if is_metrics_disabled():
        return
    metrics.add_metric(name=name, unit=unit, value=value)


def reset_tracer() -> None:
    """Forget the Tracer and the cold start (tests)."""
    global _tracer, _cold
    with _tracer_lock:
        _tracer = None
        _cold = True


# A function that adds no metric in an invocation is normal here, not a mistake.
warnings.filterwarnings("ignore", message="No application metrics to publish")

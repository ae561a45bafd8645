"""The local stack: the whole service on one machine, wired from ``template.yaml``.

- AWS is an embedded moto server (or any endpoint given), holding the
  template's tables and index, schedule group, DLQ and state machine.
- The functions run in this process, each invocation on its own thread with
  Lambda's limits (``invocations.py``); the HTTP API maps the template's routes to
  them with API Gateway's limits and JWT authorizer (``api_gateway.py``,
  ``http_server.py``, ``jwt_authorizer.py``); Lambda's Invoke API is mounted on the
  same port (``lambda_api.py``); the state machine's Lambda tasks reach them through
  a botocore hook. Every caller takes the same invocation path.
- The live reads (SSE), at a Function URL on AWS, are served on the same port by the
  function's own ASGI app (``asgi.py``), configured from the template as deployed with
  the stack's parameters (``--jwt-issuer`` puts it in JWT mode, as it puts the HTTP
  API's reader routes behind the authorizer). CORS is answered by the HTTP server as
  the HTTP API's ``CorsConfiguration`` and the URL's ``Cors`` say (``cors.py``).
- DynamoDB's limits that moto does not enforce are enforced on the runtime's own
  requests (``dynamo_limits.py``), whatever the endpoint.
- A virtual clock drives the service; schedules fire when it passes their time
  (``advance`` skips ahead and fires everything due, in order).
- The tables' DynamoDB streams feed the template's event source mappings
  (``event_sources.py``), which invoke ``publish_events``; what it puts on the
  stack's EventBridge bus is read back through a rule and a queue
  (``event_bus.py``) and listed at ``GET /_local/events``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from agent_streams_dev.local import invocations
from agent_streams_dev.local.api_gateway import INTEGRATION_TIMEOUT_S, HttpApi
from agent_streams_dev.local.asgi import APP_DIR as LIVE_APP_DIR
from agent_streams_dev.local.asgi import AsgiBridge
from agent_streams_dev.local.asl import LocalWorkflows
from agent_streams_dev.local.clock import VirtualClock
from agent_streams_dev.local.cors import CorsRules
from agent_streams_dev.local.counting import BACKGROUND_HEADER
from agent_streams_dev.local.dynamo_limits import DynamoLimits, key_schemas
from agent_streams_dev.local.event_bus import EventObserver
from agent_streams_dev.local.event_sources import (
    EventSourceMappings,
    Filters,
    StreamMapping,
    mark_background,
)
from agent_streams_dev.local.functions import LocalFunctions
from agent_streams_dev.local.http_server import LocalEndpoints, LocalHttpServer
from agent_streams_dev.local.lambda_api import PATH_PREFIX as LAMBDA_PATH_PREFIX
from agent_streams_dev.local.lambda_api import LambdaInvokeApi
from agent_streams_dev.local.resources import StackResources, ensure_resources, settings_environment
from agent_streams_dev.local.schedules import ScheduleRunner
from agent_streams_dev.local.template import PROJECT_ROOT, Template, load_template

log = logging.getLogger(__name__)

_BACKGROUND_ID = "agent-streams-local-background"
#: The background header's value on the requests reading the bus back.
OBSERVER = "event-observer"

DEFAULT_PORT = 3000
DEFAULT_STACK_NAME = "agent-streams-local"
#: How often real-time mode looks for due schedules.
POLL_SECONDS = 0.5


class LocalStack:
    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        aws_endpoint: str | None = None,
        real_time: bool = False,
        stack_name: str = DEFAULT_STACK_NAME,
        region: str = "us-east-1",
        template: Template | None = None,
        jwt_issuer: str | None = None,
        jwt_audience: str | Sequence[str] | None = None,
        parameters: Mapping[str, str] | None = None,
        integration_timeout_s: float = INTEGRATION_TIMEOUT_S,
        live: AsgiBridge | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.aws_endpoint = aws_endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
        self.stack_name = stack_name
        self.region = region
        self.template = template or load_template()
        #: The template's parameters as this stack deploys it (``--jwt-issuer``…).
        self.parameters = dict(parameters or {})
        if jwt_issuer:
            audiences = (
                [jwt_audience] if isinstance(jwt_audience, str) else list(jwt_audience or [])
            )
            if not audiences:
                raise ValueError("a JWT issuer needs at least one audience (--jwt-audience)")
            self.parameters.update(JwtIssuer=jwt_issuer, JwtAudience=",".join(audiences))
        broken = self.template.failed_rules(self.parameters)
        if broken:
            raise ValueError("the template refuses these parameters: " + "; ".join(broken))
        self.integration_timeout_s = integration_timeout_s
        self.clock = VirtualClock(real_time=real_time)
        self._moto: Any = None
        self._http: LocalHttpServer | None = None
        self._runner: ScheduleRunner | None = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._fire_lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self._hook: Callable[..., Any] | None = None
        self._runtime_events: Any = None
        self._background_functions: set[str] = set()
        self._clients: dict[str, Any] = {}
        self._limits: DynamoLimits | None = None
        self.api: HttpApi | None = None
        self.functions: LocalFunctions | None = None
        #: Lambda's Invoke API on the stack's port (any AWS SDK's ``endpoint_url``).
        self.lambda_api: LambdaInvokeApi | None = None
        self.local_workflows: LocalWorkflows | None = None
        self.resources: StackResources | None = None
        #: The tables' streams feeding publish_events, and what it published.
        self.event_sources: EventSourceMappings | None = None
        self.event_observer: EventObserver | None = None
        self.endpoint = ""
        #: The live reads (SSE): the stream_events function's app (default: as the
        #: template deploys it with the stack's parameters).
        self.live = live

    # -- life ---------------------------------------------------------------------

    def start(self) -> LocalStack:
        self._set_env(
            {
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "POWERTOOLS_METRICS_DISABLED": os.environ.get(
                    "POWERTOOLS_METRICS_DISABLED", "true"
                ),
                "POWERTOOLS_TRACE_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": os.environ.get("POWERTOOLS_LOG_LEVEL", "WARNING"),
            }
        )
        if self.aws_endpoint is None:
            self._start_moto()
        else:
            self.endpoint = self.aws_endpoint
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
                if not os.environ.get(name):
                    self._set_env({name: "local"})
        self._set_env({"AWS_ENDPOINT_URL": self.endpoint})

        from agent_streams.aws import reset_clients
        from agent_streams.config import reset_settings
        from agent_streams.service.context import aws_services, use_services

        reset_clients()
        self.functions = LocalFunctions(self.template, self.stack_name, self.region)
        self.resources = ensure_resources(
            self.template,
            self.functions,
            stack_name=self.stack_name,
            region=self.region,
            clients=self.client,
            parameters=self.parameters,
        )
        bus = self.parameters.get("EventBusName")
        if bus:
            self.resources = dataclasses.replace(
                self.resources,
                settings=dataclasses.replace(self.resources.settings, event_bus_name=bus),
            )
        self._set_env(settings_environment(self.resources.settings))
        reset_settings()
        self._hold_runtime_to_limits()
        services = aws_services(self.resources.settings, self.clock)
        if not self._endpoint_runs_executions():
            # An endpoint in another process cannot call this process's functions back:
            # run the state machine's executions here instead.
            from agent_streams_dev.local.asl import LocalStateMachine, LocalWorkflows

            machine = LocalStateMachine(
                self.resources.definition, self.functions, lambda: self.client("dynamodb")
            )
            self.local_workflows = LocalWorkflows(machine, self.resources.state_machine_arn)
            services.workflows = self.local_workflows
        use_services(services)
        self._install_lambda_hook()
        self._runner = ScheduleRunner(
            self.client("scheduler"),
            self.resources.settings.schedule_group,
            self.functions,
            self.clock,
        )
        self.api = HttpApi(
            self.template,
            self.functions,
            parameters=self.parameters,
            now_s=lambda: self.clock.now_ms() / 1000,
            integration_timeout_s=self.integration_timeout_s,
        )
        if self.parameters.get("JwtIssuer") and not self.api.jwt_routes():
            log.warning("--jwt-issuer is set, but no route of the template uses the JWT authorizer")
        from agent_streams.observability import SERVICE

        self.lambda_api = LambdaInvokeApi(self.functions, region=self.region)
        self.lambda_api.install_log_capture(SERVICE)
        self._start_event_sources()
        self._http = LocalHttpServer(self.host, self.port, self.api, self._endpoints())
        self._http.after_request = self.event_sources.wake if self.event_sources else None
        self._http.mount(LAMBDA_PATH_PREFIX, self.lambda_api.handle, self.lambda_api.refusal)
        self._mount_live_reads(self._http)
        self.port = self._http.port
        self._http.start()
        if self.clock.real_time:
            self._poller = threading.Thread(
                target=self._poll, name="agent-streams-schedules", daemon=True
            )
            self._poller.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._poller is not None:
            self._poller.join(timeout=5)
        if self._http is not None:
            self._http.stop()
        if self.event_sources is not None:
            self.event_sources.stop()
        if self.lambda_api is not None:
            self.lambda_api.close()
        if self._hook is not None:
            import boto3

            boto3._get_default_session().events.unregister("before-call.lambda.Invoke", self._hook)
        if self._runtime_events is not None:
            invocations.unguard_aws_calls(self._runtime_events)
            self._runtime_events.unregister("before-send", unique_id=_BACKGROUND_ID)
            if self._limits is not None:
                self._limits.uninstall(self._runtime_events)
            invocations.propagate_invocations(False)
            self._runtime_events = None
        from agent_streams.service.context import use_services

        use_services(None)
        if self._moto is not None:
            self._moto.stop()
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        from agent_streams.aws import reset_clients
        from agent_streams.config import reset_settings

        reset_clients()
        reset_settings()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def http_server(self) -> LocalHttpServer:
        """The running HTTP server (``mount`` another handler on a path prefix)."""
        if self._http is None:
            raise RuntimeError("the local stack is not started")
        return self._http

    def client(self, service: str) -> Any:
        import boto3

        session: Any = boto3.session.Session(region_name=self.region)
        return session.client(service, endpoint_url=self.endpoint)

    def _cached_client(self, service: str) -> Any:
        """One client per service for the stack's own frequent calls (making one loads
        the endpoint data, a tenth of a second)."""
        found = self._clients.get(service)
        if found is None:
            found = self._clients[service] = self.client(service)
        return found

    # -- time -----------------------------------------------------------------------

    def fire_due(self) -> list[str]:
        assert self._runner is not None
        with self._fire_lock:
            return self._runner.fire_due()

    def advance(self, seconds: float) -> dict[str, Any]:
        """Move the clock ``seconds`` ahead, firing every schedule due on the way at its
        own time, then wait for the state machine executions that started."""
        assert self._runner is not None
        if seconds < 0:
            raise ValueError("seconds must not be negative")
        target = self.clock.now_ms() + round(seconds * 1000)
        fired: list[str] = []
        with self._fire_lock:
            # What each firing set off (its executions, the events of its transitions)
            # runs at its own time, before the clock moves on.
            self.settle()
            while True:
                next_due = self._runner.next_due_ms()
                if next_due is None or next_due > target:
                    break
                self.clock.advance_to(next_due)
                fired += self._runner.fire_due()
                self.settle()
            self.clock.advance_to(target)
            fired += self._runner.fire_due()
            self.settle()
        return {"now": self.clock.now_ms(), "fired": fired}

    def settle(self) -> None:
        """Wait for the state machine executions running, then for the event source
        mappings to deliver every record written so far (and their events to be read)."""
        self.wait_for_executions()
        if self.event_sources is not None:
            self.event_sources.drain()

    def wait_for_executions(self, timeout: float = 120.0) -> None:
        """Block until no state machine execution of the stack is running."""
        assert self.resources is not None
        if self.local_workflows is not None:
            if not self.local_workflows.wait(timeout):
                raise TimeoutError("state machine executions still running")
            return
        sfn = self._cached_client("stepfunctions")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            running = sfn.list_executions(
                stateMachineArn=self.resources.state_machine_arn, statusFilter="RUNNING"
            )["executions"]
            if not running:
                return
            time.sleep(0.05)
        raise TimeoutError("state machine executions still running")

    def _poll(self) -> None:
        while not self._stopping.wait(POLL_SECONDS):
            try:
                self.fire_due()
            except Exception:
                log.exception("firing schedules failed")

    # -- wiring ---------------------------------------------------------------------

    def _start_moto(self) -> None:
        from moto.core.config import default_user_config
        from moto.server import ThreadedMotoServer

        from agent_streams_dev.local import moto_compat

        moto_compat.apply()
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        # moto's ASL interpreter logs, as errors, the JSON paths it evaluates and finds
        # absent even where the state machine expects them to be (the optional
        # `$.streamId` / `$.createdBefore` of a scoped deletion); an execution that really
        # fails is seen in its status and history, which the stack reads.
        logging.getLogger("moto.stepfunctions.parser").setLevel(logging.CRITICAL)
        # moto runs Step Functions' ASL only when asked to.
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"
        # moto's interpreter calls AWS back at this port; the credentials are moto's.
        self._set_env(
            {
                "MOTO_PORT": str(port),
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_SESSION_TOKEN": "local",
            }
        )

    def _endpoint_runs_executions(self) -> bool:
        """Whether the endpoint's Step Functions can run executions that reach this
        process's functions: moto's interpreter, running in this process."""
        if self._moto is not None:
            return True
        try:
            from moto.core.config import default_user_config
        except ImportError:
            return False
        return bool(default_user_config.get("stepfunctions", {}).get("execute_state_machine"))

    def _hold_runtime_to_limits(self) -> None:
        """Hooks on the runtime's botocore session (fresh: its clients copy them): the
        invocations' deadlines and DynamoDB's limits."""
        from agent_streams import aws

        assert self.resources is not None
        events = aws.session().get_component("event_emitter")
        invocations.guard_aws_calls(events)
        events.register("before-send", self._mark_background, unique_id=_BACKGROUND_ID)
        tables = {
            self.resources.table_names[logical_id]: spec.properties
            for logical_id, spec in self.template.tables().items()
        }
        self._limits = DynamoLimits(key_schemas(tables), self.clock.now_ms)
        self._limits.install(events)
        invocations.propagate_invocations(True)
        self._runtime_events = events

    def _start_event_sources(self) -> None:
        """The template's event source mappings on the tables' streams, and the observer of
        the bus their function publishes to."""
        assert self.resources is not None
        assert self.functions is not None
        mappings: list[StreamMapping] = []
        by_logical_id = {f.spec.logical_id: f for f in self.functions.by_operation.values()}
        for spec in self.template.event_source_mappings():
            stream_arn = self.resources.stream_arns.get(spec.table_id)
            function = by_logical_id.get(spec.function_id)
            if stream_arn is None or function is None:
                log.warning("event source mapping %s has no stream or function", spec.logical_id)
                continue
            mappings.append(
                StreamMapping(
                    spec,
                    function,
                    stream_arn,
                    Filters(spec.filters),
                    self.resources.queue_urls.get(spec.on_failure_id or ""),
                )
            )
        if not mappings:
            return
        settings = self.resources.settings
        self.event_observer = EventObserver(
            mark_background(self.client("events"), OBSERVER),
            mark_background(self.client("sqs"), OBSERVER),
            bus=settings.event_bus_name,
            stack_name=settings.stack_name,
        ).install()
        self._background_functions = {m.function.name for m in mappings}
        self.event_sources = EventSourceMappings(
            mappings, self.client, self.clock.now_ms, after_cycle=self.event_observer.collect
        ).start()

    def _mark_background(self, request: Any, **_: Any) -> None:
        """Requests of the functions the event source mappings invoke are background ones
        for the counting proxy (``counting.py``): not part of any operation's count."""
        invocation = invocations.current()
        if invocation is not None and invocation.function_name in self._background_functions:
            request.headers[BACKGROUND_HEADER] = invocation.function_name

    def _install_lambda_hook(self) -> None:
        import boto3

        assert self.functions is not None
        self._hook = self.functions.lambda_invoke_hook()
        boto3._get_default_session().events.register("before-call.lambda.Invoke", self._hook)

    def _mount_live_reads(self, server: LocalHttpServer) -> None:
        url = next(
            (u for u in self.template.function_urls(self.parameters) if u.code_dir == LIVE_APP_DIR),
            None,
        )
        if self.live is None:
            if url is None:
                log.warning("the template has no Function URL for the live reads")
                return
            self.live = AsgiBridge.deployed(url.environment)
        cors = None if url is None or url.cors is None else CorsRules.function_url(url.cors)
        self.live.mount(server, cors=cors)

    def _endpoints(self) -> LocalEndpoints:
        def advance(body: Any) -> tuple[int, Any]:
            seconds = body.get("seconds") if isinstance(body, dict) else None
            if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds < 0:
                return 400, {"message": 'give {"seconds": n} with n >= 0'}
            return 200, self.advance(float(seconds))

        def clock(_: Any) -> tuple[int, Any]:
            return 200, {"now": self.clock.now_ms(), "realTime": self.clock.real_time}

        def openapi(_: Any) -> tuple[int, Any]:
            return 200, json.loads((PROJECT_ROOT / "openapi.json").read_text(encoding="utf-8"))

        def events(_: Any) -> tuple[int, Any]:
            observer = self.event_observer
            return 200, [] if observer is None else observer.events()

        return {
            ("POST", "/_local/clock/advance"): advance,
            ("GET", "/_local/clock"): clock,
            ("GET", "/_local/events"): events,
            ("GET", "/openapi.json"): openapi,
        }

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

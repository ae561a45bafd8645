"""The local stack: the whole service on one machine, wired from ``template.yaml``.

- AWS is an embedded moto server (or any endpoint given), holding the
  template's tables and index, schedule group, DLQ and state machine.
- The functions run in this process; the HTTP API maps the template's routes
  to them; the state machine's Lambda tasks reach them through a botocore hook.
- A virtual clock drives the service; schedules fire when it passes their time
  (``advance`` skips ahead and fires everything due, in order).
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from agent_streams_dev.local.asgi import AsgiBridge
from agent_streams_dev.local.asl import LocalWorkflows
from agent_streams_dev.local.clock import VirtualClock
from agent_streams_dev.local.functions import LocalFunctions
from agent_streams_dev.local.http_server import LocalEndpoints, LocalHttpServer
from agent_streams_dev.local.resources import StackResources, ensure_resources, settings_environment
from agent_streams_dev.local.schedules import ScheduleRunner
from agent_streams_dev.local.template import PROJECT_ROOT, Template, load_template

log = logging.getLogger(__name__)

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
        live: AsgiBridge | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.aws_endpoint = aws_endpoint or os.environ.get("AWS_ENDPOINT_URL") or None
        self.stack_name = stack_name
        self.region = region
        self.template = template or load_template()
        self.clock = VirtualClock(real_time=real_time)
        self._moto: Any = None
        self._http: LocalHttpServer | None = None
        self._runner: ScheduleRunner | None = None
        self._poller: threading.Thread | None = None
        self._stopping = threading.Event()
        self._fire_lock = threading.Lock()
        self._saved_env: dict[str, str | None] = {}
        self._hook: Callable[..., Any] | None = None
        self.functions: LocalFunctions | None = None
        self.local_workflows: LocalWorkflows | None = None
        self.resources: StackResources | None = None
        self.endpoint = ""
        #: The live reads (SSE): the stream_events function's app (default: open, any origin).
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
        )
        self._set_env(settings_environment(self.resources.settings))
        reset_settings()
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
        self.live = self.live or AsgiBridge.live_reads()
        self._http = LocalHttpServer(
            self.host, self.port, self.functions, self._endpoints(), self.live
        )
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
        if self._hook is not None:
            import boto3

            boto3._get_default_session().events.unregister("before-call.lambda.Invoke", self._hook)
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

    def client(self, service: str) -> Any:
        import boto3

        session: Any = boto3.session.Session(region_name=self.region)
        return session.client(service, endpoint_url=self.endpoint)

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
            while True:
                next_due = self._runner.next_due_ms()
                if next_due is None or next_due > target:
                    break
                self.clock.advance_to(next_due)
                fired += self._runner.fire_due()
            self.clock.advance_to(target)
            fired += self._runner.fire_due()
        self.wait_for_executions()
        return {"now": self.clock.now_ms(), "fired": fired}

    def wait_for_executions(self, timeout: float = 120.0) -> None:
        """Block until no state machine execution of the stack is running."""
        assert self.resources is not None
        if self.local_workflows is not None:
            if not self.local_workflows.wait(timeout):
                raise TimeoutError("state machine executions still running")
            return
        sfn = self.client("stepfunctions")
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

    def _install_lambda_hook(self) -> None:
        import boto3

        assert self.functions is not None
        self._hook = self.functions.lambda_invoke_hook()
        boto3._get_default_session().events.register("before-call.lambda.Invoke", self._hook)

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

        return {
            ("POST", "/_local/clock/advance"): advance,
            ("GET", "/_local/clock"): clock,
            ("GET", "/openapi.json"): openapi,
        }

    def _set_env(self, values: dict[str, str]) -> None:
        for name, value in values.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value

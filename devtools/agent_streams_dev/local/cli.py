"""``agent-streams local``: the HTTP API on localhost until interrupted."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from agent_streams_dev.local.stack import DEFAULT_PORT, DEFAULT_STACK_NAME, LocalStack

#: SIGTERM/SIGINT end the process within this many seconds, whatever is still running.
STOP_GRACE_S = 1.5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="HTTP port (default 3000; 0 picks one)"
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument(
        "--aws-endpoint",
        default=None,
        help="use this AWS endpoint for every service instead of the embedded moto "
        "(AWS_ENDPOINT_URL is honoured too); the stack's resources are created there if missing",
    )
    parser.add_argument(
        "--real-time",
        action="store_true",
        help="run the clock in real time (default: it moves only with POST /_local/clock/advance)",
    )
    parser.add_argument("--stack-name", default=DEFAULT_STACK_NAME, help="prefix of resource names")
    parser.add_argument(
        "--jwt-issuer",
        default=None,
        metavar="URL",
        help="deploy the template's JWT authorizer with this issuer (its JwtIssuer parameter): "
        "the routes behind it and the live reads then need a token the issuer signed "
        "(keys from URL/.well-known/openid-configuration)",
    )
    parser.add_argument(
        "--jwt-audience",
        action="append",
        default=None,
        metavar="AUD",
        help="an audience the JWT authorizer accepts (repeat for more; needed with --jwt-issuer)",
    )


def run(args: argparse.Namespace) -> int:
    if args.jwt_issuer and not args.jwt_audience:
        print("agent-streams local: --jwt-issuer needs --jwt-audience", file=sys.stderr)
        return 2
    stack = LocalStack(
        port=args.port,
        host=args.host,
        aws_endpoint=args.aws_endpoint,
        real_time=args.real_time,
        stack_name=args.stack_name,
        jwt_issuer=args.jwt_issuer,
        jwt_audience=args.jwt_audience,
    )
    stopped = threading.Event()

    def stop(*_: object) -> None:
        stopped.set()
        # Whatever is still running (an invocation past its deadline, a slow endpoint)
        # does not keep the process: it is gone within the grace period.
        watchdog = threading.Timer(STOP_GRACE_S, os._exit, (0,))
        watchdog.daemon = True
        watchdog.start()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, stop)
    stack.start()
    print(f"agent-streams local: ready on {stack.url}", flush=True)
    if args.jwt_issuer and stack.api is not None:
        print(
            f"agent-streams local: JWT ({args.jwt_issuer}) on {', '.join(stack.api.jwt_routes())}",
            flush=True,
        )
    if stack.live is not None:
        print(
            f"agent-streams local: live reads (SSE) at {stack.url}/streams/STREAM_ID/events "
            f"and {stack.url}/threads/THREAD_ID/stream"
            + (", a token of the same issuer needed" if args.jwt_issuer else ""),
            flush=True,
        )
    try:
        # The kernel may hand SIGTERM to any of the stack's threads; a main thread asleep
        # in an untimed wait would then never run the handler. Waking up to check lets it.
        while not stopped.wait(timeout=0.2):
            pass
    finally:
        stack.stop()
    # Tearing down the interpreter (moto's backends, botocore's models) takes seconds of
    # its own; everything worth keeping is stopped and flushed by now.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)

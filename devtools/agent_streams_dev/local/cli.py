"""``agent-streams local``: the HTTP API on localhost until interrupted."""

from __future__ import annotations

import argparse
import signal
import threading

from agent_streams_dev.local.stack import DEFAULT_PORT, DEFAULT_STACK_NAME, LocalStack


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


def run(args: argparse.Namespace) -> int:
    stack = LocalStack(
        port=args.port,
        host=args.host,
        aws_endpoint=args.aws_endpoint,
        real_time=args.real_time,
        stack_name=args.stack_name,
    )
    stack.start()
    print(f"agent-streams local: ready on {stack.url}", flush=True)
    print(
        f"agent-streams local: live reads (SSE) at {stack.url}/streams/STREAM_ID/events "
        f"and {stack.url}/threads/THREAD_ID/stream",
        flush=True,
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        stopped.wait()
    finally:
        stack.stop()
    return 0

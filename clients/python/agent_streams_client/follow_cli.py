"""``agent-streams follow THREAD_ID`` (or ``agent-streams-follow``): print a thread's replies live.

Wired by ``agent_streams_dev.cli`` (``add_arguments`` / ``run``). Reads the live
events over HTTP (the local stack by default; polls where no live URL serves them)
and redraws the thread's messages as they grow; on
a pipe it writes plain text and only appends. ``--once`` prints what the thread
has and exits when every stream seen is complete.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TextIO

from agent_streams_client.errors import TransientError
from agent_streams_client.http_transport import Auth, BearerToken
from agent_streams_client.render import LiveRenderer
from agent_streams_client.streams_client import StreamsClient
from agent_streams_protocol.errors import AgentStreamsError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "thread_id", help="the thread to follow (an id that starts with '-' goes after --)"
    )
    parser.add_argument(
        "--url", default="http://127.0.0.1:3000", help="API base URL (default: the local stack)"
    )
    parser.add_argument(
        "--auth",
        choices=("none", "sigv4"),
        default="none",
        help="sign requests with SigV4 (IAM auth, default credential chain)",
    )
    parser.add_argument("--token", help="send 'Authorization: Bearer TOKEN' (JWT authorizer)")
    parser.add_argument("--region", help="region for SigV4 (default: from the URL or AWS config)")
    parser.add_argument(
        "--poll-interval", type=float, default=0.1, help="seconds between polls (default 0.1)"
    )
    parser.add_argument(
        "--statuses",
        default="streaming,finished,aborted",
        help="stream statuses to show (comma-separated)",
    )
    parser.add_argument(
        "--start-order", type=int, default=0, help="only messages at this order or later"
    )
    parser.add_argument(
        "--once", action="store_true", help="print what is there and exit once all is complete"
    )
    parser.add_argument(
        "--live-url",
        help="the live reads URL (the stack's LiveUrl output; default: --url, as the local stack)",
    )
    parser.add_argument(
        "--poll", action="store_true", help="poll list_deltas instead of reading live events"
    )


def _auth(args: argparse.Namespace) -> Auth:
    if args.token:
        return BearerToken(args.token)
    return "sigv4" if args.auth == "sigv4" else None


async def follow(args: argparse.Namespace, out: TextIO) -> None:
    renderer = LiveRenderer(out, tty=out.isatty())
    async with StreamsClient.http(
        args.url, _auth(args), region=args.region, live_url=args.live_url
    ) as client:
        try:
            async for messages in client.follow(
                args.thread_id,
                statuses=tuple(s for s in args.statuses.split(",") if s),
                poll_interval=args.poll_interval,
                start_order=args.start_order,
                stop_when_idle=args.once,
                live=False if args.poll else None,
            ):
                renderer.update(messages)
        finally:
            renderer.close()


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        asyncio.run(follow(args, out))
    except KeyboardInterrupt:
        return 130
    except TransientError as exc:
        print(f"agent-streams follow: {exc}", file=sys.stderr)
        return 2
    except AgentStreamsError as exc:
        print(f"agent-streams follow: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """``agent-streams-follow THREAD_ID`` (the client's own command)."""
    parser = argparse.ArgumentParser(prog="agent-streams-follow", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))

"""The ``agent-streams`` command: ``local``, ``demo``, ``follow``, ``create-resources``.

Each subcommand's module is imported only when it runs, so ``agent-streams follow``
does not pay for moto and ``local`` does not pay for the client.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# subcommand -> (module, help); each module has ``add_arguments(parser)`` and ``run(args) -> int``.
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "local": (
        "agent_streams_dev.local.cli",
        "serve the HTTP API on localhost on an embedded stack",
    ),
    "demo": ("agent_streams_dev.local.demo", "stream a simulated agent reply and follow it live"),
    "follow": ("agent_streams_client.follow_cli", "print a thread's replies live"),
    "create-resources": (
        "agent_streams_dev.local.resources_cli",
        "create the stack's tables, schedule group, queue and state machine at an AWS "
        "endpoint (for sam local)",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="agent-streams")
    sub = parser.add_subparsers(dest="command", required=True)
    modules = {}
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text)
        wanted = argv[0] if argv else (sys.argv[1] if len(sys.argv) > 1 else None)
        if wanted == name:
            module = importlib.import_module(module_name)
            module.add_arguments(sub_parser)
            modules[name] = module
    args = parser.parse_args(argv)
    return int(modules[args.command].run(args))


if __name__ == "__main__":
    sys.exit(main())

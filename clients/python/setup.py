"""The client's dependencies, with the protocol found where it is.

Built from a checkout of the repository, the client depends on the protocol beside it
(``layers/agent_streams_protocol``), so ``pip install ./clients/python`` works alone.
Where that is not wanted — a release build, or a venv that installs the protocol
itself (editable, as ``make venv`` does) — ``AGENT_STREAMS_PROTOCOL_FROM_INDEX=1``
names the published distribution instead.
"""

import os
from pathlib import Path

from setuptools import setup

PROTOCOL = Path(__file__).resolve().parents[2] / "layers" / "agent_streams_protocol"
PUBLISHED = "agent-streams-protocol>=0.2,<0.3"


def protocol_requirement() -> str:
    if (
        os.environ.get("AGENT_STREAMS_PROTOCOL_FROM_INDEX")
        or not (PROTOCOL / "pyproject.toml").is_file()
    ):
        return PUBLISHED
    return f"agent-streams-protocol @ {PROTOCOL.as_uri()}"


setup(install_requires=[protocol_requirement(), "urllib3>=2"])

"""Server-generated ids.

Ids are URL-safe (``[0-9A-Za-z_-]``) and at most 40 characters, so schedule and
execution names can embed them. A stream id starts with a tag derived from its
thread's id: ``list_deltas`` can then tell, without reading anything, whether a
stream belongs to the thread a reader names (the reference trusts the caller).
The tag is 96 bits of SHA-256, so no other thread id can be made to match it.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

ID_PATTERN = re.compile(r"^[0-9A-Za-z_-]{1,40}$")
_THREAD_TAG_CHARS = 16  # 96 bits
_RANDOM_BYTES = 16  # 128 bits -> 22 characters


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def new_thread_id() -> str:
    return _b64(secrets.token_bytes(_RANDOM_BYTES))


def thread_tag(thread_id: str) -> str:
    return _b64(hashlib.sha256(thread_id.encode("utf-8")).digest())[:_THREAD_TAG_CHARS]


def new_stream_id(thread_id: str) -> str:
    return thread_tag(thread_id) + _b64(secrets.token_bytes(_RANDOM_BYTES))


def stream_in_thread(stream_id: str, thread_id: str) -> bool:
    """Whether ``stream_id`` was created in ``thread_id``."""
    return len(stream_id) > _THREAD_TAG_CHARS and stream_id.startswith(thread_tag(thread_id))


def is_valid_id(value: str) -> bool:
    return ID_PATTERN.match(value) is not None

"""Who may read live: the live-reads function's auth mode, from its environment.

``iam`` (the default) trusts the Function URL's ``AWS_IAM`` authorization; ``jwt``
checks ``Authorization: Bearer`` against the issuer's JWKS (``jwt_verifier``; the URL
is then ``NONE``) and lets a subject read only its own threads; ``none`` is for
development.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

AuthMode = Literal["iam", "jwt", "none"]


@dataclass(frozen=True)
class LiveAuth:
    mode: AuthMode = "iam"
    issuer: str = ""
    audiences: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LiveAuth:
        env = os.environ if environ is None else environ
        issuer = env.get("JWT_ISSUER", "")
        audiences = tuple(a for a in env.get("JWT_AUDIENCE", "").split(",") if a)
        mode = env.get("LIVE_AUTH") or ("jwt" if issuer else "iam")
        if mode not in ("iam", "jwt", "none"):
            raise ValueError(f"LIVE_AUTH must be iam, jwt or none, not {mode!r}")
        if mode == "jwt" and not issuer:
            raise ValueError("LIVE_AUTH=jwt needs JWT_ISSUER")
        return cls(mode, issuer, audiences)  # type: ignore[arg-type]

"""A tiny OpenID Connect issuer for the JWT authorizer's tests: a discovery document,
a key set, and tokens signed with a key generated for the test run."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

KID = "test-key-1"


class Issuer:
    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, parameters={"kid": KID, "use": "sig"}, private=True)
        self.fetches = {"discovery": 0, "jwks": 0}
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    issuer.fetches["discovery"] += 1
                    reply = {"issuer": issuer.url, "jwks_uri": f"{issuer.url}/keys"}
                elif self.path == "/keys":
                    issuer.fetches["jwks"] += 1
                    reply = {"keys": [issuer.key.as_dict(private=False)]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def token(
        self, claims: dict[str, Any], *, key: Any = None, kid: str = KID, alg: str = "RS256"
    ) -> str:
        return jwt.encode({"alg": alg, "kid": kid, "typ": "JWT"}, claims, key or self.key)

    @staticmethod
    def stranger_rsa_key() -> RSAKey:
        return RSAKey.generate_key(2048, parameters={"kid": KID}, private=True)

    @staticmethod
    def ec_key() -> ECKey:
        return ECKey.generate_key("P-256", parameters={"kid": KID}, private=True)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

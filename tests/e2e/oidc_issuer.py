"""A tiny OpenID Connect issuer for the JWT authorizer's tests: a discovery document,
a key set, and tokens signed with a key generated for the test run."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import RSAAlgorithm

KID = "test-key-1"


class Issuer:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
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
                    reply = {"keys": [{**public, "kid": KID, "use": "sig"}]}
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
        return jwt.encode(
            claims, key or self.key, algorithm=alg, headers={"kid": kid, "typ": "JWT"}
        )

    @staticmethod
    def stranger_rsa_key() -> rsa.RSAPrivateKey:
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)

    @staticmethod
    def ec_key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

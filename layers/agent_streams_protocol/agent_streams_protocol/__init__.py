"""agent-streams' shared protocol: what the Lambda runtime and the clients both need.

* ``errors`` — the contract's error codes as exception classes (code, HTTP status).
* ``limits`` — the contract's numbers (caps, timeouts, DynamoDB's item size).
* ``materialize`` — deltas → AI SDK UI messages → message docs, an exact port of the
  reference's materialisation (pure Python, standard library only).
"""

__version__ = "0.2.0"

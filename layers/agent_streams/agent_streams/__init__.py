"""agent-streams: a serverless store for streamed LLM output on AWS.

The layer package shared by every Lambda function: domain rules (``service``),
storage (``storage``), handler plumbing (``api``), materialisation
(``materialize``), the Python client (``client``) and the local stack (``local``).
"""

__version__ = "0.1.0"

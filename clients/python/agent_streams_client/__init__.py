"""The Python client of agent-streams, asyncio-first.

- :class:`StreamsClient`: every operation of the contract, over a transport —
  :class:`HttpTransport` (API Gateway; SigV4 or bearer auth), :class:`LambdaTransport`
  (direct invoke of the stack's functions) or :class:`InProcessTransport` (a callable).
- :class:`DeltaStreamer`: writes a streamed reply as deltas (throttled, compressed,
  size-bounded, retried, drained before finish).
- ``client.follow(thread_id)``: a thread's UI messages, live.
- :class:`SyncStreamsClient` / :class:`SyncDeltaStreamer`: the same for sync code.
- ``agent_streams_client.adapters``: LLM SDK stream events → UIMessageChunk parts.

Nothing here reads the environment or creates an AWS client at import time.
"""

from agent_streams_client.compression import (
    compress_parts,
    compress_text_stream_parts,
    compress_ui_message_chunks,
)
from agent_streams_client.delta_streamer import DeltaStreamer
from agent_streams_client.errors import (
    PartTooLarge,
    RemoteError,
    StreamerClosed,
    TransientError,
    UnexpectedResponse,
)
from agent_streams_client.follower import ThreadFollower
from agent_streams_client.http_transport import BearerToken, HttpTransport
from agent_streams_client.inprocess_transport import InProcessTransport
from agent_streams_client.lambda_transport import LambdaTransport
from agent_streams_client.retry import RetryPolicy
from agent_streams_client.streams_client import StreamsClient
from agent_streams_client.sync import SyncDeltaStreamer, SyncStreamsClient
from agent_streams_client.transport import Transport
from agent_streams_client.types import (
    DeleteThreadResult,
    MessageWithMetadata,
    Part,
    StreamCursor,
    StreamDelta,
    StreamMessage,
    StreamState,
    Thread,
    UIMessage,
)

__all__ = [
    "BearerToken",
    "DeleteThreadResult",
    "DeltaStreamer",
    "HttpTransport",
    "InProcessTransport",
    "LambdaTransport",
    "MessageWithMetadata",
    "Part",
    "PartTooLarge",
    "RemoteError",
    "RetryPolicy",
    "StreamCursor",
    "StreamDelta",
    "StreamMessage",
    "StreamState",
    "StreamerClosed",
    "StreamsClient",
    "SyncDeltaStreamer",
    "SyncStreamsClient",
    "Thread",
    "ThreadFollower",
    "TransientError",
    "Transport",
    "UIMessage",
    "UnexpectedResponse",
    "compress_parts",
    "compress_text_stream_parts",
    "compress_ui_message_chunks",
]

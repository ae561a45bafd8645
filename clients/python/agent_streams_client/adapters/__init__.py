"""LLM SDK streams → AI SDK 5 ``UIMessageChunk`` parts, for a ``DeltaStreamer``.

No SDK is imported: events are read by field name, as SDK objects or plain dicts.
Each adapter has a stateful converter (``convert(event)``, ``close()``) and an
async generator over a sync or async SDK stream::

    await streamer.consume(openai_chat_chunks(stream))

Tool results the pipeline produces itself: :func:`tool_output_chunk`,
:func:`tool_error_chunk`.
"""

from agent_streams_client.adapters.anthropic import AnthropicConverter, anthropic_chunks
from agent_streams_client.adapters.bedrock import BedrockConverter, bedrock_chunks
from agent_streams_client.adapters.chunks import (
    error_chunk,
    parse_tool_input,
    tool_error_chunk,
    tool_input_chunk,
    tool_output_chunk,
)
from agent_streams_client.adapters.converter import ChunkConverter, stream_chunks
from agent_streams_client.adapters.openai_chat import OpenAIChatConverter, openai_chat_chunks
from agent_streams_client.adapters.openai_responses import (
    OpenAIResponsesConverter,
    openai_responses_chunks,
)

__all__ = [
    "AnthropicConverter",
    "BedrockConverter",
    "ChunkConverter",
    "OpenAIChatConverter",
    "OpenAIResponsesConverter",
    "anthropic_chunks",
    "bedrock_chunks",
    "error_chunk",
    "openai_chat_chunks",
    "openai_responses_chunks",
    "parse_tool_input",
    "stream_chunks",
    "tool_error_chunk",
    "tool_input_chunk",
    "tool_output_chunk",
]

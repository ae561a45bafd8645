"""Event sequences in each SDK's documented shapes, as plain dicts.

They are also validated into the real SDK types when the SDK is installed (see
``test_client_adapters.py``), which proves both that the shapes are right and
that the adapters read SDK objects as well as dicts.
"""

from __future__ import annotations

from typing import Any

Event = dict[str, Any]


# -- OpenAI Chat Completions ----------------------------------------------------------


def chat_chunk(
    delta: dict[str, Any] | None = None,
    finish_reason: str | None = None,
    usage: dict[str, Any] | None = None,
) -> Event:
    chunk: Event = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "gpt-4o-mini",
        "choices": []
        if delta is None
        else [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }
    if usage is not None:
        chunk["usage"] = usage
    return chunk


CHAT_TEXT: list[Event] = [
    chat_chunk({"role": "assistant", "content": ""}),
    chat_chunk({"content": "Hel"}),
    chat_chunk({"content": "lo"}),
    chat_chunk({}, "stop"),
    chat_chunk(
        usage={
            "prompt_tokens": 10,
            "completion_tokens": 2,
            "total_tokens": 12,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 0},
        }
    ),
]


def _call(index: int, id: str | None = None, name: str | None = None, args: str = "") -> Event:
    call: Event = {"index": index, "function": {"arguments": args}}
    if id is not None:
        call["id"] = id
        call["type"] = "function"
        call["function"]["name"] = name
    return call


CHAT_TOOLS: list[Event] = [
    chat_chunk({"role": "assistant", "content": None}),
    chat_chunk({"content": "Checking."}),
    chat_chunk({"tool_calls": [_call(0, "call_a", "get_weather", "")]}),
    chat_chunk({"tool_calls": [_call(0, args='{"city": ')]}),
    chat_chunk({"tool_calls": [_call(1, "call_b", "get_time", '{"tz"')]}),
    chat_chunk({"tool_calls": [_call(0, args='"Paris"}')]}),
    chat_chunk({"tool_calls": [_call(1, args=': "CET"}')]}),
    chat_chunk({}, "tool_calls"),
]

CHAT_BAD_TOOL: list[Event] = [
    chat_chunk({"tool_calls": [_call(0, "call_x", "broken", '{"a": ')]}),
    chat_chunk({}, "tool_calls"),
]

CHAT_REASONING: list[Event] = [
    chat_chunk({"role": "assistant", "reasoning_content": "Let me "}),
    chat_chunk({"reasoning_content": "think."}),
    chat_chunk({"content": "42"}),
    chat_chunk({}, "length"),
]


# -- OpenAI Responses ---------------------------------------------------------------------


def _response(status: str, **extra: Any) -> Event:
    return {
        "id": "resp_1",
        "object": "response",
        "created_at": 1700000000,
        "model": "gpt-5-mini",
        "status": status,
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        **extra,
    }


_USAGE: Event = {
    "input_tokens": 20,
    "input_tokens_details": {"cached_tokens": 5, "cache_write_tokens": 0},
    "output_tokens": 30,
    "output_tokens_details": {"reasoning_tokens": 12},
    "total_tokens": 50,
}

_MESSAGE_ITEM: Event = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "status": "in_progress",
    "content": [],
}
_REASONING_ITEM: Event = {"id": "rs_1", "type": "reasoning", "summary": []}


def _seq(events: list[Event]) -> list[Event]:
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


RESPONSES_TEXT: list[Event] = _seq(
    [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": _REASONING_ITEM},
        {
            "type": "response.reasoning_summary_part.added",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": ""},
        },
        {
            "type": "response.reasoning_summary_text.delta",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "delta": "Thinking about it.",
        },
        {
            "type": "response.reasoning_summary_part.done",
            "item_id": "rs_1",
            "output_index": 0,
            "summary_index": 0,
            "part": {"type": "summary_text", "text": "Thinking about it."},
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {**_REASONING_ITEM, "summary": [{"type": "summary_text", "text": "x"}]},
        },
        {"type": "response.output_item.added", "output_index": 1, "item": _MESSAGE_ITEM},
        {
            "type": "response.content_part.added",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "part": {"type": "output_text", "text": "", "annotations": []},
        },
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "delta": "See ",
            "logprobs": [],
        },
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "delta": "docs.",
            "logprobs": [],
        },
        {
            "type": "response.output_text.annotation.added",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "annotation_index": 0,
            "annotation": {
                "type": "url_citation",
                "url": "https://example.com/docs",
                "title": "Docs",
                "start_index": 4,
                "end_index": 9,
            },
        },
        {
            "type": "response.output_text.annotation.added",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "annotation_index": 1,
            "annotation": {
                "type": "file_citation",
                "file_id": "file_1",
                "filename": "guide.pdf",
                "index": 9,
            },
        },
        {
            "type": "response.output_text.done",
            "item_id": "msg_1",
            "output_index": 1,
            "content_index": 0,
            "text": "See docs.",
            "logprobs": [],
        },
        {
            "type": "response.output_item.done",
            "output_index": 1,
            "item": {**_MESSAGE_ITEM, "status": "completed"},
        },
        {"type": "response.completed", "response": _response("completed", usage=_USAGE)},
    ]
)

_FUNCTION_ITEM: Event = {
    "id": "fc_1",
    "type": "function_call",
    "call_id": "call_9",
    "name": "lookup",
    "arguments": "",
    "status": "in_progress",
}

RESPONSES_FUNCTION: list[Event] = _seq(
    [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": _FUNCTION_ITEM},
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_1",
            "output_index": 0,
            "delta": '{"q": "py',
        },
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_1",
            "output_index": 0,
            "delta": 'thon"}',
        },
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_1",
            "output_index": 0,
            "arguments": '{"q": "python"}',
            "name": "lookup",
        },
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {**_FUNCTION_ITEM, "arguments": '{"q": "python"}', "status": "completed"},
        },
        {"type": "response.completed", "response": _response("completed", usage=_USAGE)},
    ]
)

_SEARCH_ITEM: Event = {
    "id": "ws_1",
    "type": "web_search_call",
    "status": "in_progress",
    "action": {"type": "search", "query": "weather paris"},
}

RESPONSES_WEB_SEARCH: list[Event] = _seq(
    [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": _SEARCH_ITEM},
        {
            "type": "response.output_item.done",
            "output_index": 0,
            "item": {
                **_SEARCH_ITEM,
                "status": "completed",
                "action": {"type": "search", "query": "weather paris"},
            },
        },
        {
            "type": "response.incomplete",
            "response": _response("incomplete", incomplete_details={"reason": "max_output_tokens"}),
        },
    ]
)

RESPONSES_FAILED: list[Event] = _seq(
    [
        {"type": "response.created", "response": _response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": _MESSAGE_ITEM},
        {
            "type": "response.output_text.delta",
            "item_id": "msg_1",
            "output_index": 0,
            "content_index": 0,
            "delta": "Partial",
            "logprobs": [],
        },
        {
            "type": "response.failed",
            "response": _response(
                "failed", error={"code": "server_error", "message": "The server had an error"}
            ),
        },
    ]
)

RESPONSES_ERROR: list[Event] = _seq(
    [{"type": "error", "code": "rate_limit_exceeded", "message": "Slow down", "param": None}]
)


# -- Anthropic Messages ------------------------------------------------------------------------

_MESSAGE: Event = {
    "id": "msg_01",
    "type": "message",
    "role": "assistant",
    "content": [],
    "model": "claude-sonnet-4-5",
    "stop_reason": None,
    "stop_sequence": None,
    "usage": {
        "input_tokens": 100,
        "output_tokens": 1,
        "cache_read_input_tokens": 50,
        "cache_creation_input_tokens": 0,
    },
}

ANTHROPIC_TOOL: list[Event] = [
    {"type": "message_start", "message": _MESSAGE},
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "thinking", "thinking": "", "signature": ""},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": "The user wants"},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "thinking_delta", "thinking": " weather."},
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "signature_delta", "signature": "sig=="},
    },
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {
        "type": "content_block_delta",
        "index": 1,
        "delta": {"type": "text_delta", "text": "Let me check."},
    },
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": ""},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": '{"city": "Pa'},
    },
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {"type": "input_json_delta", "partial_json": 'ris"}'},
    },
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 42},
    },
    {"type": "message_stop"},
]

ANTHROPIC_WEB_SEARCH: list[Event] = [
    {"type": "message_start", "message": _MESSAGE},
    {
        "type": "content_block_start",
        "index": 0,
        "content_block": {
            "type": "server_tool_use",
            "id": "srvtoolu_1",
            "name": "web_search",
            "input": {},
        },
    },
    {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "input_json_delta", "partial_json": '{"query": "rain"}'},
    },
    {"type": "content_block_stop", "index": 0},
    {
        "type": "content_block_start",
        "index": 1,
        "content_block": {
            "type": "web_search_tool_result",
            "tool_use_id": "srvtoolu_1",
            "content": [
                {
                    "type": "web_search_result",
                    "url": "https://weather.example/paris",
                    "title": "Paris weather",
                    "encrypted_content": "xyz",
                    "page_age": None,
                }
            ],
        },
    },
    {"type": "content_block_stop", "index": 1},
    {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": ""}},
    {
        "type": "content_block_delta",
        "index": 2,
        "delta": {
            "type": "citations_delta",
            "citation": {
                "type": "web_search_result_location",
                "url": "https://weather.example/paris",
                "title": "Paris weather",
                "cited_text": "Rain",
                "encrypted_index": "e",
            },
        },
    },
    {"type": "content_block_delta", "index": 2, "delta": {"type": "text_delta", "text": "Rain."}},
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": 9},
    },
    {"type": "message_stop"},
]

ANTHROPIC_ERROR: list[Event] = [
    {"type": "message_start", "message": _MESSAGE},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hal"}},
    {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}},
]


# -- Bedrock converse_stream ----------------------------------------------------------------------

BEDROCK_TOOL: list[Event] = [
    {"messageStart": {"role": "assistant"}},
    {
        "contentBlockDelta": {
            "delta": {"reasoningContent": {"text": "Need a tool."}},
            "contentBlockIndex": 0,
        }
    },
    {
        "contentBlockDelta": {
            "delta": {"reasoningContent": {"signature": "abc"}},
            "contentBlockIndex": 0,
        }
    },
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "Looking "}, "contentBlockIndex": 1}},
    {"contentBlockDelta": {"delta": {"text": "it up."}, "contentBlockIndex": 1}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {
        "contentBlockStart": {
            "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "search"}},
            "contentBlockIndex": 2,
        }
    },
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"q":'}}, "contentBlockIndex": 2}},
    {"contentBlockDelta": {"delta": {"toolUse": {"input": ' "aws"}'}}, "contentBlockIndex": 2}},
    {"contentBlockStop": {"contentBlockIndex": 2}},
    {"messageStop": {"stopReason": "tool_use"}},
    {
        "metadata": {
            "usage": {"inputTokens": 30, "outputTokens": 12, "totalTokens": 42},
            "metrics": {"latencyMs": 800},
        }
    },
]

BEDROCK_THROTTLED: list[Event] = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hi"}, "contentBlockIndex": 0}},
    {"throttlingException": {"message": "Too many tokens"}},
]

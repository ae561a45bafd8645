"""Delta → UI message → message doc: an exact port of the reference's materialisation.

Pure Python, standard library only, cheap to import. Everything here takes and
returns plain JSON-like dicts with the reference's camelCase keys; absent values
are omitted.

* :func:`derive_ui_messages` — ``deriveUIMessagesFromDeltas`` (both formats).
* :func:`from_ui_messages` — ``fromUIMessages`` (with ``convertToModelMessages``).
* :func:`streaming_messages` — one stream's part of ``getStreamingMessagesWithMetadata``.
* :class:`StreamMaterializer` / :func:`merge_thread_ui_messages` — following live.
* :func:`parse_partial_json` / :func:`fix_json` — the AI SDK's partial JSON repair.
"""

from agent_streams_protocol.materialize.derive import derive_ui_messages, merge_thread_ui_messages
from agent_streams_protocol.materialize.incremental import StreamMaterializer
from agent_streams_protocol.materialize.js_compat import UNDEFINED
from agent_streams_protocol.materialize.partial_json import (
    PartialJson,
    fix_json,
    parse_partial_json,
)
from agent_streams_protocol.materialize.streaming_messages import (
    streaming_messages,
    streaming_messages_of,
)
from agent_streams_protocol.materialize.to_messages import (
    convert_to_model_messages,
    from_ui_messages,
)

__all__ = [
    "UNDEFINED",
    "PartialJson",
    "StreamMaterializer",
    "convert_to_model_messages",
    "derive_ui_messages",
    "fix_json",
    "from_ui_messages",
    "merge_thread_ui_messages",
    "parse_partial_json",
    "streaming_messages",
    "streaming_messages_of",
]

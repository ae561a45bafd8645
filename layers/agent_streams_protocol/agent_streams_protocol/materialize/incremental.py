"""Following one stream live: apply its deltas as they arrive, read its UI message.

:class:`StreamMaterializer` keeps the format's state machine running and feeds it
only parts it has not seen, in order (deltas ahead of a gap wait, re-sent ones
are dropped), so the work per :meth:`~StreamMaterializer.apply` is proportional
to what is new. Whatever the arrival order, its message is exactly what
:func:`~agent_streams_protocol.materialize.derive.derive_ui_messages` gives for the
stream and all deltas applied so far.

Messages returned are snapshots. Parts that did not change are shared between
successive snapshots, so treat them as read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from agent_streams_protocol.materialize.derive import StreamUIMessage
from agent_streams_protocol.materialize.js_compat import UNDEFINED, same_value_key
from agent_streams_protocol.materialize.live_parts import JsonDict
from agent_streams_protocol.materialize.parts import DeltaCursor

__all__ = ["StreamMaterializer"]


class StreamMaterializer:
    """The live UI message of one stream, built incrementally from its deltas."""

    __slots__ = ("_deltas", "_message", "_stream_key", "_ui")

    def __init__(self, thread_id: str, stream_message: JsonDict) -> None:
        self._ui = StreamUIMessage(thread_id, stream_message)
        self._stream_key = same_value_key(stream_message.get("streamId", UNDEFINED))
        self._deltas = DeltaCursor()
        self._message = self._ui.build()

    @property
    def cursor(self) -> int:
        """The next part number wanted: the cursor to give ``list_deltas``."""
        return self._deltas.cursor

    @property
    def stream_message(self) -> JsonDict:
        return self._ui.stream

    def apply(self, deltas: Iterable[Any]) -> bool:
        """Apply what is new in ``deltas``; True if the UI message changed.

        Deltas of other streams are ignored, as ``derive_ui_messages`` ignores them.
        """
        key = self._stream_key
        own = [
            d
            for d in deltas
            if type(d) is dict and same_value_key(d.get("streamId", UNDEFINED)) == key
        ]
        batches = self._deltas.accept(own)
        if not batches:
            return False
        for parts in batches:
            self._ui.feed(parts)
        return self._refresh()

    def set_stream(self, stream_message: JsonDict) -> bool:
        """Take the stream's new status / metadata; True if the UI message changed."""
        self._ui.set_stream(stream_message)
        return self._refresh()

    def ui_messages(self) -> list[JsonDict]:
        """The stream's UI message (always exactly one), as a list like ``derive_ui_messages``."""
        message = dict(self._message)
        message["parts"] = list(message["parts"])
        return [message]

    def _refresh(self) -> bool:
        message = self._ui.build()
        changed = message != self._message
        self._message = message
        return changed

"""The parts of a UI message while it is being built, and cheap snapshots of them.

The reference rebuilds (and the AI SDK deep-clones) the whole message for every
chunk. Here the message is kept live and only what changed is copied out:

* a growing string (a text part's ``text``, a tool input) is kept as a list of
  pieces and joined when read, so appending stays O(1) however long it gets;
* each part remembers whether it changed since the last snapshot; a snapshot
  rebuilds (deep-copies) only those parts and shares the others with the
  previous snapshot, so snapshots are immutable by contract.
"""

from __future__ import annotations

from typing import Any

from agent_streams_protocol.materialize.js_compat import UNDEFINED, js_join

__all__ = ["JsonDict", "LivePart", "LiveParts", "copy_json"]

JsonDict = dict[str, Any]


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts and lists copied, scalars shared)."""
    kind = type(value)
    if kind is dict:
        return {k: copy_json(v) for k, v in value.items()}
    if kind is list:
        return [copy_json(v) for v in value]
    return value


class LivePart:
    """One part of a message being built: its JSON fields plus a growing string."""

    __slots__ = ("fields", "index", "pending", "tail", "tail_key")

    def __init__(self, fields: JsonDict, index: int) -> None:
        self.fields = fields
        self.index = index
        #: Pieces appended to ``fields[tail_key]`` and not yet joined.
        self.tail: list[str] = []
        self.tail_key: str | None = None
        #: Whatever still has to fill in this part before it is read (see the
        #: UIMessageChunk machine's lazily parsed tool inputs).
        self.pending: Any = None

    def get(self, key: str) -> Any:
        """The field's value, UNDEFINED when absent."""
        if key == self.tail_key:
            self.flush()
        return self.fields.get(key, UNDEFINED)

    def set(self, key: str, value: Any) -> None:
        """Assign like JavaScript: assigning ``undefined`` removes the key."""
        if key == self.tail_key:
            self.tail_key = None
            self.tail.clear()
        if value is UNDEFINED:
            self.fields.pop(key, None)
        else:
            self.fields[key] = value

    def append(self, key: str, text: str) -> None:
        """``fields[key] += text``; ``fields[key]`` must already be a string."""
        if self.tail_key != key:
            self.flush()
            self.tail_key = key
        self.tail.append(text)

    def flush(self) -> None:
        if self.tail:
            key = self.tail_key
            assert key is not None
            self.tail.insert(0, self.fields[key])
            self.fields[key] = js_join(self.tail)
            self.tail.clear()


class LiveParts:
    """The ordered parts of one message, with change tracking for snapshots."""

    __slots__ = ("_last_count", "_stale", "_views", "first_changed", "items")

    def __init__(self) -> None:
        self.items: list[LivePart] = []
        self._views: list[JsonDict] = []
        self._stale: set[int] = set()
        self._last_count = 0
        #: After a snapshot: the views before this index are the previous snapshot's.
        self.first_changed = 0

    def push(self, fields: JsonDict) -> LivePart:
        part = LivePart(fields, len(self.items))
        self.items.append(part)
        self._views.append(fields)  # placeholder until the first snapshot
        self._stale.add(part.index)
        return part

    def touch(self, part: LivePart) -> None:
        self._stale.add(part.index)

    def last(self) -> LivePart | None:
        return self.items[-1] if self.items else None

    def snapshot(self, count: int, reasoning_done_unless_last: bool = False) -> list[JsonDict]:
        """Copies of the first ``count`` parts, rebuilding only the changed ones.

        ``reasoning_done_unless_last`` applies the TextStreamPart merger's final
        rule (a reasoning part that is not the last one is shown as done) to the
        copies only, so the live state stays exactly the reference's.
        """
        views = self._views
        items = self.items
        stale = self._stale
        if reasoning_done_unless_last and count != self._last_count:
            # The previous last part may now have a successor.
            previous_last = self._last_count - 1
            if 0 <= previous_last < len(items):
                stale.add(previous_last)
        first_changed = min(count, self._last_count)
        if stale:
            first_changed = min(first_changed, min(stale))
        self.first_changed = first_changed
        self._last_count = count
        if stale:
            last_index = count - 1
            for index in stale:
                part = items[index]
                part.flush()
                view = copy_json(part.fields)
                if (
                    reasoning_done_unless_last
                    and index < last_index
                    and view.get("type") == "reasoning"
                ):
                    view["state"] = "done"
                views[index] = view
            stale.clear()
        return views[:count]

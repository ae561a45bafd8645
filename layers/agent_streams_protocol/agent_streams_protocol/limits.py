"""Numbers of the contract and of DynamoDB that the server and the client share."""

from __future__ import annotations

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS

#: A stream with no write or heartbeat for this long is aborted with reason "timeout".
TIMEOUT_MS = 10 * MINUTE_MS
#: A finished stream and its deltas are deleted this long after it finished.
CLEANUP_DELAY_MS = 5 * MINUTE_MS

#: list_deltas caps, as in the reference.
MAX_DELTAS_PER_STREAM = 100
MAX_DELTAS_PER_REQUEST = 1000
#: list_deltas stops adding deltas before its reply would pass this size.
MAX_REPLY_BYTES = 5 * 1024 * 1024
#: list_streams and abort_streams_by_order return or touch at most this many streams.
MAX_STREAMS_PER_LIST = 100
#: streaming_messages materialises at most this many streams.
MAX_STREAMING_MESSAGES_STREAMS = 10
#: One list_deltas request may name at most this many cursors.
MAX_CURSORS = 100

#: DynamoDB's limit on one item (attribute names and values, UTF-8): "400 KB". Read
#: as 400,000 bytes, the strictest reading (AWS accepts a little more, moto a little
#: less than 409,600), so an item this guard lets through is accepted everywhere.
MAX_ITEM_BYTES = 400_000
#: What a delta's parts may take, serialised as compact JSON, so that the whole
#: delta item (ids of at most 40 characters, numbers, TTL) stays under MAX_ITEM_BYTES.
#: The client splits its batches to stay under it; the server refuses larger ones.
MAX_PARTS_JSON_BYTES = MAX_ITEM_BYTES - 1024

#: Server-generated ids are at most this long, of [0-9A-Za-z_-].
MAX_ID_LENGTH = 40

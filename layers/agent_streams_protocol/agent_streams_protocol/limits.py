"""Numbers of the contract and of DynamoDB that the server and the client share."""

from __future__ import annotations

SECOND_MS = 1000
MINUTE_MS = 60 * SECOND_MS

#: A stream with no write or heartbeat for this long is aborted with reason "timeout".
TIMEOUT_MS = 10 * MINUTE_MS
#: A finished stream and its deltas are deleted this long after it finished, unless
#: it was created with its own ``retentionSeconds``.
CLEANUP_DELAY_MS = 5 * MINUTE_MS
#: ``retentionSeconds`` when create_stream is not given one (the reference's 5 minutes).
DEFAULT_RETENTION_SECONDS = CLEANUP_DELAY_MS // SECOND_MS
#: The shortest ``retentionSeconds``; the longest is the stack's ``RetentionDays``.
MIN_RETENTION_SECONDS = 1
#: The longest ``retentionSeconds`` any stack takes (the template's largest
#: ``RetentionDays``, 3650); a stack's own ``RetentionDays`` is checked by the service.
MAX_RETENTION_SECONDS = 3650 * 24 * 60 * 60
#: A stream lives at most this long: its timeout schedule then aborts it with reason
#: "expired", even if it is still being written. Deltas outlive every stream that can
#: show them by this much (see ``agent_streams.service.ttl``).
MAX_STREAM_LIFETIME_MS = 24 * 60 * MINUTE_MS

#: list_deltas caps, as in the reference.
MAX_DELTAS_PER_STREAM = 100
MAX_DELTAS_PER_REQUEST = 1000
#: What a synchronous Lambda invocation's request may be: "smaller than 6291456 bytes"
#: (for HTTP, the API Gateway proxy event, the body a JSON string inside it).
LAMBDA_REQUEST_LIMIT_BYTES = 6_291_456
#: What a synchronous Lambda function may return: 6 MB, as Lambda counts it (the
#: bytes of the JSON payload; for HTTP, the API Gateway proxy envelope around the body).
LAMBDA_REPLY_LIMIT_BYTES = 6_291_556
#: No reply is larger than this, measured as Lambda returns it (291,556 bytes of
#: headroom under Lambda's limit); a larger one is refused with ``ReplyTooLarge``.
MAX_REPLY_BYTES = 6_000_000
#: list_deltas stops adding deltas before its reply would pass this size (an upper
#: bound of its size as returned, over HTTP and direct invoke alike); its first
#: delta always fits (a delta's parts are at most MAX_DELTA_PARTS_BYTES, which its
#: reply turns into at most MAX_REPLY_BYTES).
MAX_DELTAS_REPLY_BYTES = 5 * 1024 * 1024
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
#: The client packs its batches to stay under it and sends a larger part alone; the
#: server stores the largest parts of a larger delta in S3 (up to MAX_DELTA_PARTS_BYTES).
MAX_PARTS_JSON_BYTES = MAX_ITEM_BYTES - 1024

#: A delta numbers at most this many parts (``end - start``). Writers merge runs of
#: text deltas, so one part may stand for many; the client merges only within an item's
#: 400,000 bytes, so every merged run of non-empty deltas fits with room to spare.
#: The cap keeps a stream's numbering far from JavaScript's 2**53 - 1, past which
#: nothing could be appended.
MAX_DELTA_SPAN = 1_000_000

#: Server-generated ids are at most this long, of [0-9A-Za-z_-].
MAX_ID_LENGTH = 40
#: ``order`` and ``stepOrder`` are at most 12 digits: the Streams index sorts them as
#: zero-padded text.
MAX_ORDER = 10**12 - 1
#: JavaScript's Number.MAX_SAFE_INTEGER: part numbers must survive a JS client.
MAX_PART_NUMBER = 2**53 - 1
#: A stream's and a thread's short texts (``userId``, ``agentName``, ``model``…) are
#: at most this many characters.
MAX_SHORT_TEXT = 256

#: What a delta adds to a list_deltas reply besides its parts (and one byte per ``"``,
#: ``\\``, ``,`` and ``:`` in them), at most: its keys, a 40-character id and two
#: 16-digit numbers, the separators around them, and the escaping of the quotes among
#: them in the HTTP envelope (139 bytes; 120 over direct invoke).
DELTA_REPLY_OVERHEAD = 160
#: What a list_deltas reply is besides its deltas: brackets, the HTTP envelope.
LIST_REPLY_OVERHEAD = 256
#: What a delta's parts may take at most, as compact JSON in UTF-8 (spilled parts
#: included): the largest delta one list_deltas reply can always return. In a reply a
#: delta takes at most twice its parts (each ``"`` and ``\\`` escaped in the HTTP
#: envelope, each ``,`` and ``:`` spaced over direct invoke) plus its id and overhead,
#: and a reply may be MAX_REPLY_BYTES: (6,000,000 - 256 - 160 - 40) // 2 = 2,999,772.
#: Parts past MAX_PARTS_JSON_BYTES are stored in S3 and read back inline.
MAX_DELTA_PARTS_BYTES = (
    MAX_REPLY_BYTES - LIST_REPLY_OVERHEAD - DELTA_REPLY_OVERHEAD - MAX_ID_LENGTH
) // 2
#: The largest part, as compact JSON in UTF-8: alone in its delta (``[part]``).
MAX_PART_BYTES = MAX_DELTA_PARTS_BYTES - 2

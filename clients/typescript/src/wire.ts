// Generated from openapi.json by `make openapi` (agent_streams_dev.ts_types). Do not edit:
// the shapes are declared in agent_streams_protocol/shapes.py, the routes in
// agent_streams_protocol/routes.py (and the live reads' in agent_streams_dev/openapi_live.py).

/** Abort a stream, with its last delta (atomically). */
export interface AbortStreamBody {
  /**
   * Optional: the path's `streamId`, repeated. Any other value is a `ValidationError`.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId?: string;
  /** @maxLength 4096 */
  reason: string;
  finalDelta?: StreamDelta | null;
}

/** Abort the streaming streams of a thread at one order. */
export interface AbortStreamsByOrderBody {
  /**
   * Optional: the path's `threadId`, repeated. Any other value is a `ValidationError`.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  threadId?: string;
  /**
   * @minimum 0
   * @maximum 999999999999
   */
  order: number;
  /** @maxLength 4096 */
  reason: string;
}

/** Whether the call aborted a stream. */
export interface Aborted {
  aborted: boolean;
}

/**
 * Whether the delta is stored (by this call or an identical earlier one), and the
 * stream's status after the call. `accepted` is false when the stream is not streaming.
 */
export interface Accepted {
  accepted: boolean;
  status: "streaming" | "finished" | "aborted";
}

/**
 * Parts number `start` (inclusive) to `end` (exclusive) of a stream; `parts` may hold
 * fewer than `end - start` parts, because the writer merges consecutive text deltas.
 */
export interface AddDeltaBody {
  /**
   * Optional: the path's `streamId`, repeated. Any other value is a `ValidationError`.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId?: string;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  start: number;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  end: number;
  /**
   * `UIMessageChunk` or `TextStreamPart` objects, each with a string `type`.
   * @minItems 1
   */
  parts: Record<string, unknown>[];
}

/** A new stream: its thread, its place, its metadata. */
export interface CreateStreamBody {
  /**
   * Optional: the path's `threadId`, repeated. Any other value is a `ValidationError`.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  threadId?: string;
  /**
   * The message's place in the thread.
   * @minimum 0
   * @maximum 999999999999
   */
  order: number;
  /**
   * The step within the message.
   * @minimum 0
   * @maximum 999999999999
   */
  stepOrder: number;
  format?: "UIMessageChunk" | "TextStreamPart" | null;
  userId?: string | null;
  agentName?: string | null;
  model?: string | null;
  provider?: string | null;
  providerOptions?: Record<string, Record<string, unknown>> | null;
  retentionSeconds?: number | null;
}

/** What a thread is created with (`Thread` shows it back). */
export interface CreateThreadBody {
  userId?: string | null;
  title?: string | null;
  summary?: string | null;
}

/** An error reply. `error` is the code (the exception class a direct invoke raises). */
export interface ErrorReply {
  error: "DeltaConflict" | "DeltaTooLarge" | "Forbidden" | "ReplyTooLarge" | "ServiceUnavailable" | "StreamNotFound" | "ThreadDeleting" | "ThreadNotFound" | "Unauthorized" | "ValidationError" | "InternalError";
  /** What went wrong, for people. */
  message: string;
  /**
   * `DeltaConflict` only: the `start` the stream expects.
   * @minimum 0
   */
  expectedStart?: number;
}

/**
 * The Step Functions execution carrying out a deletion (for `DELETE /threads/{threadId}`:
 * the thread's streams, then the thread).
 */
export interface Execution {
  executionArn: string;
}

/** Finish a stream, with its last delta (atomically). */
export interface FinishStreamBody {
  /**
   * Optional: the path's `streamId`, repeated. Any other value is a `ValidationError`.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId?: string;
  finalDelta?: StreamDelta | null;
}

/** A stream, by id (`get_stream`, `heartbeat_stream`, `delete_stream`…). */
export interface HeartbeatStreamBody {
  /**
   * Optional: the path's `streamId`, repeated. Any other value is a `ValidationError`.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId?: string;
}

/**
 * A message doc materialised from a stream's deltas (the reference's
 * `vMessageWithMetadataInternal`). Inner objects follow the AI SDK and are left open.
 */
export interface MessageWithMetadata {
  /** An AI SDK model message: `{role, content, providerOptions?}`. */
  message: Record<string, unknown>;
  text?: string;
  fileIds?: string[];
  /** The `status` the request asked for. */
  status: "success" | "failed";
  finishReason?: "stop" | "length" | "content-filter" | "tool-calls" | "error" | "other" | "unknown";
  model?: string;
  provider?: string;
  providerMetadata?: Record<string, Record<string, unknown>>;
  sources?: Record<string, unknown>[];
  reasoning?: string;
  reasoningDetails?: Record<string, unknown>[];
  usage?: Record<string, unknown>;
  warnings?: Record<string, unknown>[];
  /** The `error` the request gave. */
  error?: string;
}

export type MessageWithMetadataList = MessageWithMetadata[];

/** The stream's status after the call. */
export interface Status {
  status: "streaming" | "finished" | "aborted";
}

/**
 * Parts number `start` (inclusive) to `end` (exclusive) of a stream; `parts` may hold
 * fewer than `end - start` parts, because the writer merges consecutive text deltas.
 */
export interface StreamDelta {
  /**
   * The stream's id; its first 16 characters are derived from its thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId: string;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  start: number;
  /**
   * @minimum 0
   * @maximum 9007199254740991
   */
  end: number;
  /**
   * `UIMessageChunk` or `TextStreamPart` objects, each with a string `type`.
   * @minItems 1
   */
  parts: Record<string, unknown>[];
}

export type StreamDeltaList = StreamDelta[];

/** The id of the stream just created. */
export interface StreamIdReply {
  /**
   * The stream's id; its first 16 characters are derived from its thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId: string;
}

/** A stream as readers list it (the reference's `publicStreamMessage`). */
export interface StreamMessage {
  /**
   * The stream's id; its first 16 characters are derived from its thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId: string;
  status: "streaming" | "finished" | "aborted";
  /**
   * The message's place in the thread.
   * @minimum 0
   * @maximum 999999999999
   */
  order: number;
  /**
   * The step within the message.
   * @minimum 0
   * @maximum 999999999999
   */
  stepOrder: number;
  format?: "UIMessageChunk" | "TextStreamPart";
  /** @maxLength 256 */
  userId?: string;
  /** @maxLength 256 */
  agentName?: string;
  /** @maxLength 256 */
  model?: string;
  /** @maxLength 256 */
  provider?: string;
  providerOptions?: Record<string, Record<string, unknown>>;
}

export type StreamMessageList = StreamMessage[];

/** A stream with its state (`get_stream`). */
export interface StreamState {
  /**
   * The stream's id; its first 16 characters are derived from its thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId: string;
  status: "streaming" | "finished" | "aborted";
  /**
   * The message's place in the thread.
   * @minimum 0
   * @maximum 999999999999
   */
  order: number;
  /**
   * The step within the message.
   * @minimum 0
   * @maximum 999999999999
   */
  stepOrder: number;
  format?: "UIMessageChunk" | "TextStreamPart";
  /** @maxLength 256 */
  userId?: string;
  /** @maxLength 256 */
  agentName?: string;
  /** @maxLength 256 */
  model?: string;
  /** @maxLength 256 */
  provider?: string;
  providerOptions?: Record<string, Record<string, unknown>>;
  /**
   * The thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  threadId: string;
  /** Why the stream was aborted. */
  reason?: string;
  /**
   * Epoch milliseconds of the last write or heartbeat.
   * @minimum 0
   */
  lastHeartbeat: number;
  /**
   * Epoch milliseconds of the finish or abort.
   * @minimum 0
   */
  endedAt?: number;
  /**
   * The `start` the next delta must have (the log's end).
   * @minimum 0
   */
  nextStart: number;
  /**
   * How long the stream stays readable once it ended (create_stream's, or 300). An aborted stream created without one stays until deleted or the stack's RetentionDays.
   * @minimum 1
   */
  retentionSeconds: number;
}

/** A stream's UI message (`get_stream_message`): from its snapshot once it ended. */
export interface StreamUIMessage {
  /**
   * The stream's id; its first 16 characters are derived from its thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  streamId: string;
  status: "streaming" | "finished" | "aborted";
  /**
   * The part number after the last one in the message: go on from it with list_deltas (an ended stream's `nextStart`).
   * @minimum 0
   */
  cursor: number;
  /** The AI SDK 5 UI message `derive_ui_messages` makes of the stream's deltas: `{id, key, order, stepOrder, status, agentName?, text, role, parts, metadata?}`. */
  uiMessage: Record<string, unknown>;
}

/** A conversation; it owns streams. */
export interface Thread {
  /**
   * The thread's id.
   * @pattern ^[0-9A-Za-z_-]{1,40}$
   */
  threadId: string;
  /** @maxLength 256 */
  userId?: string;
  /** @maxLength 4096 */
  title?: string;
  /** @maxLength 65536 */
  summary?: string;
  /** `deleting` once `DELETE /threads/{threadId}` has started. */
  status: "active" | "deleting";
  /**
   * Epoch milliseconds.
   * @minimum 0
   */
  createdAt: number;
}

/** Every operation's method and path (`{threadId}`, `{streamId}`: URL-encoded ids). */
export const ROUTES = {
  abort_stream: { method: "POST", path: "/streams/{streamId}/abort" },
  abort_streams_by_order: { method: "POST", path: "/threads/{threadId}/streams/abort" },
  add_delta: { method: "POST", path: "/streams/{streamId}/deltas" },
  create_stream: { method: "POST", path: "/threads/{threadId}/streams" },
  create_thread: { method: "POST", path: "/threads" },
  delete_stream: { method: "DELETE", path: "/streams/{streamId}" },
  delete_thread: { method: "DELETE", path: "/threads/{threadId}" },
  delete_thread_streams: { method: "DELETE", path: "/threads/{threadId}/streams" },
  finish_stream: { method: "POST", path: "/streams/{streamId}/finish" },
  get_stream: { method: "GET", path: "/streams/{streamId}" },
  get_stream_message: { method: "GET", path: "/streams/{streamId}/message" },
  get_thread: { method: "GET", path: "/threads/{threadId}" },
  heartbeat_stream: { method: "POST", path: "/streams/{streamId}/heartbeat" },
  list_deltas: { method: "GET", path: "/threads/{threadId}/deltas" },
  list_streams: { method: "GET", path: "/threads/{threadId}/streams" },
  stream_events: { method: "GET", path: "/streams/{streamId}/events" },
  streaming_messages: { method: "GET", path: "/threads/{threadId}/streams/messages" },
  thread_stream: { method: "GET", path: "/threads/{threadId}/stream" },
} as const;

export type Operation = keyof typeof ROUTES;

/** A route's path with its ids in it, under `base` (trailing slashes dropped). */
export function routeUrl(base: string, operation: Operation, ids: Record<string, string> = {}): string {
  const path = ROUTES[operation].path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const id = ids[name];
    if (id === undefined) throw new TypeError(`agent-streams: ${operation} needs ${name}`);
    return encodeURIComponent(id);
  });
  return base.replace(/\/+$/, "") + path;
}

import type { UIMessageChunk } from "ai";
import { resolveHeaders, type RequestOptions } from "./http.js";
import {
  DEFAULT_MAX_RECONNECTS,
  DEFAULT_RECONNECT_DELAY_MS,
  ResumableEventStream,
  type StreamEvent,
} from "./resumable.js";
import { routeUrl } from "./wire.js";

export interface FollowStreamOptions extends RequestOptions {
  /** Resume after this event id (one received earlier); sent as `?cursor=` on the first request. */
  cursor?: string | undefined;
  /** Failed attempts in a row before giving up (default 8). */
  maxReconnects?: number | undefined;
  /** The first backoff delay, doubled per failed attempt (default 500 ms). */
  reconnectDelayMs?: number | undefined;
}

/**
 * A single-use async iterable over one stream. `lastEventId` is the id of the last item
 * yielded (or the initial cursor): persist it and pass it back as `cursor` to continue
 * exactly after that item later.
 */
export interface FollowedStream<T> extends AsyncIterable<T> {
  readonly lastEventId: string | undefined;
  /** Stops following (same as breaking out of the loop). */
  close(): void;
}

function open(baseUrl: string, streamId: string, options: FollowStreamOptions): ResumableEventStream {
  const url = routeUrl(baseUrl, "stream_events", { streamId });
  const cursor = options.cursor;
  return new ResumableEventStream({
    url: cursor ? `${url}?cursor=${encodeURIComponent(cursor)}` : url,
    // Once an event has arrived its id (sent as Last-Event-ID) replaces the cursor.
    resumeUrl: url,
    lastEventId: undefined,
    headers: () => resolveHeaders(options),
    fetch: options.fetch,
    signal: options.signal,
    maxReconnects: options.maxReconnects ?? DEFAULT_MAX_RECONNECTS,
    reconnectDelayMs: options.reconnectDelayMs ?? DEFAULT_RECONNECT_DELAY_MS,
  });
}

function iterate<T>(source: ResumableEventStream, cursor: string | undefined, map: (event: StreamEvent) => T): FollowedStream<T> {
  let last = cursor;
  async function* run(): AsyncGenerator<T, void, undefined> {
    try {
      for (;;) {
        const event = await source.next();
        if (event === undefined) return;
        last = event.id;
        yield map(event);
      }
    } finally {
      source.close();
    }
  }
  const generator = run();
  return {
    [Symbol.asyncIterator]: () => generator,
    get lastEventId() {
      return last;
    },
    close() {
      source.close();
      void generator.return(undefined);
    },
  };
}

/**
 * Follows one stream (`GET {baseUrl}/streams/{streamId}/events`) until it ends, resuming
 * exactly after the last event whenever a connection drops. Yields AI SDK 5 UI message
 * chunks; an aborted stream ends with a `{type: "abort"}` chunk.
 */
export function followStream(
  baseUrl: string,
  streamId: string,
  options: FollowStreamOptions = {},
): FollowedStream<UIMessageChunk> {
  return iterate(open(baseUrl, streamId, options), options.cursor, (event) => event.chunk);
}

/** Like `followStream`, yielding `{chunk, id}` so each chunk's cursor can be stored with it. */
export function followStreamEvents(
  baseUrl: string,
  streamId: string,
  options: FollowStreamOptions = {},
): FollowedStream<StreamEvent> {
  return iterate(open(baseUrl, streamId, options), options.cursor, (event) => event);
}

import type { UIMessageChunk } from "ai";
import { errorFromResponse, UnexpectedResponse } from "./errors.js";
import { getFetch, type FetchFunction } from "./http.js";
import { SseParser, type SseEvent } from "./sse.js";

/** One UI message chunk and the event id after it (pass it back as a cursor to resume after it). */
export interface StreamEvent {
  id: string;
  chunk: UIMessageChunk;
}

export interface ResumableOptions {
  /** The URL of the first request. */
  url: string;
  /** The URL of a request that carries `Last-Event-ID` (defaults to `url`). */
  resumeUrl?: string | undefined;
  /** Headers for each request (resolved per request, so a token getter can refresh). */
  headers: () => Promise<Record<string, string>>;
  fetch?: FetchFunction | undefined;
  signal?: AbortSignal | undefined;
  lastEventId?: string | undefined;
  maxReconnects: number;
  reconnectDelayMs: number;
  /** Reconnect only once an id was received (the first request cannot simply be repeated). */
  resumeOnlyWithId?: boolean | undefined;
}

export const DEFAULT_MAX_RECONNECTS = 8;
export const DEFAULT_RECONNECT_DELAY_MS = 500;
const MAX_DELAY_MS = 30_000;

/** 5xx and 429 are worth retrying; other statuses are thrown. */
function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
}

/** Waits `ms`, rejecting with the abort reason if `signal` fires first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    const onAbort = (): void => {
      clearTimeout(timer);
      if (signal) reject(abortReason(signal));
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * Reads UI message chunks from an SSE route, resuming with `Last-Event-ID` whenever a
 * connection ends before `data: [DONE]`. Failed attempts (network errors, 429/5xx, a
 * connection that closed before a complete event) are retried with exponential backoff
 * (honouring `Retry-After`) up to `maxReconnects` times in a row; the count resets when a
 * connection delivers a complete event (a `: ping` counts). A connection that did so and
 * then ended is resumed at once (or after the server's `retry:` time).
 */
export class ResumableEventStream {
  private readonly options: ResumableOptions;
  private readonly controller = new AbortController();
  /** The current request's own controller (one per fetch, so listeners do not pile up). */
  private request: AbortController | undefined;
  private reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  private parser: SseParser;
  private queue: SseEvent[] = [];
  private failures = 0;
  private finished = false;
  private delivered: string;
  private unlink: (() => void) | undefined;

  constructor(options: ResumableOptions) {
    this.options = options;
    this.delivered = options.lastEventId ?? "";
    this.parser = new SseParser({ lastEventId: this.delivered });
    const outer = options.signal;
    if (outer !== undefined) {
      const forward = (): void => this.controller.abort(abortReason(outer));
      if (outer.aborted) forward();
      else {
        outer.addEventListener("abort", forward, { once: true });
        this.unlink = () => outer.removeEventListener("abort", forward);
      }
    }
    this.controller.signal.addEventListener("abort", () => this.request?.abort(this.controller.signal.reason), { once: true });
  }

  /** The id of the last event delivered by `next()` (or the initial one): where a resume starts. */
  get lastEventId(): string {
    return this.delivered;
  }

  /**
   * Opens a connection (retrying as above). Resolves false when the server answers 204
   * (nothing to stream); non-retryable statuses throw their typed error.
   */
  async connect(): Promise<boolean> {
    const { signal } = this.controller;
    for (;;) {
      if (signal.aborted) throw abortReason(signal);
      const resuming = this.delivered !== "";
      const headers: Record<string, string> = { accept: "text/event-stream", ...(await this.options.headers()) };
      if (resuming) headers["last-event-id"] = this.delivered;
      const url = resuming ? (this.options.resumeUrl ?? this.options.url) : this.options.url;
      let response: Response;
      this.request = new AbortController();
      try {
        response = await getFetch(this.options)(url, { method: "GET", headers, signal: this.request.signal });
      } catch (error) {
        if (signal.aborted) throw abortReason(signal);
        await this.backoff(error, undefined);
        continue;
      }
      if (response.status === 204) {
        await response.body?.cancel().catch(() => undefined);
        return false;
      }
      if (response.ok) {
        this.adopt(response);
        return true;
      }
      const error = await errorFromResponse(response);
      if (!retryableStatus(response.status)) throw error;
      await this.backoff(error, error.retryAfter);
    }
  }

  /** Reads an already obtained SSE response as the current connection. */
  adopt(response: Response): void {
    if (response.body === null) {
      throw new UnexpectedResponse("The SSE response has no body", { code: "UnexpectedResponse", status: response.status });
    }
    this.reader = response.body.getReader();
    this.parser = new SseParser({ lastEventId: this.delivered });
    this.queue = [];
  }

  /** The next chunk, or undefined once the stream ended (`[DONE]`, or 204 on a resume). */
  async next(): Promise<StreamEvent | undefined> {
    const { signal } = this.controller;
    for (;;) {
      if (this.finished) return undefined;
      if (signal.aborted) throw abortReason(signal);
      const event = this.queue.shift();
      if (event !== undefined) {
        this.delivered = event.id;
        if (event.data === "[DONE]") {
          this.close();
          return undefined;
        }
        if (event.type !== "message") continue;
        return { id: event.id, chunk: this.parseChunk(event.data) };
      }
      // Everything dispatched so far has been delivered: an id-only event still moves the id.
      this.delivered = this.parser.lastEventId;
      if (this.reader === undefined) {
        if (this.options.resumeOnlyWithId && this.delivered === "") {
          this.close();
          return undefined;
        }
        if (!(await this.connect())) {
          this.close();
          return undefined;
        }
        continue;
      }
      let failure: unknown;
      try {
        const { done, value } = await this.reader.read();
        if (!done) {
          this.queue = this.parser.feed(value);
          if (this.parser.dispatches > 0) this.failures = 0;
          continue;
        }
      } catch (error) {
        if (this.finished) return undefined;
        if (signal.aborted) throw abortReason(signal);
        failure = error;
      }
      if (this.finished) return undefined; // closed by the caller while reading
      // The connection ended before [DONE]: resume after the last delivered event.
      this.reader = undefined;
      if (this.parser.dispatches > 0) {
        await sleep(this.parser.retry ?? 0, signal);
      } else {
        const closed = new UnexpectedResponse("The SSE connection closed before sending a complete event", {
          code: "UnexpectedResponse",
          status: 200,
        });
        await this.backoff(failure ?? closed, undefined);
      }
    }
  }

  /** Stops reading and aborts the current request. */
  close(): void {
    this.finished = true;
    this.unlink?.();
    const reader = this.reader;
    this.reader = undefined;
    if (reader !== undefined) void reader.cancel().catch(() => undefined);
    if (!this.controller.signal.aborted) this.controller.abort();
  }

  private parseChunk(data: string): UIMessageChunk {
    let chunk: unknown;
    try {
      chunk = JSON.parse(data);
    } catch (cause) {
      throw new UnexpectedResponse(`An SSE event is not JSON: ${data.slice(0, 200)}`, { code: "UnexpectedResponse", status: 200, body: data, cause });
    }
    if (typeof chunk !== "object" || chunk === null || typeof (chunk as { type?: unknown }).type !== "string") {
      throw new UnexpectedResponse(`An SSE event is not a UI message chunk: ${data.slice(0, 200)}`, { code: "UnexpectedResponse", status: 200, body: chunk });
    }
    return chunk as UIMessageChunk;
  }

  private async backoff(error: unknown, retryAfterSeconds: number | undefined): Promise<void> {
    this.failures += 1;
    if (this.failures > this.options.maxReconnects) throw error;
    const exp = Math.min(this.options.reconnectDelayMs * 2 ** (this.failures - 1), MAX_DELAY_MS);
    // Half fixed, half random, so that many clients cut off together do not return together.
    let delay = exp / 2 + Math.random() * (exp / 2);
    if (retryAfterSeconds !== undefined) delay = Math.max(delay, retryAfterSeconds * 1000);
    await sleep(delay, this.controller.signal);
  }
}

/** The chunks as a ReadableStream (what a ChatTransport returns); cancelling it closes the connection. */
export function toReadableStream(source: ResumableEventStream): ReadableStream<UIMessageChunk> {
  return new ReadableStream<UIMessageChunk>({
    async pull(controller) {
      try {
        const event = await source.next();
        if (event === undefined) controller.close();
        else controller.enqueue(event.chunk);
      } catch (error) {
        source.close();
        throw error;
      }
    },
    cancel() {
      source.close();
    },
  });
}


/**
 * A small text/event-stream parser following the WHATWG "event stream interpretation"
 * rules: UTF-8 with an optional leading BOM; CRLF, LF or CR line endings (also split
 * across chunks); `data:` lines joined with "\n"; `event:`, `id:` (ignored when it
 * contains NUL) and `retry:` (digits only); lines starting with ":" are comments; a field
 * name without a colon has an empty value; one space after the colon is dropped; an event
 * is dispatched at a blank line, and one with no data is not dispatched (but still commits
 * its id); an unterminated event at the end of the stream is discarded.
 */

export interface SseEvent {
  /** The event type: "message" unless the event had an `event:` field. */
  type: string;
  data: string;
  /**
   * The stream's last event id when this event was dispatched: the event's own `id:` or,
   * as EventSource does, the last one sent before it ("" if none yet).
   */
  id: string;
}

export interface SseParserOptions {
  /** The last event id carried over from an earlier connection. */
  lastEventId?: string;
}

export class SseParser {
  /** The last event id committed by a dispatch (what to send as Last-Event-ID). */
  lastEventId: string;
  /** The reconnection time, in ms, from the last valid `retry:` field. */
  retry: number | undefined;
  /** Blank lines read so far (dispatches, including pings and id-only events): a sign of life. */
  dispatches = 0;

  private readonly decoder = new TextDecoder("utf-8");
  private buffer = "";
  private started = false;
  /** The previous chunk ended in CR: a LF at the start of the next one belongs to it. */
  private skipLf = false;
  private data: string[] = [];
  private eventType = "";
  private idBuffer: string;

  constructor(options: SseParserOptions = {}) {
    this.lastEventId = options.lastEventId ?? "";
    this.idBuffer = this.lastEventId;
  }

  /** Feeds bytes (decoded as a UTF-8 stream) or text; returns the events completed by it. */
  feed(chunk: Uint8Array | string): SseEvent[] {
    let text: string;
    if (typeof chunk === "string") {
      text = chunk;
      // TextDecoder drops one leading BOM from bytes; text input gets the same rule here.
      if (!this.started && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    } else {
      text = this.decoder.decode(chunk, { stream: true });
    }
    if (text.length > 0) this.started = true;
    if (this.skipLf && text.length > 0) {
      this.skipLf = false;
      if (text.charCodeAt(0) === 0x0a) text = text.slice(1);
    }
    this.buffer += text;

    const events: SseEvent[] = [];
    let start = 0;
    const buf = this.buffer;
    for (let i = 0; i < buf.length; i++) {
      const c = buf.charCodeAt(i);
      if (c !== 0x0a && c !== 0x0d) continue;
      this.line(buf.slice(start, i), events);
      if (c === 0x0d) {
        if (i + 1 < buf.length) {
          if (buf.charCodeAt(i + 1) === 0x0a) i++;
        } else {
          this.skipLf = true;
        }
      }
      start = i + 1;
    }
    this.buffer = buf.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line === "") {
      this.dispatch(events);
      return;
    }
    if (line.charCodeAt(0) === 0x3a) return; // ":" comment
    const colon = line.indexOf(":");
    let field = line;
    let value = "";
    if (colon !== -1) {
      field = line.slice(0, colon);
      value = line.slice(colon + (line.charCodeAt(colon + 1) === 0x20 ? 2 : 1));
    }
    switch (field) {
      case "data":
        this.data.push(value);
        break;
      case "event":
        this.eventType = value;
        break;
      case "id":
        if (!value.includes("\0")) this.idBuffer = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break; // unknown fields are ignored
    }
  }

  private dispatch(events: SseEvent[]): void {
    this.dispatches++;
    this.lastEventId = this.idBuffer;
    if (this.data.length > 0) {
      events.push({ type: this.eventType || "message", data: this.data.join("\n"), id: this.lastEventId });
    }
    this.data = [];
    this.eventType = "";
  }
}

/** Parses a byte stream into SSE events (the incomplete tail, if any, is discarded). */
export async function* parseSse(
  body: ReadableStream<Uint8Array>,
  options?: SseParserOptions,
): AsyncGenerator<SseEvent, void, undefined> {
  const parser = new SseParser(options);
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield* parser.feed(value);
    }
  } finally {
    // Cancels the body when the caller stops early; a no-op once it has ended.
    await reader.cancel().catch(() => undefined);
  }
}

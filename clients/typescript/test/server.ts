/**
 * An in-test HTTP server speaking the agent-streams SSE + JSON protocol, with hooks to
 * cut connections, inject error replies and record requests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export type Chunk = { type: string } & Record<string, unknown>;

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

interface Stream {
  streamId: string;
  threadId: string;
  order: number;
  stepOrder: number;
  chunks: Chunk[];
  status: "streaming" | "finished" | "aborted";
  listeners: Set<() => void>;
}

export interface Connection {
  request: RecordedRequest;
  /** Bytes of body written before the cut (undefined: not cut). */
  cutAt: number | undefined;
}

export interface FakeServerOptions {
  /** Per SSE connection: how many body bytes to send before cutting it (undefined: no cut). */
  cut?: (connection: number) => number | undefined;
  /** How a cut ends the connection: destroy the socket (network error) or end the body cleanly. */
  cutMode?: "destroy" | "end";
  /** Answers a request before the protocol does (return true when handled). */
  intercept?: (req: RecordedRequest, res: ServerResponse) => boolean | Promise<boolean>;
  /** `: ping` interval on SSE connections (ms). */
  pingMs?: number;
}

const SSE_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  "x-vercel-ai-ui-message-stream": "v1",
  "x-accel-buffering": "no",
};

// Opaque ids: base64url of "<streamId>/<index>".
export const eventId = (streamId: string, index: number): string =>
  Buffer.from(`${streamId}/${index}`).toString("base64url");
function decodeId(id: string): { streamId: string; index: number } | undefined {
  const m = /^(.*)\/(\d+)$/.exec(Buffer.from(id, "base64url").toString());
  return m && m[1] !== undefined && m[2] !== undefined ? { streamId: m[1], index: Number(m[2]) } : undefined;
}

export class FakeServer {
  readonly requests: RecordedRequest[] = [];
  readonly connections: Connection[] = [];
  /** SSE connections currently open. */
  open = 0;
  url = "";
  private readonly streams = new Map<string, Stream>();
  private readonly server = createServer((req, res) => void this.handle(req, res));
  private readonly sockets = new Set<import("node:net").Socket>();

  constructor(readonly options: FakeServerOptions = {}) {
    this.server.on("connection", (s) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const server = new FakeServer(options);
    await new Promise<void>((resolve) => server.server.listen(0, "127.0.0.1", resolve));
    server.url = `http://127.0.0.1:${(server.server.address() as AddressInfo).port}`;
    return server;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  addStream(threadId: string, streamId: string, chunks: Chunk[] = [], opts: { order?: number; stepOrder?: number; status?: Stream["status"] } = {}): void {
    this.streams.set(streamId, {
      streamId,
      threadId,
      order: opts.order ?? 0,
      stepOrder: opts.stepOrder ?? 0,
      chunks: [...chunks],
      status: opts.status ?? "finished",
      listeners: new Set(),
    });
  }

  append(streamId: string, ...chunks: Chunk[]): void {
    const s = this.stream(streamId);
    s.chunks.push(...chunks);
    for (const l of s.listeners) l();
  }

  finish(streamId: string, status: "finished" | "aborted" = "finished"): void {
    const s = this.stream(streamId);
    s.status = status;
    for (const l of s.listeners) l();
  }

  stream(streamId: string): Stream {
    const s = this.streams.get(streamId);
    if (!s) throw new Error(`no stream ${streamId}`);
    return s;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = "";
    for await (const part of req) body += String(part);
    const recorded: RecordedRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
    this.requests.push(recorded);
    if (this.options.intercept && (await this.options.intercept(recorded, res))) return;

    const url = new URL(recorded.url, "http://x");
    const parts = url.pathname.split("/").filter(Boolean).map(decodeURIComponent);
    const lastEventId = req.headers["last-event-id"];
    const json = (status: number, value: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(value));
    };

    if (req.method === "GET" && parts[0] === "streams" && parts[2] === "events" && parts.length === 3) {
      const s = this.streams.get(parts[1] ?? "");
      if (!s) return json(404, { error: "StreamNotFound", message: "no such stream" });
      const after = typeof lastEventId === "string" ? lastEventId : url.searchParams.get("cursor");
      let start = 0;
      if (after) {
        const d = decodeId(after);
        if (!d || d.streamId !== s.streamId) return json(422, { error: "ValidationError", message: "bad cursor" });
        start = d.index + 1;
      }
      return this.sse(recorded, res, s, start);
    }
    if (req.method === "GET" && parts[0] === "threads" && parts[2] === "stream" && parts.length === 3) {
      if (typeof lastEventId === "string") {
        const d = decodeId(lastEventId);
        const s = d && this.streams.get(d.streamId);
        if (!d || !s) return json(422, { error: "ValidationError", message: "bad Last-Event-ID" });
        return this.sse(recorded, res, s, d.index + 1);
      }
      const live = [...this.streams.values()].filter((s) => s.threadId === parts[1] && s.status === "streaming");
      const current = live.sort((a, b) => b.order - a.order || b.stepOrder - a.stepOrder)[0];
      if (!current) return void res.writeHead(204).end();
      return this.sse(recorded, res, current, 0);
    }
    if (req.method === "GET" && parts[0] === "threads" && parts[2] === "streams" && parts.length === 3) {
      const statuses = (url.searchParams.get("statuses") ?? "streaming").split(",");
      return json(
        200,
        [...this.streams.values()]
          .filter((s) => s.threadId === parts[1] && statuses.includes(s.status))
          .map(({ streamId, status, order, stepOrder }) => ({ streamId, status, order, stepOrder, format: "UIMessageChunk" })),
      );
    }
    if (req.method === "POST" && parts[0] === "threads" && parts[2] === "streams" && parts[3] === "abort") {
      const { order, reason } = JSON.parse(body) as { order: number; reason: string };
      let aborted = false;
      for (const s of this.streams.values()) {
        if (s.threadId === parts[1] && s.order === order && s.status === "streaming") {
          this.append(s.streamId, { type: "abort", reason });
          this.finish(s.streamId, "aborted");
          aborted = true;
        }
      }
      return json(200, { aborted });
    }
    if (req.method === "POST" && parts[0] === "streams" && parts[2] === "abort") {
      const s = this.streams.get(parts[1] ?? "");
      if (!s) return json(404, { error: "StreamNotFound", message: "no such stream" });
      const aborted = s.status === "streaming";
      if (aborted) {
        this.append(s.streamId, { type: "abort" });
        this.finish(s.streamId, "aborted");
      }
      return json(200, { aborted });
    }
    json(404, { error: "NotFound", message: `no route ${req.method} ${url.pathname}` });
  }

  /** Streams events from `start`, then [DONE] once the stream is no longer streaming. */
  private sse(request: RecordedRequest, res: ServerResponse, s: Stream, start: number): void {
    const connection: Connection = { request, cutAt: this.options.cut?.(this.connections.length) };
    this.connections.push(connection);
    this.open++;
    res.writeHead(200, SSE_HEADERS);
    res.flushHeaders();
    let next = start;
    let written = 0;
    let closed = false;
    const finish = (): void => {
      if (closed) return;
      closed = true;
      this.open--;
      s.listeners.delete(pump);
      if (ping) clearInterval(ping);
    };
    res.on("close", finish);
    const write = (text: string): boolean => {
      const buf = Buffer.from(text);
      const cut = connection.cutAt;
      if (cut !== undefined && written + buf.length > cut) {
        res.write(buf.subarray(0, cut - written));
        finish();
        if (this.options.cutMode === "end") res.end();
        else setImmediate(() => res.destroy()); // let the partial write leave first
        return false;
      }
      written += buf.length;
      res.write(buf);
      return true;
    };
    const pump = (): void => {
      while (!closed && next < s.chunks.length) {
        if (!write(`id: ${eventId(s.streamId, next)}\ndata: ${JSON.stringify(s.chunks[next])}\n\n`)) return;
        next++;
      }
      if (!closed && s.status !== "streaming") {
        if (!write("data: [DONE]\n\n")) return;
        finish();
        res.end();
      }
    };
    const ping = this.options.pingMs ? setInterval(() => !closed && write(": ping\n\n"), this.options.pingMs) : undefined;
    s.listeners.add(pump);
    pump();
  }
}

/** A seeded PRNG (mulberry32), so a failing random case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A realistic two-step reply: reasoning, text with non-ASCII, a streamed tool call, a source. */
export function replyChunks(textDeltas = 20): Chunk[] {
  const chunks: Chunk[] = [
    { type: "start", messageId: "msg-1" },
    { type: "start-step" },
    { type: "reasoning-start", id: "r1" },
    { type: "reasoning-delta", id: "r1", delta: "Thinking about it…" },
    { type: "reasoning-end", id: "r1" },
    { type: "tool-input-start", toolCallId: "call-1", toolName: "weather" },
    { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '{"city":' },
    { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '"Zürich"}' },
    { type: "tool-input-available", toolCallId: "call-1", toolName: "weather", input: { city: "Zürich" } },
    { type: "tool-output-available", toolCallId: "call-1", output: { tempC: 21 } },
    { type: "finish-step" },
    { type: "start-step" },
    { type: "text-start", id: "t1" },
  ];
  for (let i = 0; i < textDeltas; i++) chunks.push({ type: "text-delta", id: "t1", delta: `w${i} é🙂 ` });
  chunks.push(
    { type: "text-end", id: "t1" },
    { type: "source-url", sourceId: "s1", url: "https://example.com/weather" },
    { type: "finish-step" },
    { type: "finish" },
  );
  return chunks;
}

export function expectedText(textDeltas = 20): string {
  let text = "";
  for (let i = 0; i < textDeltas; i++) text += `w${i} é🙂 `;
  return text;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

export async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value);
  }
}

// A tiny fake agent-streams server for the browser smoke check (not the real service):
// the thread SSE route with opaque ids, Last-Event-ID resume and pings, list + abort-by-order,
// CORS with preflight, and a writer that streams a reply over time. When a thread's writer
// reaches chunk `cutAt`, every open SSE connection of that thread is cut in the middle of an
// event (the network drops), so the browser has to resume with Last-Event-ID.
import { createServer } from "node:http";

export function replyChunks(words) {
  const chunks = [
    { type: "start", messageId: "assistant-1" },
    { type: "start-step" },
    { type: "reasoning-start", id: "r" },
    { type: "reasoning-delta", id: "r", delta: "Looking up the weather." },
    { type: "reasoning-end", id: "r" },
    { type: "tool-input-start", toolCallId: "c1", toolName: "weather" },
    { type: "tool-input-delta", toolCallId: "c1", inputTextDelta: '{"city":"Zürich"}' },
    { type: "tool-input-available", toolCallId: "c1", toolName: "weather", input: { city: "Zürich" } },
    { type: "tool-output-available", toolCallId: "c1", output: { tempC: 21 } },
    { type: "finish-step" },
    { type: "start-step" },
    { type: "text-start", id: "t" },
  ];
  for (let i = 0; i < words; i++) chunks.push({ type: "text-delta", id: "t", delta: `word${i} ` });
  chunks.push({ type: "text-end", id: "t" }, { type: "finish-step" }, { type: "finish" });
  return chunks;
}
export const fullText = (words) => Array.from({ length: words }, (_, i) => `word${i} `).join("");

const id = (thread, n) => Buffer.from(`${thread}:${n}`).toString("base64url");
const parseId = (s) => {
  const m = /^(.*):(\d+)$/.exec(Buffer.from(s, "base64url").toString());
  return m ? { thread: m[1], n: Number(m[2]) } : undefined;
};

export async function startFakeServer({ port = 0, intervalMs = 40, cutAt = 25, pingMs = 1000 } = {}) {
  const threads = new Map(); // threadId -> { chunks, written, status, listeners, cuts, timer }
  const log = [];
  const cors = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": "authorization, content-type, last-event-id",
    "access-control-max-age": "600",
  };
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const url = new URL(req.url, "http://x");
    const [a, threadId, b, c] = url.pathname.split("/").filter(Boolean);
    log.push({ method: req.method, path: url.pathname, lastEventId: req.headers["last-event-id"] ?? null, authorization: req.headers.authorization ?? null });
    if (req.method === "OPTIONS") return void res.writeHead(204, cors).end();
    const json = (status, v) => res.writeHead(status, { ...cors, "content-type": "application/json" }).end(JSON.stringify(v));
    const t = threads.get(threadId);
    if (a !== "threads") return json(404, { error: "NotFound", message: "no route" });
    if (req.method === "GET" && b === "stream") {
      let start = 0;
      const last = req.headers["last-event-id"];
      if (last) {
        const p = parseId(last);
        if (!p || p.thread !== threadId) return json(422, { error: "ValidationError", message: "bad Last-Event-ID" });
        start = p.n + 1;
      } else if (!t || t.status !== "streaming") {
        return void res.writeHead(204, cors).end();
      }
      res.writeHead(200, { ...cors, "content-type": "text/event-stream", "cache-control": "no-cache", "x-vercel-ai-ui-message-stream": "v1", "x-accel-buffering": "no" });
      res.flushHeaders();
      let n = start;
      let dropped = false;
      const pump = () => {
        while (!dropped && n < t.written) {
          res.write(`id: ${id(threadId, n)}\ndata: ${JSON.stringify(t.chunks[n])}\n\n`);
          n++;
        }
        if (!dropped && t.status !== "streaming") {
          res.end("data: [DONE]\n\n");
          t.listeners.delete(pump);
        }
      };
      const ping = setInterval(() => res.write(": ping\n\n"), pingMs);
      const cut = () => {
        dropped = true;
        res.write(`id: ${id(threadId, n)}\ndata: {"type":"text-del`); // the drop hits mid-event
        setTimeout(() => res.destroy(), 10);
      };
      res.on("close", () => { clearInterval(ping); t.listeners.delete(pump); t.cuts.delete(cut); });
      t.listeners.add(pump);
      t.cuts.add(cut);
      return pump();
    }
    if (req.method === "GET" && b === "streams" && !c) {
      return json(200, t && t.status === "streaming" ? [{ streamId: `${threadId}-s`, status: "streaming", order: 0, stepOrder: 0 }] : []);
    }
    if (req.method === "POST" && b === "streams" && c === "abort") {
      const aborted = !!t && t.status === "streaming" && JSON.parse(body).order === 0;
      if (aborted) {
        t.chunks.splice(t.written, Infinity, { type: "abort" });
        t.written = t.chunks.length;
        t.status = "aborted";
        clearInterval(t.timer);
        for (const l of [...t.listeners]) l();
      }
      return json(200, { aborted });
    }
    json(404, { error: "NotFound", message: "no route" });
  });
  await new Promise((r) => server.listen(port, "127.0.0.1", r));
  const url = `http://127.0.0.1:${server.address().port}`;
  return {
    url,
    log,
    threads,
    /** Starts streaming `chunks` on `threadId`, one every intervalMs. */
    startTurn(threadId, chunks) {
      const t = { chunks: [...chunks], written: 0, status: "streaming", listeners: new Set(), cuts: new Set() };
      threads.set(threadId, t);
      t.timer = setInterval(() => {
        if (t.written < t.chunks.length) t.written++;
        if (t.written === cutAt) for (const cut of [...t.cuts]) cut();
        if (t.written === t.chunks.length) {
          clearInterval(t.timer);
          t.status = "finished";
        }
        for (const l of [...t.listeners]) l();
      }, intervalMs);
    },
    close: () =>
      new Promise((r) => {
        for (const t of threads.values()) clearInterval(t.timer);
        server.closeAllConnections();
        server.close(r);
      }),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop())) {
  const s = await startFakeServer({ port: Number(process.env.PORT ?? 0) });
  s.startTurn("demo", replyChunks(200));
  console.log(JSON.stringify({ url: s.url, threadId: "demo" }));
}

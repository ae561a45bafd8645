import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { UIMessageChunk } from "ai";
import { followStream, followStreamEvents, ServiceUnavailable, StreamNotFound } from "../src/index.js";
import { collect, eventId, FakeServer, prng, replyChunks, type Chunk } from "./server.js";

const fast = { reconnectDelayMs: 1, maxReconnects: 50 };

async function withServer<T>(options: ConstructorParameters<typeof FakeServer>[0], fn: (s: FakeServer) => Promise<T>): Promise<T> {
  const server = await FakeServer.start(options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

describe("followStream", () => {
  let server: FakeServer;
  const chunks = replyChunks(30);
  before(async () => {
    server = await FakeServer.start();
    server.addStream("T1", "S1", chunks);
  });
  after(() => server.close());

  it("yields every chunk of a finished stream, then ends at [DONE]", async () => {
    const followed = followStream(server.url, "S1");
    const got = await collect(followed);
    assert.deepEqual(got, chunks);
    assert.equal(followed.lastEventId, eventId("S1", chunks.length - 1));
    const req = server.requests.at(-1);
    assert.equal(req?.url, "/streams/S1/events");
    assert.equal(req?.headers["accept"], "text/event-stream");
    assert.equal(req?.headers["last-event-id"], undefined);
  });

  it("starts after a cursor (?cursor=), and yields {chunk, id} events", async () => {
    const cursor = eventId("S1", 9);
    const events = await collect(followStreamEvents(`${server.url}/`, "S1", { cursor, token: async () => "tk", headers: () => ({ "X-Trace": "9" }) }));
    assert.deepEqual(
      events.map((e) => e.chunk),
      chunks.slice(10),
    );
    assert.deepEqual(
      events.map((e) => e.id),
      chunks.slice(10).map((_, i) => eventId("S1", 10 + i)),
    );
    assert.equal(server.requests.at(-1)?.url, `/streams/S1/events?cursor=${encodeURIComponent(cursor)}`);
    assert.equal(server.requests.at(-1)?.headers["authorization"], "Bearer tk");
    assert.equal(server.requests.at(-1)?.headers["x-trace"], "9");
  });

  it("lets a caller stop, persist lastEventId, and continue later exactly after it", async () => {
    const first = followStream(server.url, "S1");
    const got: UIMessageChunk[] = [];
    for await (const chunk of first) {
      got.push(chunk);
      if (got.length === 12) break;
    }
    const cursor = first.lastEventId;
    assert.equal(cursor, eventId("S1", 11));
    const rest = await collect(followStream(server.url, "S1", { cursor }));
    assert.deepEqual([...got, ...rest], chunks);
  });

  it("throws StreamNotFound for an unknown stream, without retrying", async () => {
    const count = server.requests.length;
    await assert.rejects(collect(followStream(server.url, "nope", fast)), (e: unknown) => {
      assert.ok(e instanceof StreamNotFound);
      assert.equal(e.status, 404);
      assert.equal(e.code, "StreamNotFound");
      return true;
    });
    assert.equal(server.requests.length, count + 1);
  });
});

describe("followStream resume", () => {
  for (const cutMode of ["destroy", "end"] as const) {
    it(`resumes with Last-Event-ID after cuts at random points (${cutMode}), no chunk lost or repeated`, async () => {
      const rand = prng(cutMode === "destroy" ? 7 : 8);
      for (let trial = 0; trial < 12; trial++) {
        const chunks = replyChunks(5 + Math.floor(rand() * 60));
        // Cuts anywhere in [0, maxCut): mid-line, mid-UTF-8 sequence, between events.
        const maxCut = 300 + Math.floor(rand() * 400);
        await withServer({ cut: () => Math.floor(rand() * maxCut), cutMode }, async (server) => {
          server.addStream("T", "S", chunks);
          const followed = followStreamEvents(server.url, "S", fast);
          const events = await collect(followed);
          assert.deepEqual(
            events.map((e) => e.chunk),
            chunks,
            `trial ${trial}`,
          );
          assert.ok(server.connections.length > 3, `trial ${trial}: the server did cut (${server.connections.length} connections)`);
          // Each reconnect carried the id of the last event delivered before it.
          const delivered = new Set(events.map((e) => e.id));
          for (const c of server.connections.slice(1)) {
            const id = c.request.headers["last-event-id"];
            if (id !== undefined) assert.ok(delivered.has(String(id)), `trial ${trial}: resumed from an id never delivered`);
          }
          assert.equal(followed.lastEventId, eventId("S", chunks.length - 1));
        });
      }
    });
  }

  it("keeps the cursor when a connection drops before the first event, then switches to Last-Event-ID", async () => {
    const chunks = replyChunks(3);
    await withServer({ cut: (n) => (n === 0 ? 10 : n === 1 ? 150 : undefined) }, async (server) => {
      server.addStream("T", "S", chunks);
      const cursor = eventId("S", 1);
      assert.deepEqual(await collect(followStream(server.url, "S", { ...fast, cursor })), chunks.slice(2));
      const requests = server.connections.map((c) => [c.request.url, c.request.headers["last-event-id"]]);
      assert.equal(requests.length, 3);
      assert.deepEqual(requests[0], [`/streams/S/events?cursor=${cursor}`, undefined]);
      assert.deepEqual(requests[1], [`/streams/S/events?cursor=${cursor}`, undefined]);
      assert.equal(requests[2]?.[0], "/streams/S/events");
      assert.match(String(requests[2]?.[1]), /./);
    });
  });

  it("follows a live stream across pings and cuts until it finishes", async () => {
    const rand = prng(3);
    await withServer({ pingMs: 5, cut: (n) => (n % 2 === 0 ? 30 + Math.floor(rand() * 200) : undefined) }, async (server) => {
      server.addStream("T", "S", [], { status: "streaming" });
      const written: Chunk[] = [];
      const writer = (async () => {
        for (let i = 0; i < 40; i++) {
          await new Promise((r) => setTimeout(r, 1 + (i % 5)));
          const chunk = { type: "text-delta", id: "t", delta: `d${i}` };
          written.push(chunk);
          server.append("S", chunk);
        }
        await new Promise((r) => setTimeout(r, 20));
        server.finish("S");
      })();
      const got = await collect(followStream(server.url, "S", fast));
      await writer;
      assert.deepEqual(got, written);
    });
  });

  it("retries a 503 on reconnect after Retry-After, then continues exactly", async () => {
    let failNext = 0;
    const chunks = replyChunks(4);
    await withServer(
      {
        cut: (n) => (n === 0 ? 300 : undefined),
        intercept: (req, res) => {
          if (req.headers["last-event-id"] && failNext-- > 0) {
            res.writeHead(503, { "content-type": "application/json", "retry-after": "1" });
            res.end(JSON.stringify({ error: "ServiceUnavailable", message: "throttled" }));
            return true;
          }
          return false;
        },
      },
      async (server) => {
        server.addStream("T", "S", chunks);
        failNext = 1;
        const started = Date.now();
        const got = await collect(followStream(server.url, "S", fast));
        assert.deepEqual(got, chunks);
        assert.equal(server.requests.length, 3, "first, 503, resumed");
        assert.ok(Date.now() - started >= 950, "waited for Retry-After");
      },
    );
  });

  it("retries network errors before any response (bounded), then gives up with the error", async () => {
    let refuse = 2;
    await withServer(
      {
        intercept: (_req, res) => {
          if (refuse-- > 0) {
            res.socket?.destroy();
            return true;
          }
          return false;
        },
      },
      async (server) => {
        server.addStream("T", "S", replyChunks(2));
        assert.deepEqual(await collect(followStream(server.url, "S", fast)), replyChunks(2));
        assert.equal(server.requests.length, 3);
        refuse = 1000;
        const count = server.requests.length;
        await assert.rejects(collect(followStream(server.url, "S", { reconnectDelayMs: 1, maxReconnects: 3 })), TypeError);
        assert.equal(server.requests.length - count, 4, "1 attempt + 3 reconnects");
      },
    );
  });

  it("gives up after maxReconnects 503s in a row with ServiceUnavailable", async () => {
    await withServer(
      {
        intercept: (_req, res) => {
          res.writeHead(503, { "content-type": "application/json", "retry-after": "0" });
          res.end(JSON.stringify({ error: "ServiceUnavailable", message: "throttled" }));
          return true;
        },
      },
      async (server) => {
        await assert.rejects(collect(followStream(server.url, "S", { reconnectDelayMs: 1, maxReconnects: 2 })), (e: unknown) => {
          assert.ok(e instanceof ServiceUnavailable);
          assert.equal(e.retryAfter, 0);
          return true;
        });
        assert.equal(server.requests.length, 3);
      },
    );
  });

  it("treats connections closing before a complete event as failures (bounded)", async () => {
    await withServer({ cut: () => 30, cutMode: "end" }, async (server) => {
      server.addStream("T", "S", replyChunks(2));
      await assert.rejects(collect(followStream(server.url, "S", { reconnectDelayMs: 1, maxReconnects: 4 })), /before sending a complete event/);
      assert.equal(server.connections.length, 5);
    });
  });

  it("throws a 4xx on reconnect instead of retrying", async () => {
    let cutOnce = true;
    await withServer(
      {
        cut: () => (cutOnce ? ((cutOnce = false), 200) : undefined),
        intercept: (req, res) => {
          if (req.headers["last-event-id"]) {
            res.writeHead(404, { "content-type": "application/json" });
            res.end(JSON.stringify({ error: "StreamNotFound", message: "deleted" }));
            return true;
          }
          return false;
        },
      },
      async (server) => {
        server.addStream("T", "S", replyChunks(10));
        const got: UIMessageChunk[] = [];
        await assert.rejects(
          (async () => {
            for await (const c of followStream(server.url, "S", fast)) got.push(c);
          })(),
          StreamNotFound,
        );
        assert.ok(got.length > 0);
        assert.deepEqual(got, replyChunks(10).slice(0, got.length));
        assert.equal(server.requests.length, 2);
      },
    );
  });

  it("stops on abort (signal) and on break, closing the connection", async () => {
    await withServer({ pingMs: 5 }, async (server) => {
      server.addStream("T", "S", [{ type: "start" }], { status: "streaming" });
      const controller = new AbortController();
      const got: UIMessageChunk[] = [];
      const run = (async () => {
        for await (const c of followStream(server.url, "S", { signal: controller.signal })) {
          got.push(c);
          controller.abort();
        }
      })();
      await assert.rejects(run, { name: "AbortError" });
      assert.deepEqual(got, [{ type: "start" }]);

      for await (const c of followStream(server.url, "S")) {
        assert.deepEqual(c, { type: "start" });
        break;
      }
      // close() from elsewhere while the loop waits for the next chunk ends the loop quietly.
      const followed = followStream(server.url, "S");
      const seen: UIMessageChunk[] = [];
      const loop = (async () => {
        for await (const c of followed) seen.push(c);
      })();
      while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
      followed.close();
      await loop;
      assert.deepEqual(seen, [{ type: "start" }]);
      for (let i = 0; i < 100 && server.open > 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(server.open, 0, "all connections closed");
    });
  });

  it("ends with the abort chunk when the stream is aborted", async () => {
    await withServer({}, async (server) => {
      server.addStream("T", "S", [{ type: "start" }, { type: "text-start", id: "t" }], { status: "streaming" });
      const followed = followStream(server.url, "S");
      const got: UIMessageChunk[] = [];
      for await (const c of followed) {
        got.push(c);
        if (got.length === 2) {
          server.append("S", { type: "abort" });
          server.finish("S", "aborted");
        }
      }
      assert.deepEqual(got.at(-1), { type: "abort" });
      assert.equal(got.length, 3);
    });
  });
});

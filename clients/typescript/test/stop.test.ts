import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { AgentStreamsChatTransport, stopStream, stopThread, ThreadNotFound } from "../src/index.js";
import { FakeServer } from "./server.js";

describe("stopThread / stopStream", () => {
  it("lists the streaming streams, then aborts each distinct order once", async () => {
    const server = await FakeServer.start();
    try {
      server.addStream("T", "A", [], { status: "streaming", order: 3, stepOrder: 0 });
      server.addStream("T", "B", [], { status: "streaming", order: 3, stepOrder: 1 });
      server.addStream("T", "C", [], { status: "streaming", order: 4 });
      server.addStream("T", "D", [], { status: "finished", order: 2 });
      server.addStream("U", "E", [], { status: "streaming", order: 3 });
      let calls = 0;
      const result = await stopThread(`${server.url}/`, "T", {
        token: () => `tok${++calls}`,
        headers: { "x-app": "1" },
      });
      assert.deepEqual(result, { aborted: true });
      assert.deepEqual(
        server.requests.map((r) => [r.method, r.url, r.body ? JSON.parse(r.body) : undefined]),
        [
          ["GET", "/threads/T/streams?statuses=streaming", undefined],
          ["POST", "/threads/T/streams/abort", { order: 3, reason: "user" }],
          ["POST", "/threads/T/streams/abort", { order: 4, reason: "user" }],
        ],
      );
      assert.deepEqual(
        server.requests.map((r) => [r.headers["authorization"], r.headers["x-app"]]),
        [
          ["Bearer tok1", "1"],
          ["Bearer tok2", "1"],
          ["Bearer tok3", "1"],
        ],
      );
      assert.equal(server.requests[1]?.headers["content-type"], "application/json");
      assert.equal(server.stream("E").status, "streaming", "another thread is untouched");
      assert.deepEqual(server.stream("A").chunks, [{ type: "abort", reason: "user" }]);

      // Nothing streaming any more: no abort call, nothing aborted.
      const before = server.requests.length;
      assert.deepEqual(await stopThread(server.url, "T"), { aborted: false });
      assert.equal(server.requests.length, before + 1);
    } finally {
      await server.close();
    }
  });

  it("with an order, aborts it directly with the given reason", async () => {
    const server = await FakeServer.start();
    try {
      server.addStream("T", "A", [], { status: "streaming", order: 1 });
      assert.deepEqual(await stopThread(server.url, "T", { order: 1, reason: "new turn" }), { aborted: true });
      assert.equal(server.requests.length, 1);
      assert.deepEqual(JSON.parse(server.requests[0]?.body ?? ""), { order: 1, reason: "new turn" });
      assert.deepEqual(await stopThread(server.url, "T", { order: 1 }), { aborted: false });
    } finally {
      await server.close();
    }
  });

  it("stopStream aborts one stream; the transport's stopThread uses apiUrl and its auth", async () => {
    const server = await FakeServer.start();
    try {
      server.addStream("T", "A", [], { status: "streaming" });
      assert.deepEqual(await stopStream(server.url, "A", { reason: "bye" }), { aborted: true });
      assert.deepEqual(server.requests.at(-1)?.body, JSON.stringify({ reason: "bye" }));
      assert.equal(server.requests.at(-1)?.url, "/streams/A/abort");
      assert.deepEqual(await stopStream(server.url, "A"), { aborted: false });

      server.addStream("T", "B", [], { status: "streaming", order: 5 });
      const transport = new AgentStreamsChatTransport({ baseUrl: "http://127.0.0.1:9/unused", apiUrl: server.url, token: () => "t" });
      assert.deepEqual(await transport.stopThread("T"), { aborted: true });
      assert.equal(server.requests.at(-1)?.headers["authorization"], "Bearer t");
    } finally {
      await server.close();
    }
  });

  it("throws typed errors", async () => {
    const server = await FakeServer.start({
      intercept: (_req, res) => {
        res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ error: "ThreadNotFound", message: "no thread" }));
        return true;
      },
    });
    try {
      await assert.rejects(stopThread(server.url, "T"), (e: unknown) => e instanceof ThreadNotFound && e.message === "no thread");
    } finally {
      await server.close();
    }
  });
});

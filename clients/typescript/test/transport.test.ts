import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AbstractChat,
  readUIMessageStream,
  type ChatState,
  type ChatStatus,
  type ChatTransport,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import { AgentStreamsChatTransport, Unauthorized } from "../src/index.js";
import { expectedText, FakeServer, prng, readAll, replyChunks } from "./server.js";

// The transport is a ChatTransport (checked by the compiler).
const typed: ChatTransport<UIMessage> = new AgentStreamsChatTransport({ baseUrl: "http://x" });
void typed;

async function withServer<T>(options: ConstructorParameters<typeof FakeServer>[0], fn: (s: FakeServer) => Promise<T>): Promise<T> {
  const server = await FakeServer.start(options);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

async function lastMessage(stream: ReadableStream<UIMessageChunk>): Promise<UIMessage | undefined> {
  let message: UIMessage | undefined;
  for await (const m of readUIMessageStream<UIMessage>({ stream, terminateOnError: true })) message = m;
  return message;
}

function checkReply(message: UIMessage | undefined, textDeltas: number): void {
  assert.ok(message);
  assert.equal(message.id, "msg-1");
  assert.equal(message.role, "assistant");
  assert.deepEqual(
    message.parts.map((p) => p.type),
    ["step-start", "reasoning", "tool-weather", "step-start", "text", "source-url"],
  );
  const [, reasoning, tool, , text] = message.parts;
  assert.deepEqual(reasoning && { type: reasoning.type, text: "text" in reasoning ? reasoning.text : undefined }, {
    type: "reasoning",
    text: "Thinking about it…",
  });
  assert.ok(tool && "state" in tool);
  assert.equal(tool.state, "output-available");
  assert.deepEqual("input" in tool ? tool.input : undefined, { city: "Zürich" });
  assert.deepEqual("output" in tool ? tool.output : undefined, { tempC: 21 });
  assert.ok(text && text.type === "text");
  assert.equal(text.text, expectedText(textDeltas));
  assert.equal(text.state, "done");
}

class TestState implements ChatState<UIMessage> {
  status: ChatStatus = "ready";
  error: Error | undefined = undefined;
  messages: UIMessage[] = [];
  pushMessage = (m: UIMessage): void => void this.messages.push(m);
  popMessage = (): void => void this.messages.pop();
  replaceMessage = (i: number, m: UIMessage): void => void (this.messages[i] = m);
  snapshot = <T>(thing: T): T => structuredClone(thing);
}

class TestChat extends AbstractChat<UIMessage> {
  constructor(transport: ChatTransport<UIMessage>, id: string) {
    super({ id, transport, state: new TestState() });
  }
}

describe("AgentStreamsChatTransport.reconnectToStream", () => {
  it("resolves null on 204 (nothing streaming)", async () => {
    await withServer({}, async (server) => {
      const transport = new AgentStreamsChatTransport({ baseUrl: server.url });
      assert.equal(await transport.reconnectToStream({ chatId: "T" }), null);
      assert.equal(server.requests[0]?.url, "/threads/T/stream");
    });
  });

  it("streams the current turn into the AI SDK's message, resuming across cuts", async () => {
    const rand = prng(11);
    await withServer({ cut: () => 50 + Math.floor(rand() * 300) }, async (server) => {
      server.addStream("T", "S", replyChunks(40), { status: "streaming" });
      const transport = new AgentStreamsChatTransport({ baseUrl: server.url, reconnectDelayMs: 1, maxReconnects: 50 });
      const stream = await transport.reconnectToStream({ chatId: "T" });
      assert.ok(stream);
      server.finish("S"); // the turn ends; resumed connections (Last-Event-ID) still get the rest
      checkReply(await lastMessage(stream), 40);
      assert.ok(server.connections.length > 3);
      for (const c of server.connections.slice(1)) {
        assert.equal(c.request.url, "/threads/T/stream");
        assert.ok(c.request.headers["last-event-id"], "every reconnect carries Last-Event-ID");
      }
    });
  });

  it("ends the stream when a resume is answered 204", async () => {
    await withServer(
      {
        cut: () => 200,
        intercept: (req, res) => {
          if (!req.headers["last-event-id"]) return false;
          res.writeHead(204).end();
          return true;
        },
      },
      async (server) => {
        server.addStream("T", "S", replyChunks(5), { status: "streaming" });
        const transport = new AgentStreamsChatTransport({ baseUrl: server.url, reconnectDelayMs: 1 });
        const stream = await transport.reconnectToStream({ chatId: "T" });
        assert.ok(stream);
        const got = await readAll(stream);
        assert.ok(got.length > 0 && got.length < replyChunks(5).length);
        assert.deepEqual(got, replyChunks(5).slice(0, got.length));
        assert.equal(server.requests.length, 2);
      },
    );
  });

  it("sends headers, call headers and a fresh bearer token on every request", async () => {
    let cuts = 0;
    await withServer({ cut: () => (cuts++ < 2 ? 120 : undefined) }, async (server) => {
      server.addStream("T", "S", replyChunks(3), { status: "streaming" });
      let n = 0;
      const transport = new AgentStreamsChatTransport({
        baseUrl: server.url,
        headers: async () => ({ "X-App": "web" }),
        token: async () => `token-${++n}`,
        reconnectDelayMs: 1,
      });
      const stream = await transport.reconnectToStream({ chatId: "T", headers: new Headers({ "x-call": "c" }) });
      assert.ok(stream);
      server.finish("S");
      assert.deepEqual(await readAll(stream), replyChunks(3));
      assert.deepEqual(
        server.requests.map((r) => [r.headers["authorization"], r.headers["x-app"], r.headers["x-call"]]),
        [
          ["Bearer token-1", "web", "c"],
          ["Bearer token-2", "web", "c"],
          ["Bearer token-3", "web", "c"],
        ],
      );
    });
  });

  it("throws Unauthorized on 401 and honours an aborted signal", async () => {
    await withServer(
      {
        intercept: (req, res) => {
          if (req.headers["authorization"] !== "Bearer good") {
            res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ message: "Unauthorized" }));
            return true;
          }
          return false;
        },
      },
      async (server) => {
        const bad = new AgentStreamsChatTransport({ baseUrl: server.url, token: () => undefined });
        await assert.rejects(bad.reconnectToStream({ chatId: "T" }), Unauthorized);
        assert.equal(server.requests[0]?.headers["authorization"], undefined, "no token, no header");
        const good = new AgentStreamsChatTransport({ baseUrl: server.url, token: () => "good" });
        await assert.rejects(good.reconnectToStream({ chatId: "T", abortSignal: AbortSignal.abort() }), { name: "AbortError" });
      },
    );
  });

  it("drives the AI SDK Chat: resumeStream() builds the message; stop() closes the connection", async () => {
    await withServer({ cut: (n) => (n === 0 ? 400 : undefined) }, async (server) => {
      server.addStream("T", "S", replyChunks(8), { status: "streaming" });
      const transport = new AgentStreamsChatTransport({ baseUrl: server.url, reconnectDelayMs: 1 });
      const chat = new TestChat(transport, "T");
      const resumed = chat.resumeStream();
      // Finished once the client has resumed after the cut (a fixed delay raced a busy machine).
      for (let i = 0; i < 1000 && server.connections.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
      server.finish("S");
      await resumed;
      assert.equal(chat.status, "ready");
      assert.equal(chat.messages.length, 1);
      checkReply(chat.messages[0], 8);

      // A live turn: stop() aborts the request, the Chat ends "ready" and the server sees the close.
      server.addStream("T", "S2", [{ type: "start", messageId: "m2" }, { type: "text-start", id: "x" }, { type: "text-delta", id: "x", delta: "hi" }], {
        status: "streaming",
        order: 1,
      });
      const chat2 = new TestChat(transport, "T");
      const resumed2 = chat2.resumeStream();
      for (let i = 0; i < 100 && chat2.messages[0]?.parts.length !== 1; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(chat2.status, "streaming");
      await chat2.stop();
      await resumed2;
      assert.equal(chat2.status, "ready");
      for (let i = 0; i < 100 && server.open > 0; i++) await new Promise((r) => setTimeout(r, 5));
      assert.equal(server.open, 0);
    });
  });
});

describe("AgentStreamsChatTransport.sendMessages", () => {
  const userMessage: UIMessage = { id: "u1", role: "user", parts: [{ type: "text", text: "weather?" }] };
  const sendOptions = {
    chatId: "T",
    messages: [userMessage],
    trigger: "submit-message" as const,
    messageId: undefined,
    abortSignal: undefined,
  };

  it("explains how to configure it when nothing is given", async () => {
    const transport = new AgentStreamsChatTransport({ baseUrl: "http://127.0.0.1:9" });
    await assert.rejects(transport.sendMessages(sendOptions), /sendMessages.*sendUrl/s);
  });

  it("returns the stream a sendMessages function gives", async () => {
    const chunks: UIMessageChunk[] = [{ type: "start" }, { type: "finish" }];
    let seen: unknown;
    const transport = new AgentStreamsChatTransport({
      baseUrl: "http://127.0.0.1:9",
      sendMessages: (options) => {
        seen = options.messages;
        return new ReadableStream<UIMessageChunk>({
          start(c) {
            for (const chunk of chunks) c.enqueue(chunk);
            c.close();
          },
        });
      },
    });
    assert.deepEqual(await readAll(await transport.sendMessages(sendOptions)), chunks);
    assert.deepEqual(seen, [userMessage]);
  });

  it("after a sendMessages function returning nothing, waits for the thread's stream and follows it", async () => {
    let started = false;
    let fake: FakeServer | undefined;
    // The stream finishes once the client follows it (a fixed delay raced a busy machine).
    const intercept = (): boolean => {
      if (started) setTimeout(() => fake?.finish("S"), 30);
      return false;
    };
    await withServer({ intercept }, async (server) => {
      fake = server;
      const transport = new AgentStreamsChatTransport({
        baseUrl: server.url,
        reconnectDelayMs: 10,
        sendMessages: async () => {
          // The pipeline starts writing a little later.
          setTimeout(() => {
            server.addStream("T", "S", replyChunks(2), { status: "streaming" });
            started = true;
          }, 60);
        },
      });
      checkReply(await lastMessage(await transport.sendMessages(sendOptions)), 2);
      assert.ok(server.requests.length >= 2, "polled while the thread had nothing streaming");
      assert.ok(server.requests.every((r) => r.url === "/threads/T/stream"));
    });
  });

  it("gives up waiting for a stream after startTimeoutMs", async () => {
    await withServer({}, async (server) => {
      const transport = new AgentStreamsChatTransport({ baseUrl: server.url, reconnectDelayMs: 10, startTimeoutMs: 50, sendMessages: () => undefined });
      await assert.rejects(transport.sendMessages(sendOptions), /No stream started on thread T/);
    });
  });

  it("POSTs the usual body to sendUrl and reads an SSE reply", async () => {
    await withServer(
      {
        intercept: (req, res) => {
          if (req.method !== "POST") return false;
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.end('data: {"type":"start"}\n\n: ping\n\ndata: {"type":"finish"}\n\ndata: [DONE]\n\n');
          return true;
        },
      },
      async (server) => {
        const transport = new AgentStreamsChatTransport({ baseUrl: server.url, sendUrl: `${server.url}/chat`, token: () => "tk" });
        const stream = await transport.sendMessages({ ...sendOptions, body: { model: "m" }, headers: { "x-call": "1" } });
        assert.deepEqual(await readAll(stream), [{ type: "start" }, { type: "finish" }]);
        const post = server.requests[0];
        assert.equal(post?.url, "/chat");
        assert.equal(post?.headers["content-type"], "application/json");
        assert.equal(post?.headers["authorization"], "Bearer tk");
        assert.equal(post?.headers["x-call"], "1");
        assert.deepEqual(JSON.parse(post?.body ?? ""), { model: "m", id: "T", messages: [userMessage], trigger: "submit-message" });
        assert.equal(server.requests.length, 1);
      },
    );
  });

  it("after a JSON {threadId} reply from sendUrl, follows that thread", async () => {
    let server: FakeServer | undefined;
    await withServer(
      {
        intercept: (req, res) => {
          if (req.method === "GET") {
            // Finished once the client follows it (a fixed delay after the POST raced a busy machine).
            if (req.url === "/threads/T2/stream") setTimeout(() => server?.finish("S"), 30);
            return false;
          }
          server?.addStream("T2", "S", replyChunks(1), { status: "streaming" });
          res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ threadId: "T2" }));
          return true;
        },
      },
      async (s) => {
        server = s;
        const transport = new AgentStreamsChatTransport({ baseUrl: s.url, sendUrl: `${s.url}/chat` });
        checkReply(await lastMessage(await transport.sendMessages(sendOptions)), 1);
        assert.equal(s.requests[1]?.url, "/threads/T2/stream");
      },
    );
  });
});

// Smoke check of the browser harness against the fake server (npm run browser-smoke):
// resume after a cut and after a reload, the stop button, and the JSON CLI.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildPage, outDir } from "./build.mjs";
import { fullText, replyChunks, startFakeServer } from "./fake-server.mjs";
import { Harness } from "./run.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const started = Date.now();
const screenshot = process.argv[2] ?? path.join(outDir, "smoke.png");
await buildPage();
const server = await startFakeServer({ intervalMs: 30, cutAt: 30 });
const harness = await Harness.start();
const summary = {};
try {
  // A: the connection drops mid-event at chunk 30 (resumed with Last-Event-ID), then the page reloads mid-turn.
  server.startTurn("A", replyChunks(80));
  await harness.open({ threadId: "A", baseUrl: server.url });
  await harness.waitForTextGrowth({ minLength: 200 }); // past the drop
  await harness.reload();
  await harness.waitForTextGrowth({ minLength: 20 });
  await harness.waitForStatus({ status: "ready", timeoutMs: 20_000 });
  const a = await harness.read();
  assert.equal(a.error, "");
  assert.equal(a.messages.length, 1, "one assistant message, nothing duplicated");
  assert.equal(a.assistantText, fullText(80));
  const parts = a.messages[0].parts;
  assert.deepEqual(parts.map((p) => p.type), ["step-start", "reasoning", "tool", "step-start", "text"]);
  assert.equal(parts[1].text, "Looking up the weather.");
  assert.equal(parts[2].state, "output-available");
  const resumes = server.log.filter((r) => r.path === "/threads/A/stream" && r.method === "GET" && r.lastEventId);
  assert.ok(resumes.length >= 1, `the browser resumed with Last-Event-ID: ${JSON.stringify(server.log)}`);
  summary.resume = { textLength: a.assistantText.length, requests: server.log.filter((r) => r.path === "/threads/A/stream").length, resumes: resumes.length };

  // B: Stop aborts the turn on the server; the stream ends with the abort chunk.
  server.startTurn("B", replyChunks(500));
  await harness.open({ threadId: "B", baseUrl: server.url });
  await harness.waitForTextGrowth({ minLength: 40 });
  const { stopResult } = await harness.pressStop();
  assert.equal(stopResult, JSON.stringify({ aborted: true }));
  await harness.waitForStatus({ status: "ready" });
  const b = await harness.read();
  assert.ok(b.assistantText.length >= 40 && b.assistantText.length < fullText(500).length);
  assert.ok(fullText(500).startsWith(b.assistantText));
  await harness.screenshot(screenshot);
  summary.stop = { textLength: b.assistantText.length, finish: b.finish, status: b.status };

  // C: nothing streaming → 204 → the page stays ready with no message.
  await harness.open({ threadId: "idle", baseUrl: server.url });
  await new Promise((r) => setTimeout(r, 300));
  const c = await harness.read();
  assert.equal(c.status, "ready");
  assert.equal(c.messages.length, 0);
} finally {
  await harness.close();
}

// D: the CLI, as a Python test would call it.
try {
  server.startTurn("D", replyChunks(300)); // long enough to be still streaming once Chromium is up
  const commands = {
    open: { threadId: "D", baseUrl: server.url },
    steps: [{ op: "waitForFinish", timeoutMs: 30_000 }, { op: "waitForStatus", status: "ready" }, { op: "read" }],
  };
  const child = spawn(process.execPath, [path.join(here, "run.mjs"), "-"], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdin.end(JSON.stringify(commands));
  let out = "";
  for await (const d of child.stdout) out += d;
  const code = await new Promise((r) => child.on("close", r));
  const result = JSON.parse(out);
  assert.equal(code, 0, out);
  assert.equal(result.ok, true);
  assert.equal(result.results.at(-1).assistantText, fullText(300), out);
  summary.cli = { ok: result.ok, steps: result.results.length };
} finally {
  await server.close();
}
console.log(JSON.stringify({ ok: true, seconds: (Date.now() - started) / 1000, screenshot, ...summary }));

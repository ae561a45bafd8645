// Drives the test page in headless Chromium (playwright-core, no browser download).
//
// As a module:
//   const h = await Harness.start();                 // builds the page if needed, serves it, launches Chromium
//   await h.open({ threadId, baseUrl, apiUrl });     // opens the page (useChat resumes the thread)
//   await h.waitForTextGrowth({ minLength: 20 });    // the assistant text grew past 20 characters
//   await h.reload(); await h.pressStop(); await h.waitForStatus("ready");
//   const dom = await h.read(); await h.screenshot("/tmp/x.png"); await h.close();
//
// As a CLI (for a Python test): node run.mjs COMMANDS.json   (or "-" for stdin)
//   {"open": {"threadId": "T", "baseUrl": "http://..."},
//    "steps": [{"op": "waitForTextGrowth", "minLength": 10}, {"op": "reload"}, {"op": "stop"},
//              {"op": "waitForStatus", "status": "ready"}, {"op": "read"}, {"op": "screenshot", "path": "/tmp/a.png"}]}
// prints one JSON line {"ok": true, "results": [...]} (or {"ok": false, "error": ..., "results": [...]}, exit 1).
//
// Interactive (a test that interleaves the browser with other work): node run.mjs --lines
//   prints {"ready": true} once Chromium is up, then reads one JSON step per stdin line and
//   answers each with one line {"ok": true, "result": {...}} or {"ok": false, "error": ..., "logs": [...]};
//   ends when stdin closes. Extra ops here: text (the rendered parts' text, cheap for polling),
//   logs (console messages and page errors so far), version (the open page's user agent).
// Step ops: open {threadId, baseUrl, apiUrl?, token?, view? ("page" | "doc")}, waitForTextGrowth {minLength?, timeoutMs?}, waitForStatus {status, timeoutMs?},
// texts {selector}, click {selector}, waitForText {text, timeoutMs?}, waitForFinish {timeoutMs?} (useChat's onFinish fired; note the
// status is "ready" before a resume starts), reload, stop, resume, read, screenshot {path}, sleep {ms}.
import { createServer } from "node:http";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { createInterface } from "node:readline";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));

export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".map": "application/json" };

/** Serves `root` on 127.0.0.1 (a random port unless given). */
export async function serveStatic(root, port = 0) {
  const server = createServer(async (req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    const file = path.join(root, pathname === "/" ? "index.html" : pathname);
    if (!file.startsWith(root)) return void res.writeHead(403).end();
    try {
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" }).end(body);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}

export class Harness {
  /** @param {{executablePath?: string, rebuild?: boolean, viewport?: {width: number, height: number}}} options */
  static async start(options = {}) {
    const outDir = path.join(here, "out");
    if (options.rebuild || !["page.js", "doc.js"].every((f) => existsSync(path.join(outDir, f)))) {
      const { buildPage } = await import("./build.mjs");
      await buildPage();
    }
    const executablePath = options.executablePath ?? process.env.CHROMIUM ?? "/usr/bin/chromium";
    const userDataDir = await mkdtemp(path.join(tmpdir(), "agent-streams-chromium-"));
    const statics = await serveStatic(outDir);
    let context;
    try {
      // A persistent context is how playwright takes a fresh --user-data-dir.
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath,
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: options.viewport ?? { width: 1000, height: 800 },
      });
    } catch (error) {
      await statics.close();
      await rm(userDataDir, { recursive: true, force: true });
      throw error;
    }
    return new Harness(context, statics, userDataDir);
  }

  constructor(context, statics, userDataDir) {
    this.context = context;
    this.statics = statics;
    this.userDataDir = userDataDir;
    this.page = undefined;
    /** Console messages and page errors, for debugging a failed run. */
    this.logs = [];
  }

  /** Opens the page for a thread; resolves once the status line is rendered. */
  async open({ threadId, baseUrl, apiUrl, token, view = "page", timeoutMs = 10_000 }) {
    const query = new URLSearchParams({ threadId, baseUrl });
    if (apiUrl) query.set("apiUrl", apiUrl);
    if (token) query.set("token", token);
    if (this.page === undefined) {
      this.page = this.context.pages()[0] ?? (await this.context.newPage());
      this.page.on("console", (m) => this.logs.push(`${m.type()}: ${m.text()}`));
      this.page.on("pageerror", (e) => this.logs.push(`pageerror: ${e.message}`));
    }
    await this.page.goto(`${this.statics.url}/${view === "page" ? "" : `${view}.html`}?${query}`);
    // The harness page shows its status line at once; another view, its first element.
    await (view === "page" ? this.page.getByTestId("status") : this.page.locator("#root > *")).waitFor({ timeout: timeoutMs });
    if (view !== "page") return {};
    return this.read();
  }

  async text() {
    return (await this.page.getByTestId("assistant-text").textContent()) ?? "";
  }

  /** Waits until the assistant text is longer than `minLength` (default: longer than now). */
  async waitForTextGrowth({ minLength, timeoutMs = 15_000 } = {}) {
    const floor = minLength ?? (await this.text()).length + 1;
    await this.page.waitForFunction(
      (n) => (document.querySelector('[data-testid="assistant-text"]')?.textContent ?? "").length >= n,
      floor,
      { timeout: timeoutMs },
    );
    return { length: (await this.text()).length };
  }

  async waitForText({ text, timeoutMs = 15_000 }) {
    await this.page.waitForFunction(
      (t) => (document.querySelector('[data-testid="assistant-text"]')?.textContent ?? "").includes(t),
      text,
      { timeout: timeoutMs },
    );
    return { found: true };
  }

  /** Waits until useChat's onFinish has fired (the status starts as "ready" before a resume begins). */
  async waitForFinish({ timeoutMs = 15_000 } = {}) {
    await this.page.waitForFunction(
      () => (document.querySelector('[data-testid="finish"]')?.textContent ?? "") !== "",
      undefined,
      { timeout: timeoutMs },
    );
    return { finish: JSON.parse((await this.page.getByTestId("finish").textContent()) ?? "{}") };
  }

  async waitForStatus({ status, timeoutMs = 15_000 }) {
    await this.page.waitForFunction(
      (s) => document.querySelector('[data-testid="status"]')?.textContent === s,
      status,
      { timeout: timeoutMs },
    );
    return { status };
  }

  async reload() {
    await this.page.reload();
    await this.page.getByTestId("status").waitFor();
    return this.read();
  }

  /** Clicks Stop and waits for the stopThread call to answer. */
  async pressStop({ timeoutMs = 10_000 } = {}) {
    await this.page.getByTestId("stop").click();
    await this.page.waitForFunction(
      () => {
        const t = document.querySelector('[data-testid="stop-result"]')?.textContent ?? "";
        return t !== "" && t !== "pending";
      },
      undefined,
      { timeout: timeoutMs },
    );
    return { stopResult: await this.page.getByTestId("stop-result").textContent() };
  }

  async pressResume() {
    await this.page.getByTestId("resume").click();
    return {};
  }

  /** The page's state as plain data: status, error, finish info, messages with their parts. */
  async read() {
    return this.page.evaluate(() => {
      const text = (id) => document.querySelector(`[data-testid="${id}"]`)?.textContent ?? "";
      const messages = [...document.querySelectorAll('[data-testid^="message-"]')].map((m) => ({
        role: m.getAttribute("data-role"),
        id: m.getAttribute("data-message-id"),
        parts: [...m.querySelectorAll("[data-part-type]")].map((p) => ({
          type: p.getAttribute("data-part-type"),
          state: p.getAttribute("data-state"),
          toolName: p.getAttribute("data-tool-name") ?? undefined,
          text: p.textContent ?? "",
        })),
      }));
      return {
        status: text("status"),
        error: text("error"),
        finish: text("finish"),
        stopResult: text("stop-result"),
        assistantText: text("assistant-text"),
        messages,
      };
    });
  }

  /** The last assistant message's parts as rendered (type and text only): cheap enough to poll. */
  async parts() {
    return this.page.evaluate(() => {
      const messages = [...document.querySelectorAll('[data-testid^="message-"]')].filter((m) => m.getAttribute("data-role") === "assistant");
      const last = messages[messages.length - 1];
      if (last === undefined) return { messages: messages.length, parts: [] };
      const parts = [...last.querySelectorAll("[data-part-type]")].map((p) => ({ type: p.getAttribute("data-part-type"), text: p.textContent ?? "" }));
      return { messages: messages.length, parts };
    });
  }

  /** The text of every element matching a CSS selector (for pages without the test ids). */
  async texts({ selector }) {
    return { texts: await this.page.locator(selector).allTextContents() };
  }

  async click({ selector }) {
    await this.page.locator(selector).click();
    return {};
  }

  async screenshot(filePath) {
    await this.page.screenshot({ path: filePath, fullPage: true });
    return { path: filePath };
  }

  async close() {
    await this.context.close().catch(() => undefined);
    await this.statics.close();
    await rm(this.userDataDir, { recursive: true, force: true });
  }

  /** Runs one CLI step. */
  async step(step) {
    switch (step.op) {
      case "open": return this.open(step);
      case "waitForTextGrowth": return this.waitForTextGrowth(step);
      case "waitForText": return this.waitForText(step);
      case "waitForStatus": return this.waitForStatus(step);
      case "waitForFinish": return this.waitForFinish(step);
      case "reload": return this.reload();
      case "stop": return this.pressStop(step);
      case "resume": return this.pressResume();
      case "read": return this.read();
      case "text": return this.parts();
      case "logs": return { logs: this.logs };
      case "version": return { userAgent: await this.page.evaluate(() => navigator.userAgent) };
      case "screenshot": return this.screenshot(step.path);
      case "texts": return this.texts(step);
      case "click": return this.click(step);
      case "sleep": return new Promise((r) => setTimeout(() => r({}), step.ms ?? 0));
      default: throw new Error(`unknown op ${JSON.stringify(step.op)}`);
    }
  }
}

async function main(arg) {
  if (!arg) {
    console.error("usage: node run.mjs COMMANDS.json | -");
    process.exit(2);
  }
  const text = arg === "-" ? await new Promise((resolve) => {
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => resolve(s));
  }) : await readFile(arg, "utf8");
  const commands = JSON.parse(text);
  const results = [];
  let harness;
  try {
    harness = await Harness.start(commands.harness ?? {});
    const steps = [...(commands.open ? [{ op: "open", ...commands.open }] : []), ...(commands.steps ?? [])];
    for (const step of steps) results.push({ op: step.op, ...(await harness.step(step)) });
    console.log(JSON.stringify({ ok: true, results }));
  } catch (error) {
    console.log(JSON.stringify({ ok: false, error: String(error?.stack ?? error), results, logs: harness?.logs ?? [] }));
    process.exitCode = 1;
  } finally {
    await harness?.close();
  }
}

/** One step per stdin line, one answer per stdout line (see the header). */
async function lines() {
  const write = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
  const harness = await Harness.start();
  try {
    write({ ready: true });
    const input = createInterface({ input: process.stdin, crlfDelay: Infinity });
    for await (const line of input) {
      if (line.trim() === "") continue;
      try {
        write({ ok: true, result: (await harness.step(JSON.parse(line))) ?? {} });
      } catch (error) {
        write({ ok: false, error: String(error?.stack ?? error), logs: harness.logs });
      }
    }
  } finally {
    await harness.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--lines") await lines();
  else await main(process.argv[2]);
}

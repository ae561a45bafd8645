import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  AgentStreamsError,
  DeltaConflict,
  DeltaTooLarge,
  errorFromResponse,
  Forbidden,
  ReplyTooLarge,
  ServiceUnavailable,
  StreamNotFound,
  ThreadDeleting,
  ThreadNotFound,
  Unauthorized,
  UnexpectedResponse,
  ValidationError,
} from "../src/index.js";

function reply(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  const text = typeof body === "string" ? body : JSON.stringify(body);
  return new Response(text, { status, headers: { "content-type": "application/json", ...headers } });
}

describe("errorFromResponse", () => {
  const cases: Array<[string, number, new (...args: never[]) => AgentStreamsError]> = [
    ["ValidationError", 422, ValidationError],
    ["ThreadNotFound", 404, ThreadNotFound],
    ["StreamNotFound", 404, StreamNotFound],
    ["ThreadDeleting", 409, ThreadDeleting],
    ["DeltaConflict", 409, DeltaConflict],
    ["DeltaTooLarge", 413, DeltaTooLarge],
    ["ReplyTooLarge", 413, ReplyTooLarge],
    ["Unauthorized", 401, Unauthorized],
    ["Forbidden", 403, Forbidden],
    ["ServiceUnavailable", 503, ServiceUnavailable],
  ];
  for (const [code, status, cls] of cases) {
    it(`maps ${code} (${status}) to its class`, async () => {
      const error = await errorFromResponse(reply(status, { error: code, message: `text of ${code}` }));
      assert.ok(error instanceof cls);
      assert.ok(error instanceof AgentStreamsError);
      assert.ok(error instanceof Error);
      assert.equal(error.name, code);
      assert.equal(error.code, code);
      assert.equal(error.status, status);
      assert.equal(error.message, `text of ${code}`);
      assert.equal(error.retryAfter, undefined);
    });
  }

  it("keeps DeltaConflict's expectedStart", async () => {
    const error = await errorFromResponse(reply(409, { error: "DeltaConflict", message: "gap", expectedStart: 12 }));
    assert.ok(error instanceof DeltaConflict);
    assert.equal(error.expectedStart, 12);
    assert.deepEqual(error.body, { error: "DeltaConflict", message: "gap", expectedStart: 12 });
  });

  it("reads Retry-After as seconds or as an HTTP date", async () => {
    const seconds = await errorFromResponse(reply(503, { error: "ServiceUnavailable", message: "busy" }, { "retry-after": "3" }));
    assert.ok(seconds instanceof ServiceUnavailable);
    assert.equal(seconds.retryAfter, 3);
    const date = new Date(Date.now() + 5_000).toUTCString();
    const dated = await errorFromResponse(reply(503, "", { "retry-after": date }));
    assert.ok(dated instanceof ServiceUnavailable);
    assert.ok(dated.retryAfter !== undefined && dated.retryAfter >= 3 && dated.retryAfter <= 6, String(dated.retryAfter));
  });

  it("maps bare gateway replies by status", async () => {
    const unauthorized = await errorFromResponse(reply(401, { message: "Unauthorized" }));
    assert.ok(unauthorized instanceof Unauthorized);
    assert.equal(unauthorized.code, "Unauthorized");
    assert.equal(unauthorized.message, "Unauthorized");
    assert.ok((await errorFromResponse(reply(403, { message: "Forbidden" }))) instanceof Forbidden);
    const proxy = await errorFromResponse(new Response("<html>bad gateway</html>", { status: 503, headers: { "retry-after": "2" } }));
    assert.ok(proxy instanceof ServiceUnavailable);
    assert.equal(proxy.retryAfter, 2);
    assert.equal(proxy.message, "<html>bad gateway</html>");
  });

  it("gives UnexpectedResponse for anything else, keeping an unknown code", async () => {
    const internal = await errorFromResponse(reply(500, { error: "InternalError", message: "boom" }));
    assert.ok(internal instanceof UnexpectedResponse);
    assert.equal(internal.code, "InternalError");
    assert.equal(internal.status, 500);
    const teapot = await errorFromResponse(new Response(null, { status: 418, statusText: "I'm a teapot" }));
    assert.ok(teapot instanceof UnexpectedResponse);
    assert.equal(teapot.code, "UnexpectedResponse");
    assert.equal(teapot.message, "HTTP 418 I'm a teapot");
  });
});

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSse, SseParser, type SseEvent } from "../src/index.js";
import { prng } from "./server.js";

const enc = new TextEncoder();

function parseAll(text: string, lastEventId?: string): SseEvent[] {
  return new SseParser(lastEventId === undefined ? {} : { lastEventId }).feed(text);
}

/** Feeds `bytes` split at the given offsets. */
function parseSplit(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const parser = new SseParser();
  const out: SseEvent[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...parser.feed(bytes.subarray(prev, cut)));
    prev = cut;
  }
  return out;
}

const ev = (data: string, id = "", type = "message"): SseEvent => ({ type, data, id });

describe("SseParser", () => {
  it("parses id and data fields", () => {
    assert.deepEqual(parseAll('id: a1\ndata: {"type":"start"}\n\n'), [ev('{"type":"start"}', "a1")]);
  });

  it("joins multi-line data with LF, keeping empty lines", () => {
    assert.deepEqual(parseAll("data: a\ndata:\ndata: b\n\n"), [ev("a\n\nb")]);
    assert.deepEqual(parseAll("data\n\n"), [ev("")], "a field name alone has an empty value");
    assert.deepEqual(parseAll("data:\n\n"), [ev("")]);
  });

  it("drops exactly one space after the colon", () => {
    assert.deepEqual(parseAll("data:  two\n\ndata:none\n\n"), [ev(" two"), ev("none")]);
    assert.deepEqual(parseAll("data: a:b: c\n\n"), [ev("a:b: c")], "only the first colon separates");
  });

  it("accepts CRLF, CR and LF line endings, mixed", () => {
    const expected = [ev("x\ny", "1"), ev("z", "2")];
    assert.deepEqual(parseAll("id: 1\r\ndata: x\r\ndata: y\r\n\r\nid: 2\ndata: z\n\n"), expected);
    assert.deepEqual(parseAll("id: 1\rdata: x\rdata: y\r\rid: 2\rdata: z\r\r"), expected);
    assert.deepEqual(parseAll("id: 1\r\ndata: x\rdata: y\n\r\nid: 2\rdata: z\n\r"), expected);
  });

  it("does not see an extra blank line when CRLF is split across chunks", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed("data: x\r"), []);
    assert.deepEqual(parser.feed("\ndata: y\r"), []);
    assert.deepEqual(parser.feed("\n"), []);
    assert.deepEqual(parser.feed("\r"), [ev("x\ny")]);
    assert.deepEqual(parser.feed("\n"), [], "the LF completes the CR, it is not a second blank line");
    assert.deepEqual(parser.feed("data: z\n\n"), [ev("z")]);
  });

  it("ignores comments and pings, which dispatch nothing", () => {
    assert.deepEqual(parseAll(": ping\n\n:\n\n: hello: world\ndata: a\n: inside\ndata: b\n\n: ping\n\n"), [ev("a\nb")]);
  });

  it("strips one leading BOM, from bytes and from text, and only at the start", () => {
    const bom = "\uFEFF";
    assert.deepEqual(parseAll(`${bom}data: a\n\n`), [ev("a")]);
    assert.deepEqual(new SseParser().feed(enc.encode(`${bom}data: a\n\n`)), [ev("a")]);
    // A BOM split over three chunks of bytes.
    const bytes = enc.encode(`${bom}data: a\n\n`);
    assert.deepEqual(parseSplit(bytes, [1, 2]), [ev("a")]);
    // A second BOM is content: the first line's field name becomes "\uFEFFdata", unknown.
    assert.deepEqual(parseAll(`${bom}${bom}data: a\n\ndata: b\n\n`), [ev("b")]);
    const parser = new SseParser();
    parser.feed("data: a\n\n");
    assert.deepEqual(parser.feed(`${bom}data: b\n\n`), [], "a BOM later in the stream is not stripped");
  });

  it("keeps the last id for later events; an empty id resets it; an id with NUL is ignored", () => {
    assert.deepEqual(parseAll("id: 7\ndata: a\n\ndata: b\n\nid\ndata: c\n\nid: x\0y\ndata: d\n\n"), [
      ev("a", "7"),
      ev("b", "7"),
      ev("c", ""),
      ev("d", ""),
    ]);
    assert.deepEqual(parseAll("data: a\n\n", "carried"), [ev("a", "carried")], "an id from an earlier connection");
  });

  it("commits an id from an event without data (not dispatched) at the blank line only", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed("id: 5\n"), []);
    assert.equal(parser.lastEventId, "", "not before the blank line");
    assert.deepEqual(parser.feed("\n"), []);
    assert.equal(parser.lastEventId, "5");
    assert.deepEqual(parser.feed("data: a\n\n"), [ev("a", "5")]);
  });

  it("reads event and retry fields; retry must be all digits", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed("event: custom\ndata: a\n\ndata: b\n\n"), [ev("a", "", "custom"), ev("b")]);
    parser.feed("retry: 1500\n\n");
    assert.equal(parser.retry, 1500);
    parser.feed("retry: 10x\n\nretry: -1\n\nretry:\n\n");
    assert.equal(parser.retry, 1500);
  });

  it("ignores unknown fields and keeps an unterminated event pending", () => {
    const parser = new SseParser();
    assert.deepEqual(parser.feed("foo: bar\ndata: a\nDATA: b\n"), []);
    assert.deepEqual(parser.feed("\n"), [ev("a")]);
    assert.deepEqual(parser.feed("data: never ended"), []);
  });

  it("gives the same events at every chunk boundary, byte by byte, and at random splits", () => {
    const text =
      "\uFEFF: welcome\r\n\r\nid: é1\ndata: {\"type\":\"text-delta\",\"delta\":\"héllo 🙂\"}\n\n" +
      ": ping\n\nid: 2\r\ndata: line1\r\ndata: line2\r\n\r\nevent: other\rdata: x\r\r" +
      "data\n\nretry: 20\nid: 3\ndata:  spaced\n\nid: 4\n\ndata: after-id-only\n\n";
    const bytes = enc.encode(text);
    const expected = [
      ev('{"type":"text-delta","delta":"héllo 🙂"}', "é1"),
      ev("line1\nline2", "2"),
      ev("x", "2", "other"),
      ev("", "2"),
      ev(" spaced", "3"),
      ev("after-id-only", "4"),
    ];
    assert.deepEqual(parseSplit(bytes, []), expected);
    for (let i = 0; i <= bytes.length; i++) assert.deepEqual(parseSplit(bytes, [i]), expected, `split at ${i}`);
    for (let i = 0; i <= bytes.length; i++) {
      for (let j = i; j <= bytes.length; j += 7) assert.deepEqual(parseSplit(bytes, [i, j]), expected, `split at ${i},${j}`);
    }
    assert.deepEqual(parseSplit(bytes, Array.from({ length: bytes.length }, (_, i) => i)), expected, "byte by byte");
    const rand = prng(42);
    for (let n = 0; n < 300; n++) {
      const cuts = Array.from({ length: 1 + Math.floor(rand() * 12) }, () => Math.floor(rand() * bytes.length)).sort((a, b) => a - b);
      assert.deepEqual(parseSplit(bytes, cuts), expected, `cuts ${cuts.join(",")}`);
    }
  });
});

describe("parseSse", () => {
  it("parses a byte stream and discards an unterminated last event", async () => {
    const pieces = ["id: 1\nda", "ta: a\n", "\ndata: b\n\ndata: unfinished\n"];
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const p of pieces) controller.enqueue(enc.encode(p));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    for await (const e of parseSse(body)) events.push(e);
    assert.deepEqual(events, [ev("a", "1"), ev("b", "1")]);
  });
});

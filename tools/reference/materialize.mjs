// Runs deriveUIMessagesFromDeltas + fromUIMessages from the installed reference.
import { createInterface } from "node:readline";

// The package's exports map hides dist/, so import the files by path.
const dist = new URL("./node_modules/@convex-dev/agent/dist/", import.meta.url);
const { deriveUIMessagesFromDeltas, getParts } = await import(new URL("deltas.js", dist));
const { fromUIMessages } = await import(new URL("UIMessages.js", dist));

// The reference logs warnings for odd input; keep stdout clean for JSONL.
console.warn = () => {};
console.error = () => {};
console.debug = () => {};

function stripCreationTime(value) {
  if (Array.isArray(value)) return value.map(stripCreationTime);
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      if (k !== "_creationTime") out[k] = stripCreationTime(v);
    }
    return out;
  }
  return value;
}

// The project marks a UIMessageChunk stream with an `error` chunk as failed
// instead of throwing: run the reference with the chunk made inert. Only an
// error chunk the reference would actually read (before any gap) counts.
function neutraliseErrorChunks(streamMessages, deltas) {
  const failed = new Set();
  for (const s of streamMessages) {
    if (s.format !== "UIMessageChunk") continue;
    const own = JSON.parse(JSON.stringify(deltas.filter((d) => d.streamId === s.streamId)));
    const { parts } = getParts(own, 0);
    if (parts.some((p) => p && p.type === "error")) failed.add(s.streamId);
  }
  const chunkStreams = new Set(
    streamMessages.filter((s) => s.format === "UIMessageChunk").map((s) => s.streamId),
  );
  const out = deltas.map((d) =>
    chunkStreams.has(d.streamId)
      ? {
          ...d,
          parts: d.parts.map((p) => (p && p.type === "error" ? { type: "x-inert-error" } : p)),
        }
      : d,
  );
  return { deltas: out, failed };
}

async function run(input) {
  const { threadId, streamMessages } = input;
  const clone = JSON.parse(JSON.stringify(input.deltas));
  const { deltas, failed } = neutraliseErrorChunks(streamMessages, clone);
  const uiMessages = await deriveUIMessagesFromDeltas(threadId, streamMessages, deltas);
  const errorIds = new Set([...failed].map((s) => `stream:${s}`));
  for (const m of uiMessages) {
    if (errorIds.has(m.id)) m.status = "failed";
  }
  const snapshot = JSON.parse(JSON.stringify(uiMessages));
  const messageDocs = [];
  for (const m of JSON.parse(JSON.stringify(uiMessages))) {
    const sm = streamMessages.find((s) => `stream:${s.streamId}` === m.id);
    messageDocs.push(...fromUIMessages([m], { threadId, ...sm }));
  }
  const out = { ...input, uiMessages: snapshot, messageDocs: JSON.parse(JSON.stringify(messageDocs)) };
  if (failed.size > 0) out.errorChunkMarksFailed = true;
  return stripCreationTime(out);
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  const input = JSON.parse(line);
  try {
    process.stdout.write(JSON.stringify(await run(input)) + "\n");
  } catch (e) {
    process.stdout.write(
      JSON.stringify({ ...input, referenceError: String(e && e.message ? e.message : e) }) + "\n",
    );
  }
}

// fromUIMessages of the installed reference on arbitrary UI messages.
// Reads a JSON array of {id, uiMessages, meta}; writes the same with messageDocs
// (or referenceError when the reference throws).
import { readFileSync } from "node:fs";

const dist = new URL("./node_modules/@convex-dev/agent/dist/", import.meta.url);
const { fromUIMessages } = await import(new URL("UIMessages.js", dist));
console.warn = () => {};

const cases = JSON.parse(readFileSync(0, "utf8"));
const out = cases.map((c) => {
  try {
    const docs = fromUIMessages(JSON.parse(JSON.stringify(c.uiMessages)), c.meta);
    return { ...c, messageDocs: JSON.parse(JSON.stringify(docs)) };
  } catch (e) {
    return { ...c, referenceError: String(e && e.message ? e.message : e) };
  }
});
process.stdout.write(JSON.stringify(out) + "\n");

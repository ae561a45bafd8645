// fixJson and parsePartialJson of the installed `ai`, on a JSON array of strings.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { parsePartialJson } from "ai";

const require = createRequire(import.meta.url);
const bundle = readFileSync(require.resolve("ai").replace(/index\.js$/, "index.mjs"), "utf8");
const start = bundle.indexOf("function fixJson(input) {");
const end = bundle.indexOf("// src/util/parse-partial-json.ts", start);
if (start < 0 || end < 0) throw new Error("fixJson not found in the ai bundle");
const fixJson = new Function(`${bundle.slice(start, end)}; return fixJson;`)();

const texts = JSON.parse(readFileSync(0, "utf8"));
const out = [];
for (const text of texts) {
  const { value, state } = await parsePartialJson(text);
  out.push({ text, fixed: fixJson(text), state, ...(value === undefined ? {} : { value }) });
}
process.stdout.write(JSON.stringify(out, null, 0) + "\n");

// Bundles the test pages (against the built package in ../dist) into out/: page.tsx (the
// harness page) with index.html, doc-page.tsx (the docs' example, chat-example.tsx) with doc.html.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
export const outDir = path.join(here, "out");

export async function buildPage() {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: { page: path.join(here, "page.tsx"), doc: path.join(here, "doc-page.tsx") },
    outdir: outDir,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    jsx: "automatic",
    sourcemap: true,
    alias: { "@agent-streams/client": path.join(here, "..", "dist", "index.js") },
    define: { "process.env.NODE_ENV": '"production"' },
    logLevel: "warning",
  });
  for (const html of ["index.html", "doc.html"]) await copyFile(path.join(here, html), path.join(outDir, html));
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPage();
  console.log(`built ${outDir}`);
}

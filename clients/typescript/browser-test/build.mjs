// Bundles page.tsx (against the built package in ../dist) into out/ with index.html.
import { build } from "esbuild";
import { copyFile, mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
export const outDir = path.join(here, "out");

export async function buildPage() {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(here, "page.tsx")],
    outfile: path.join(outDir, "page.js"),
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
  await copyFile(path.join(here, "index.html"), path.join(outDir, "index.html"));
  return outDir;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await buildPage();
  console.log(`built ${outDir}`);
}

#!/usr/bin/env node
// Parses mermaid diagrams with mermaid's own parser (the npm `mermaid`
// package, the library GitHub renders job summaries with).
//
// Usage: node scripts/mermaid-parse.mjs FILE...
// Each FILE holds one diagram. Prints `ok FILE TYPE` per diagram that parses
// and `error FILE: MESSAGE` per one that does not; exits 1 if any failed, 2
// when mermaid cannot be loaded. mermaid needs a DOM (for DOMPurify) even
// to parse, so jsdom provides one. The npm packages are looked up under
// SHIPGATE_NODE_TOOLS (default <repo>/.tools/node), where
// `cargo xtask install-tools` installs them.

import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nodeTools = process.env.SHIPGATE_NODE_TOOLS ?? join(repoRoot, ".tools", "node");
const requireTool = createRequire(join(nodeTools, "package.json"));

let mermaid;
try {
  const { JSDOM } = requireTool("jsdom");
  const { window } = new JSDOM("<!doctype html><html><body></body></html>");
  globalThis.window = window;
  globalThis.document = window.document;
  mermaid = (await import(pathToFileURL(requireTool.resolve("mermaid")).href)).default;
} catch (error) {
  console.error(
    `mermaid-parse.mjs: cannot load npm 'mermaid' and 'jsdom' from ${nodeTools} ` +
      `(run \`cargo xtask install-tools\`): ${error.message}`,
  );
  process.exit(2);
}
mermaid.initialize({ startOnLoad: false });

let failed = false;
for (const file of process.argv.slice(2)) {
  const text = await readFile(file, "utf8");
  try {
    const result = await mermaid.parse(text);
    console.log(`ok ${file} ${result.diagramType}`);
  } catch (error) {
    failed = true;
    console.log(`error ${file}: ${String(error.message ?? error).split("\n").join(" ")}`);
  }
}
process.exit(failed ? 1 : 0);

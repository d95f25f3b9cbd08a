#!/usr/bin/env node
// Renders a job summary the way GitHub shows it (Markdown, with mermaid 11
// charts) into an HTML page, for the screenshots in docs/.
//
// Usage: node scripts/summary-screenshot.mjs SUMMARY.md OUT.html
// then:  chromium --headless --no-sandbox --disable-gpu --no-first-run \
//          --disable-background-networking --disable-component-update \
//          --disable-sync --user-data-dir="$(mktemp -d)" \
//          --virtual-time-budget=5000 --window-size=1000,900 \
//          --screenshot=docs/images/NAME.png OUT.html
// The npm packages (`marked`, `mermaid`) are looked up under
// SHIPGATE_NODE_TOOLS (default <repo>/.tools/node); the page loads mermaid
// from there by file URL, so no network is needed.

import { readFile, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error("usage: summary-screenshot.mjs SUMMARY.md OUT.html");
  process.exit(2);
}
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nodeTools = process.env.SHIPGATE_NODE_TOOLS ?? join(repoRoot, ".tools", "node");
const requireTool = createRequire(join(nodeTools, "package.json"));
const { marked } = await import(pathToFileURL(requireTool.resolve("marked")).href);
const mermaidBundle = join(dirname(requireTool.resolve("mermaid")), "mermaid.min.js");

const escapeHtml = (text) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const renderer = new marked.Renderer();
const plainCode = renderer.code.bind(renderer);
renderer.code = (token) =>
  token.lang === "mermaid" ? `<pre class="mermaid">${escapeHtml(token.text)}</pre>` : plainCode(token);

const body = marked.parse(await readFile(input, "utf8"), { renderer, gfm: true });
const page = `<!doctype html>
<html><head><meta charset="utf-8">
<style>
  body { font: 14px/1.5 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1f2328;
         background: #fff; max-width: 900px; margin: 24px auto; padding: 0 24px; }
  table { border-collapse: collapse; margin: 12px 0; }
  th, td { border: 1px solid #d1d9e0; padding: 6px 13px; }
  tr:nth-child(2n) { background: #f6f8fa; }
  blockquote { border-left: 4px solid #0969da; margin: 0; padding: 0 16px; color: #1f2328; }
  code { background: #eff1f3; padding: 2px 4px; border-radius: 4px; }
  pre.mermaid { background: none; }
</style>
<script src="${pathToFileURL(mermaidBundle).href}"></script>
</head><body>
${body}
<script>mermaid.initialize({ startOnLoad: true, theme: "default" });</script>
</body></html>
`;
await writeFile(output, page);

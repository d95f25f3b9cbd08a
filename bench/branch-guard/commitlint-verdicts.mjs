// Lints every commit message of a repository with commitlint's own API
// (@commitlint/load + @commitlint/lint, config-conventional), in one process
// so thousands of messages take seconds, and prints one JSON line per commit:
// {"sha": ..., "valid": bool, "errors": [rule, ...]}.
//
// usage: node commitlint-verdicts.mjs REPO_DIR   (NODE_PATH must reach the packages)
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const load = (await import(require.resolve("@commitlint/load"))).default;
const lint = (await import(require.resolve("@commitlint/lint"))).default;

const repo = process.argv[2];
const config = await load({ extends: ["@commitlint/config-conventional"] });
const options = {
  parserOpts: config.parserPreset?.parserOpts ?? {},
  defaultIgnores: config.defaultIgnores,
  ignores: config.ignores,
};
const log = execFileSync("git", ["-C", repo, "log", "--format=%H%x00%B%x1e", "HEAD"], {
  maxBuffer: 1 << 30,
}).toString();
for (const record of log.split("\x1e")) {
  const trimmed = record.replace(/^\n/, "");
  if (!trimmed) continue;
  const [sha, message] = trimmed.split("\x00");
  const result = await lint(message, config.rules, options);
  process.stdout.write(
    JSON.stringify({ sha, valid: result.valid, errors: result.errors.map((e) => e.name) }) + "\n",
  );
}

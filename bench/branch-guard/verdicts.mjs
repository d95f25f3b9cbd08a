// commitlint's own verdicts (@commitlint/load + @commitlint/lint 20.x with
// @commitlint/config-conventional), for the parity checks of branch-guard.
//
// Reads a JSON array of messages on stdin and writes a JSON array with, for
// each message, the verdict in the two ways commitlint reads messages:
//   edit:    `commitlint --edit FILE` (the commit-msg hook): the file's text
//            plus "\n", git's `#` comment lines removed;
//   history: `commitlint --from A --to B`: the message as `git log` gives it.
// Each verdict is {valid, errors: [rule, ...], warnings: [rule, ...]}; a
// message lint() throws on (only whitespace) gets {error: "..."}.
//
// usage: node verdicts.mjs <messages.json >verdicts.json   (NODE_PATH must reach the packages)
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.NODE_PATH ?? process.cwd(), "noop.js"));
const load = (await import(require.resolve("@commitlint/load"))).default;
const lint = (await import(require.resolve("@commitlint/lint"))).default;

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const messages = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const config = await load({ extends: ["@commitlint/config-conventional"] });
const parserOpts = config.parserPreset?.parserOpts ?? {};
const options = (commentChar) => ({
  parserOpts: commentChar ? { ...parserOpts, commentChar } : parserOpts,
  defaultIgnores: config.defaultIgnores,
  ignores: config.ignores,
});
const names = (results) => results.map((r) => r.name).sort();
const verdict = async (message, opts) => {
  try {
    const result = await lint(message, config.rules, opts);
    return { valid: result.valid, errors: names(result.errors), warnings: names(result.warnings) };
  } catch (error) {
    return { error: String(error.message ?? error) };
  }
};

const out = [];
for (const message of messages) {
  out.push({
    edit: await verdict(`${message}\n`, options("#")),
    history: await verdict(message, options(null)),
  });
}
process.stdout.write(JSON.stringify(out));

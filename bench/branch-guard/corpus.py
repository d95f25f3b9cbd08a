#!/usr/bin/env python3
"""Writes fixtures/commitlint/corpus.json: hand-written commit messages that
exercise every config-conventional rule and every default ignore pattern,
with commitlint's own verdicts recorded by verdicts.mjs (both ways it reads
a message: `--edit` and history).

usage: corpus.py NODE_MODULES    (re-run after changing the lists below)

crates/branch-guard/tests/commitlint_corpus.rs checks that branch-guard
gives every recorded verdict, without network or Node.
"""

import json
import os
import subprocess
import sys

HEADERS = [
    # valid
    "feat: add upload resume",
    "fix(api): handle empty body",
    "feat(api)!: drop the v1 endpoints",
    "feat!: send an email when a product ships",
    "docs: explain `Eslint` configuration",
    "chore(deps): bump serde from 1.0.1 to 1.0.2",
    "refactor(parser/core): split header parsing",
    "perf: 3 times faster startup",
    "test: cover the 'Quoted Name' case",
    "ci: run on \"Ubuntu\" runners",
    "build: wait...",
    "style: trailing colon:",
    "revert: feat: add upload resume",
    "fix: handle a: b in values",
    "feat(scope with spaces): allowed by the pattern",
    "feat(a): b (c): d",
    "fix: éclair support",
    "fix: дом support",
    "fix: 😀 emoji first",
    "fix: _private field",
    "fix: ǅ titlecase letter",
    "feat: " + "x" * 94,
    "feat: " + "😀" * 47,
    # invalid
    "add upload resume",
    "Feat: add upload resume",
    "FEAT: ADD UPLOAD",
    "feature: add upload resume",
    "feat: Add upload resume",
    "feat: ADD UPLOAD RESUME",
    "feat: Add Upload Resume",
    "feat: AddUploadResume",
    "feat: add upload resume.",
    "feat(api): Add x.",
    "feat:",
    "feat: ",
    "feat:add",
    "feat:  two spaces",
    " feat: leading space",
    "feat: trailing space ",
    "\tfeat: tab first",
    "(api): no type",
    ": nothing",
    "feat(): empty scope",
    "feat(api: unclosed",
    "fe.at: dotted type",
    "feat/api: slash type",
    "🎉 feat: emoji type",
    "feat: " + "x" * 95,
    "feat: " + "😀" * 48,
    "fix: Éclair support",
    "fix: ĸ letter without capital",
    "fix: 𐐨 deseret small letter",
    "fix: Дом support",
    "WIP",
    "wip: not a type",
    "Update README.md",
    "feat: x\u2028y",
    "feat1: digits in type",
    "1feat: digit first type",
]

BODIES = [
    "",
    "\n\nA body that explains why.",
    "\nA body glued to the header.",
    "\n\n" + "y" * 101,
    "\n\nSee https://github.com/o/r/compare/v1.0.0...v1.1.0?" + "q" * 80,
    "\n\nxhttps://example.com/" + "q" * 90,
    "\n\nhttp:// " + "q" * 100,
    "\n\nBody first.\n\nRefs: #12",
    "\n\nBody first.\nCloses #12",
    "\n\nCloses #12\nFixes #13",
    "\n\nsee #12 for the history\nand more",
    "\n\nThis fixes the prefix #12 handling",
    "\n\n#12 was fixed by this change",
    "\n\n## Summary\n\n- one\n- two",
    "\n\nBREAKING CHANGE: the v1 endpoints are gone",
    "\n\nBody.\nBREAKING CHANGE: glued note",
    "\n\nbreaking change: lower case note",
    "\n\nBREAKING CHANGES: not a note keyword",
    "\n\nBody.\n\nRefs: #" + "1" * 100,
    "\n\nBody.\n\nRefs: #1 https://github.com/o/r/issues/1?" + "q" * 90,
    "\n\nBody.\n\nReviewed-by: Z\nRefs: 123",
    "\n\n# a comment line " + "z" * 100,
    "\n\nBody.\n# ------------------------ >8 ------------------------\n" + "diff " * 30,
    "\n gpg: Signature made\nBody after a gpg line.",
    "\r\n\r\nA CRLF body.\r\n\r\nRefs: #4\r\n",
    "\n\n\n\nBody after blank lines.\n\n\n",
    "\n\nTrailing spaces in the body   \n   and leading ones.",
    "\n\nSigned-off-by: Shipgate Tester <tester@shipgate.invalid>",
    "\n\n(cherry picked from commit 0123456789abcdef0123456789abcdef01234567)",
    "\n\nBody with C# and issue#",
    "\n\nLong footer after a reference:\n\nFixes #3\n" + "w" * 101,
]

# Headers crossed with every body.
CROSSED = [
    "feat: add upload resume",
    "fix(api): Handle empty body",
    "feat(api)!: drop the v1 endpoints.",
    "Update README.md",
    "chore(deps): bump serde from 1.0.1 to 1.0.2",
    "Closes #12",
    "docs: wait...",
    "fix: handle #12 and #13",
    " feat: leading space",
]

IGNORED = [
    "Merge pull request #12 from org/feature/x\n\nfeat: resume uploads",
    "Merge pull request",
    "Merge branch 'feature/b' into feature/a",
    "Merge branch 'develop'",
    "Merge branch 'develop'\n\n# Conflicts:\n#\tsrc/app.rs",
    "Merge tag 'v1.2.0'",
    "Merge 'a' into b",
    "Merge commit 'abc1234' into feature/x",
    "Merge commit 'abc1234'",
    "Merge branches 'a' and 'b'",
    "Merge branches 'a' and 'b' into main",
    "Merge remote-tracking branch 'origin/main'",
    "Merge remote-tracking branches 'origin/a' and 'origin/b'",
    "Merge into x",
    "merge branch 'x'",
    " Merge branch 'x'",
    "Merged PR 42: add login",
    "Merged PR 42 add login",
    "Merged in feature/x (pull request #7)",
    "Merged main into develop",
    "Merged stuff",
    "Automatic merge from release/1.2 -> main",
    "Auto-merged feature/x into main",
    "Auto-merged x",
    "feat: x\n\nMerge branch 'y'",
    "feat: Add x.\n\nMerge pull request #1 from a/b",
    "Fix: X.\n\nMerge tag 'v1'",
    "Revert \"feat: add x\"\n\nThis reverts commit 0123456789abcdef0123456789abcdef01234567.",
    "Revert \"Revert \"feat: add x\"\"",
    "revert x",
    "Revert ",
    "Revert",
    "Reverted x",
    "\nRevert \"x\"",
    "Reapply \"feat: add x\"",
    "reapply y",
    "fixup! feat: add x",
    "fixup! Feat: Add x.",
    "squash!x",
    "amend! docs: y",
    "feat: fixup! x",
    " fixup! x",
    "4.0.0",
    "v0.1.0-beta.2+sha.5114f85",
    "chore: 3.1.4",
    "chore(release): v10.0.0",
    "chore(release): 7.0.0 [SKIP CI]",
    "chore(release): 7.0.1 [skip-ci] trailing",
    "5.0.0 (skip ci)",
    "\t2.5.0\t\n\nrelease notes",
    "0.0.0-alpha.0",
    "==2.0.0",
    "2.0",
    "2.00.0",
    "2.0.0-00",
    "chore(): 2.0.0",
    "feat: 2.0.0",
    "version 2.0.0",
    "9007199254740991.0.0",
    "9007199254740992.0.0",
    "chore(deps): update dependency eslint to v9",
]

EDGE = [
    "",
    "feat: x\n",
    "# only a comment\n",
    "# a comment first\n\nfeat: add x",
    "feat: add x\n# comment\nBody after a comment.",
    "\n\nfeat: leading blank lines",
    "feat: x\n\n\n",
    "Closes #1\n\nCloses #1",
    "feat: x\n\nCloses #1\n\nCloses #1",
    "feat: x\nCloses #1",
    "feat: x\n\nBREAKING-CHANGE: hyphenated note\ncontinued text\nRefs #2\nafter the reference",
    "feat: x\n\n * BREAKING CHANGE: in a list",
    "feat: x\n\n| BREAKING CHANGE: in a table",
    "fix: resolve critical issue\n\nresolves #9, closes #10; fixed #11)",
    "fix: x\n\nfixed: not a reference #12.",
    "fix: x\n\nResolved the thing, see https://x.org/#3 #4",
]


def messages():
    seen, out = set(), []
    candidates = HEADERS + [h + b for h in CROSSED for b in BODIES] + IGNORED + EDGE
    for message in candidates:
        if message not in seen:
            seen.add(message)
            out.append(message)
    return out


def main():
    node_modules = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    items = messages()
    env = dict(os.environ, NODE_PATH=os.path.abspath(node_modules))
    verdicts = json.loads(subprocess.run(
        ["node", os.path.join(here, "verdicts.mjs")],
        input=json.dumps(items).encode(), env=env, check=True, capture_output=True,
    ).stdout)
    version = json.load(open(os.path.join(node_modules, "@commitlint/lint/package.json")))["version"]
    corpus = {
        "commitlint": version,
        "messages": [{"message": m, **v} for m, v in zip(items, verdicts)],
    }
    target = os.path.join(here, "../../fixtures/commitlint/corpus.json")
    with open(target, "w", encoding="utf-8") as f:
        json.dump(corpus, f, indent=1, ensure_ascii=False)
        f.write("\n")
    valid = sum(1 for v in verdicts if v["edit"].get("valid"))
    print(f"{len(items)} messages, {valid} valid when edited, commitlint {version}")


if __name__ == "__main__":
    main()

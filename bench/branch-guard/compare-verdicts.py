#!/usr/bin/env python3
"""Compares branch-guard's verdicts with commitlint's on every commit message of a repository.

usage: compare-verdicts.py REPO_DIR BRANCH_GUARD NODE_MODULES [--list N]

commitlint's side is its own lint() (verdicts.mjs: @commitlint/lint with
@commitlint/config-conventional, as installed in NODE_MODULES). Two ways of
reading a message are compared, as the two tools read them:

  message:  `branch-guard message FILE` (the commit-msg hook) against
            `commitlint --edit FILE`, every message of the history;
  commits:  `branch-guard commits HEAD` (bot commits linted, as commitlint
            does not know authors) against `commitlint --from/--to`, every
            commit with one parent (merge commits are skipped by their
            parents in branch-guard, a documented difference).

Prints the totals and each message whose verdict (valid or not) or set of
failed rules differs, with both tools' rules.
"""

import json
import os
import subprocess
import sys
import tempfile


def history(repo):
    log = subprocess.run(
        ["git", "-C", repo, "log", "--format=%H%x00%P%x00%B%x1e", "HEAD"],
        check=True, capture_output=True,
    ).stdout.decode("utf-8", "replace")
    commits = []
    for record in log.split("\x1e"):
        record = record.lstrip("\n")
        if not record:
            continue
        sha, parents, message = record.split("\x00", 2)
        commits.append((sha, len(parents.split()), message))
    return commits


def commitlint_verdicts(messages, node_modules):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, NODE_PATH=os.path.abspath(node_modules))
    out = subprocess.run(
        ["node", os.path.join(here, "verdicts.mjs")],
        input=json.dumps(messages).encode(), env=env, check=True, capture_output=True,
    ).stdout
    return json.loads(out)


def guard_message(guard, message, workdir, index):
    path = os.path.join(workdir, f"m{index}")
    with open(path, "w", encoding="utf-8") as f:
        f.write(message)
    run = subprocess.run([guard, "--json", "message", path], cwd=workdir, capture_output=True, text=True)
    if run.returncode not in (0, 1):
        return {"error": run.stderr.strip()}
    report = json.loads(run.stdout)
    return {
        "valid": report["passed"],
        "errors": sorted(f["rule"] for f in report["findings"] if f["severity"] == "error"),
    }


def same(theirs, ours):
    if "error" in theirs:
        # lint() throws on a message of only whitespace; git refuses to write one.
        return ours.get("valid", False) or "error" in ours
    return theirs["valid"] == ours.get("valid") and theirs["errors"] == ours.get("errors")


def main():
    repo, guard, node_modules = sys.argv[1:4]
    listed = int(sys.argv[sys.argv.index("--list") + 1]) if "--list" in sys.argv else 50
    guard = os.path.abspath(guard)
    commits = history(repo)
    theirs = commitlint_verdicts([message for _, _, message in commits], node_modules)
    head = subprocess.run(["git", "-C", repo, "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"{repo} at {head}: {len(commits)} commits")

    with tempfile.TemporaryDirectory() as workdir:
        ours = [guard_message(guard, message, workdir, i) for i, (_, _, message) in enumerate(commits)]
    differ = [i for i in range(len(commits)) if not same(theirs[i]["edit"], ours[i])]
    rejected = sum(1 for v in theirs if not v["edit"].get("valid", True))
    print(f"message (edit): commitlint rejects {rejected}, branch-guard rejects "
          f"{sum(1 for v in ours if not v.get('valid', True))}; {len(differ)} differ; "
          f"agreement {100 * (len(commits) - len(differ)) / len(commits):.2f}%")
    for i in differ[:listed]:
        sha, _, message = commits[i]
        print(f"  {sha[:10]} {message.splitlines()[0][:70] if message.strip() else ''!r}\n"
              f"      commitlint: {theirs[i]['edit']}\n      branch-guard: {ours[i]}")

    env = dict(os.environ, SHIPGATE_GUARD_BOT_COMMITS="lint")
    run = subprocess.run([guard, "--json", "commits", "HEAD"], cwd=repo, env=env, capture_output=True, text=True)
    if run.returncode not in (0, 1):
        sys.stderr.write(run.stderr)
        return 2
    by_sha = {c["sha"]: c for c in json.loads(run.stdout)["commits"]}
    single = [i for i, (_, parents, _) in enumerate(commits) if parents <= 1]
    history_differ = []
    for i in single:
        mine = by_sha[commits[i][0]]
        errors = sorted(f["rule"] for f in mine["findings"] if f["severity"] == "error")
        if not same(theirs[i]["history"], {"valid": not errors, "errors": errors}):
            history_differ.append((i, errors))
    print(f"commits (history): {len(single)} commits with one parent "
          f"({len(commits) - len(single)} merge commits skipped by their parents); {len(history_differ)} differ; "
          f"agreement {100 * (len(single) - len(history_differ)) / max(len(single), 1):.2f}%")
    for i, errors in history_differ[:listed]:
        sha, _, message = commits[i]
        print(f"  {sha[:10]} {message.splitlines()[0][:70] if message.strip() else ''!r}\n"
              f"      commitlint: {theirs[i]['history']}\n      branch-guard: {errors}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

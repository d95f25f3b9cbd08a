#!/usr/bin/env python3
"""Compares branch-guard's verdict with commitlint's on every commit of a repository.

usage: compare-verdicts.py REPO_DIR BRANCH_GUARD NODE_MODULES

Both lint with config-conventional. branch-guard runs with bot commits linted
(commitlint does not know authors); merge commits stay skipped, which is the
one expected difference: commitlint sees only the message, so a merge commit
with a hand-written header is linted there and skipped here (it has two parents).
Prints the totals and every commit where the verdicts differ, with both
tools' rules, for the differences to be explained in docs/branch-guard.md.
"""

import json
import os
import subprocess
import sys


def main() -> int:
    repo, guard, node_modules = sys.argv[1:4]
    guard = os.path.abspath(guard)
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, NODE_PATH=os.path.abspath(node_modules))
    peer = subprocess.run(
        ["node", os.path.join(here, "commitlint-verdicts.mjs"), repo],
        env=env, check=True, capture_output=True, text=True,
    ).stdout
    theirs = {}
    for line in peer.splitlines():
        record = json.loads(line)
        theirs[record["sha"]] = record
    ours_env = dict(os.environ, SHIPGATE_GUARD_BOT_COMMITS="lint")
    ours_run = subprocess.run(
        [guard, "--json", "commits", "HEAD"], cwd=repo, env=ours_env, capture_output=True, text=True,
    )
    if ours_run.returncode not in (0, 1):
        sys.stderr.write(ours_run.stderr)
        return 2
    ours = {c["sha"]: c for c in json.loads(ours_run.stdout)["commits"]}
    differences = []
    for sha, peer_record in theirs.items():
        mine = ours.get(sha)
        if mine is None:
            differences.append((sha, "missing from branch-guard", peer_record["errors"], []))
            continue
        my_errors = [f["rule"] for f in mine["findings"] if f["severity"] == "error"]
        my_valid = not my_errors
        if my_valid != peer_record["valid"]:
            differences.append((sha, mine["header"], peer_record["errors"], my_errors))
    print(f"{len(theirs)} commits; commitlint rejects {sum(not r['valid'] for r in theirs.values())}, "
          f"branch-guard rejects {sum(1 for c in ours.values() if any(f['severity'] == 'error' for f in c['findings']))}; "
          f"{len(differences)} differ")
    for sha, header, peer_errors, my_errors in differences:
        print(f"{sha[:10]}  {header[:70]!r}\n    commitlint: {peer_errors or 'valid'}\n    branch-guard: {my_errors or 'valid'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

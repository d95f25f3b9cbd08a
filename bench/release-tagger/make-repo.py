#!/usr/bin/env python3
"""Writes a `git fast-import` stream for a synthetic conventional-commit history.

usage: make-repo.py COMMITS TAGS | git -C DIR fast-import --quiet

One linear `main` with COMMITS commits (feat/fix/perf/chore/docs, scopes,
pull request references, a breaking change now and then, some messages that
are not conventional) and TAGS annotated release tags spread evenly, with the
newest commits left unreleased. Dates are fixed, so the same arguments give
the same repository.
"""

import sys

commits, tags = int(sys.argv[1]), int(sys.argv[2])
out = sys.stdout.buffer
KINDS = ["feat", "fix", "fix", "chore", "docs", "perf", "feat", "refactor", "test", "fix"]
SCOPES = [None, "api", "cli", "db", "ui", None, "auth"]
START = 1_600_000_000
step = (commits - 20) / max(1, tags)


def data(text):
    raw = text.encode()
    out.write(b"data %d\n" % len(raw))
    out.write(raw)
    out.write(b"\n")


major, minor, patch = 0, 1, 0
pending_minor = pending_major = False
tagged = 0
for i in range(1, commits + 1):
    kind = KINDS[i % len(KINDS)]
    scope = SCOPES[i % len(SCOPES)]
    header = f"{kind}({scope}): change number {i}" if scope else f"{kind}: change number {i}"
    if i % 13 == 0:
        header += f" (#{i // 13})"
    body = ""
    if i % 997 == 0:
        body = "\n\nBREAKING CHANGE: the old behaviour is gone"
        pending_major = True
    if i % 211 == 0:
        header = f"Update file {i}"
    if kind == "feat":
        pending_minor = True
    when = START + i * 600
    out.write(b"commit refs/heads/main\n")
    out.write(b"mark :%d\n" % i)
    out.write(b"author Bench Author <bench@example.invalid> %d +0000\n" % when)
    out.write(b"committer Bench Author <bench@example.invalid> %d +0000\n" % when)
    data(header + body)
    if i > 1:
        out.write(b"from :%d\n" % (i - 1))
    out.write(b"M 644 inline file.txt\n")
    data(str(i))
    if tagged < tags and i >= round((tagged + 1) * step):
        if pending_major:
            major, minor, patch = major + 1, 0, 0
        elif pending_minor:
            minor, patch = minor + 1, 0
        else:
            patch += 1
        pending_minor = pending_major = False
        tagged += 1
        name = f"v{major}.{minor}.{patch}"
        out.write(f"tag {name}\nfrom :{i}\n".encode())
        out.write(b"tagger Bench Author <bench@example.invalid> %d +0000\n" % (when + 60))
        data(f"Release version {major}.{minor}.{patch}")
out.write(b"done\n")

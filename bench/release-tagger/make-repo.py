#!/usr/bin/env python3
"""Writes a `git fast-import` stream for a synthetic history of a busy project.

usage: make-repo.py COMMITS TAGS [EXPECTED_FILE] | git -C DIR fast-import --quiet --done
(then delete the scratch branch `pr`)

The shape is that of a real repository, not a straight line:

- work lands on `main` as pull requests: a branch of 1 to 4 commits merged
  with a merge commit, or squashed into one commit with a `(#N)` suffix;
- each release is cut on `release/vX.Y`, gets a fix or two there, is tagged
  (annotated) on that branch and merged back into `main`; some get patch
  releases on the same branch, merged back too;
- a parallel pre-release line, `next`, forks from `main` for the last part
  of the history and takes `v(X+1).0.0-alpha.N`/`-beta.N` tags: above the
  current stable version and not reachable from `main`, which merges into
  `next` now and then but never the other way;
- commits change one to three files of a tree of about 2,000 files in 60
  directories, and their messages have bodies and trailers;
- the newest pull requests are not released yet.

About COMMITS commits and TAGS tags in all; dates are fixed, so the same
arguments give the same repository. With EXPECTED_FILE, writes there the
version `release-tagger next` must print on `main` (the minor after the
last stable release, as a feature is unreleased).
"""

import sys

commits_wanted, tags_wanted = int(sys.argv[1]), int(sys.argv[2])
expected_file = sys.argv[3] if len(sys.argv) > 3 else None
out = sys.stdout.buffer

KINDS = ["feat", "fix", "fix", "chore", "docs", "perf", "feat", "refactor", "test", "fix", "ci", "build"]
SCOPES = [None, "api", "cli", "db", "ui", None, "auth", "storage", "deps"]
AUTHORS = [
    ("Ada Lovelace", "ada@example.invalid"),
    ("Grace Hopper", "grace@example.invalid"),
    ("Linus Sample", "linus@example.invalid"),
    ("Margaret Test", "margaret@example.invalid"),
    ("renovate[bot]", "bot@example.invalid"),
]
DIRS = 60
FILES_PER_DIR = 34
START = 1_600_000_000
STEP = 600  # ten minutes between commits

mark = 0
clock = START
commit_count = 0
tag_count = 0
change = 0


def data(raw):
    out.write(b"data %d\n" % len(raw))
    out.write(raw)
    out.write(b"\n")


def path_of(n):
    return f"src/mod{n % DIRS:02d}/file{(n // DIRS) % FILES_PER_DIR:02d}.txt"


def file_text(n, revision):
    # A source-file-sized blob (about 1 KiB), different at each revision.
    lines = [f"// file {n}, revision {revision}"]
    lines += [f"line {i}: value {(n * 31 + i * 7 + revision) % 997}" for i in range(40)]
    return ("\n".join(lines) + "\n").encode()


def commit(ref, message, parents, files=(), author=0):
    """Writes one commit on `ref` with `parents` (marks); returns its mark."""
    global mark, clock, commit_count
    mark += 1
    clock += STEP
    commit_count += 1
    name, email = AUTHORS[author % len(AUTHORS)]
    out.write(f"commit {ref}\nmark :{mark}\n".encode())
    out.write(f"author {name} <{email}> {clock - 300} +0000\n".encode())
    out.write(f"committer {name} <{email}> {clock} +0000\n".encode())
    data(message.encode())
    if parents:
        out.write(f"from :{parents[0]}\n".encode())
        for other in parents[1:]:
            out.write(f"merge :{other}\n".encode())
    for path, text in files:
        out.write(f"M 644 inline {path}\n".encode())
        data(text)
    return mark


def change_commit(ref, parents, kind=None, breaking=False, pr=None):
    """A conventional commit with a body and trailers, touching 1 to 3 files."""
    global change
    change += 1
    kind = kind or KINDS[change % len(KINDS)]
    scope = SCOPES[change % len(SCOPES)]
    head = f"{kind}({scope})" if scope else kind
    if breaking:
        head += "!"
    header = f"{head}: change number {change}"
    if change % 211 == 0 and not breaking:
        header = f"Update file {change}"
    if pr is not None:
        header += f" (#{pr})"
    body = (
        f"\n\nThis change reworks part {change} of the {scope or 'core'} module so that\n"
        f"callers no longer depend on the old ordering. Measured on the usual\n"
        f"fixtures; see the linked discussion for the trade-offs.\n"
    )
    if breaking:
        body += "\nBREAKING CHANGE: the old behaviour is gone\n"
    body += f"\nSigned-off-by: {AUTHORS[change % len(AUTHORS)][0]} <{AUTHORS[change % len(AUTHORS)][1]}>\n"
    if change % 5 == 0:
        body += f"Co-authored-by: {AUTHORS[(change + 1) % len(AUTHORS)][0]} <x@example.invalid>\n"
    files = [(path_of(change * 7 + i), file_text(change * 7 + i, change)) for i in range(1 + change % 3)]
    return commit(ref, header + body, parents, files, author=change), kind == "feat", breaking


def tag(name, target, message):
    global tag_count, clock
    tag_count += 1
    out.write(f"tag {name}\nfrom :{target}\n".encode())
    out.write(f"tagger Release Bot <release@example.invalid> {clock + 60} +0000\n".encode())
    data(message.encode())


# The initial tree.
initial = [(path_of(n), file_text(n, 0)) for n in range(DIRS * FILES_PER_DIR)]
main = commit("refs/heads/main", "chore: initial import\n", [], initial)

# Budget: the pre-release line takes a tenth of the tags (at least 4) and
# the last eighth of the history; the rest are stable releases on main.
pre_tags = max(4, tags_wanted // 10) if tags_wanted >= 8 else 0
stable_tags = max(1, tags_wanted - pre_tags)
fork_at = commits_wanted * 7 // 8 if pre_tags else commits_wanted + 1
# Commits per release cycle (pull requests, release fixes and merges); one
# cycle in four also makes a patch release.
cycles = max(1, stable_tags - stable_tags // 5)
cycle = max(6, (commits_wanted - 40) // cycles)

major, minor, patch = 0, 1, 0
pr = 0
next_line = None  # mark of the `next` branch tip once forked
next_pre = 0
stable_done = 0
unreleased_feature = False


def pull_request(base):
    """One pull request onto `base`; returns (new tip, has_feat, has_breaking).
    A breaking change now and then, but none once the pre-release line for
    the next major has forked."""
    global pr
    pr += 1
    feat = breaking = False
    breaks = pr % 401 == 0 and commit_count < fork_at
    if pr % 3 == 0:
        # Squash-merged: one commit on main.
        return change_commit("refs/heads/main", [base], pr=pr, breaking=breaks)
    tip = base
    for _ in range(1 + pr % 4):
        tip, f, b = change_commit("refs/heads/pr", [tip], breaking=breaks and not breaking)
        feat, breaking = feat or f, breaking or b
    merge = commit(
        "refs/heads/main",
        f"Merge pull request #{pr} from example/topic-{pr}\n\nTopic {pr}\n",
        [base, tip],
        author=pr,
    )
    return merge, feat, breaking


def advance_next(main_tip):
    """Work on the pre-release line: a rewrite commit, main merged in, a tag."""
    global next_line, next_pre
    if next_line is None:
        next_line = main_tip
        next_line, _, _ = change_commit("refs/heads/next", [next_line], kind="feat", breaking=True)
    else:
        next_line = commit(
            "refs/heads/next", "Merge branch 'main' into next\n", [next_line, main_tip], author=3
        )
        next_line, _, _ = change_commit("refs/heads/next", [next_line], kind="feat")
    if next_pre < pre_tags:
        next_pre += 1
        stage = "alpha" if next_pre <= pre_tags // 2 else "beta"
        number = next_pre if stage == "alpha" else next_pre - pre_tags // 2
        version = f"{major + 1}.0.0-{stage}.{number}"
        tag(f"v{version}", next_line, f"Pre-release {version}")


while stable_done < stable_tags:
    feat = breaking = False
    cycle_start = commit_count
    while commit_count - cycle_start < cycle - 4:
        main, f, b = pull_request(main)
        feat, breaking = feat or f, breaking or b
        if commit_count >= fork_at and next_pre < pre_tags and pr % 5 == 0:
            advance_next(main)
    if breaking:
        major, minor, patch = major + 1, 0, 0
    elif feat:
        minor, patch = minor + 1, 0
    else:
        patch += 1
    # Cut the release branch, fix on it, tag there, merge back.
    branch = f"refs/heads/release/v{major}.{minor}"
    release = commit(branch, f"chore(release): prepare {major}.{minor}.{patch}\n", [main], author=4)
    release, _, _ = change_commit(branch, [release], kind="fix")
    tag(f"v{major}.{minor}.{patch}", release, f"Release version {major}.{minor}.{patch}")
    stable_done += 1
    if stable_done % 4 == 0 and stable_done < stable_tags:
        # A patch release on the same branch.
        release, _, _ = change_commit(branch, [release], kind="fix")
        patch += 1
        tag(f"v{major}.{minor}.{patch}", release, f"Release version {major}.{minor}.{patch}")
        stable_done += 1
    main = commit(
        "refs/heads/main", f"Merge branch 'release/v{major}.{minor}' into main\n", [main, release], author=4
    )

# Unreleased work on main: a feature among fixes.
for _ in range(6):
    main, f, _ = pull_request(main)
main, _, _ = change_commit("refs/heads/main", [main], kind="feat", pr=pr + 1)
while next_pre < pre_tags:
    advance_next(main)
out.write(b"done\n")
if expected_file:
    with open(expected_file, "w") as f:
        f.write(f"{major}.{minor + 1}.0\n")

#!/usr/bin/env bash
# branch-guard against commitlint 20 (@commitlint/cli +
# @commitlint/config-conventional, npm; `cargo xtask install-tools` installs
# them into .tools/node): one message, and 1,000 new commits (commitlint
# --from/--to versus branch-guard's pre-push hook on the same range).
#
# The third workload of the issue, the same verdict on every message of a
# real repository's history, is bench/branch-guard/compare-verdicts.py; it
# needs a clone, which this script does not fetch (BENCH_HISTORY_REPO=DIR
# runs it on DIR).
source "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v commitlint >/dev/null || {
    echo "branch-guard bench: commitlint is missing; install it with: cargo xtask install-tools" >&2
    exit 1
}
guard="$SHIPGATE_BIN_DIR/branch-guard"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=Bench GIT_AUTHOR_EMAIL=bench@shipgate.invalid
export GIT_COMMITTER_NAME=Bench GIT_COMMITTER_EMAIL=bench@shipgate.invalid

repo="$work/repo"
git init --quiet -b main "$repo"
cp "$here/branch-guard/commitlint.config.mjs" "$repo/commitlint.config.mjs"
# commitlint resolves `extends` from the config's directory.
ln -s "$(dirname "$(command -v commitlint)")/.." "$repo/node_modules"
git -C "$repo" commit --quiet --allow-empty -m "feat: initial"
base=$(git -C "$repo" rev-parse HEAD)
git clone --quiet --bare "$repo" "$work/remote.git"
git -C "$repo" remote add origin "$work/remote.git"
git -C "$repo" fetch --quiet origin

# 1,000 conventional commits with bodies, written by fast-import in one go.
python3 - "$base" <<'PY' | git -C "$repo" fast-import --quiet
import sys
base = sys.argv[1]
kinds = ["feat", "fix", "docs", "refactor", "test", "chore", "perf"]
for i in range(1000):
    message = f"{kinds[i % len(kinds)]}(area{i % 13}): change number {i}\n\nWhy change {i} was made, in a short body line.\n\nRefs: #{i}\n"
    data = message.encode()
    print(f"commit refs/heads/feature/bench\ncommitter Bench <bench@shipgate.invalid> {1705226400 + i} +0000")
    print(f"data {len(data)}")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    print()
    print(f"from {base}" if i == 0 else "")
PY
head=$(git -C "$repo" rev-parse refs/heads/feature/bench)
printf 'refs/heads/feature/bench %s refs/heads/feature/bench %s\n' "$head" "0000000000000000000000000000000000000000" >"$work/push-input"
printf 'feat(upload): resume interrupted uploads\n\nKeeps the offset on the server.\n' >"$work/message"

cd "$repo"
export BENCH_DATA="synthetic: one message; 1,000 conventional commits with bodies"
compare "lint one commit message" commitlint "<= 5 ms" \
    -- commitlint --edit "$work/message" \
    -- "$guard" message "$work/message"
compare "1,000 new commits (pre-push)" commitlint "<= 30 ms" \
    -- commitlint --from "$base" --to "$head" \
    -- sh -c '"$0" pre-push origin "$1" <"$2"' "$guard" "$work/remote.git" "$work/push-input"

if [[ -n "${BENCH_HISTORY_REPO:-}" ]]; then
    python3 "$here/branch-guard/compare-verdicts.py" "$BENCH_HISTORY_REPO" "$guard" \
        "$(dirname "$(command -v commitlint)")/.."
fi

# `commits` over about 1,000 commits of a real history, against `git log`
# reading the same messages (the floor), when SHIPGATE_BENCH_REAL_REPO=DIR
# names a clone (SHIPGATE_BENCH_REAL_NAME=owner/name for the table).
if [[ -n "${SHIPGATE_BENCH_REAL_REPO:-}" ]]; then
    real=$SHIPGATE_BENCH_REAL_REPO
    git -C "$real" rev-parse --verify --quiet HEAD >/dev/null || {
        echo "branch-guard bench: SHIPGATE_BENCH_REAL_REPO=$real is not a git repository with a HEAD" >&2
        exit 2
    }
    cd "$real"
    # The nearest first-parent ancestor whose range holds at least 1,000
    # commits (merged branches bring their own).
    depth=100
    while from=$(git rev-parse --verify --quiet "HEAD~$depth") &&
        (($(git rev-list --count "$from..HEAD") < 1000)); do
        depth=$((depth + 10))
    done
    [[ -n "$from" ]] || from=$(git rev-list --max-parents=0 HEAD | head -n 1)
    count=$(git rev-list --count "$from..HEAD")
    name=${SHIPGATE_BENCH_REAL_NAME:-$(basename "$real")}
    export BENCH_DATA="$name @ $(git rev-parse --short=10 HEAD), HEAD~$depth..HEAD"
    compare "commits, $count commits of real history" "git log (floor)" "(info)" \
        -- git log --format=%B "$from..HEAD" \
        -- "$guard" commits "$from..HEAD"
fi

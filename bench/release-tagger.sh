#!/usr/bin/env bash
# release-tagger against its floors (`git describe --tags --abbrev=0` for
# `next`, `git log --format=%B` for `changelog --all`) and git-cliff (PyPI
# `git-cliff`, default configuration), on:
#   mid:   about 6,400 commits and 265 tags, the shape of a busy project
#          (bench/release-tagger/make-repo.py: pull request merges, release
#          branches merged back, a pre-release line above stable that main
#          does not reach);
#   scale: the same shape with 200,000 commits and 20,000 tags;
#   real:  a clone of a public repository, when SHIPGATE_BENCH_REAL_REPO=DIR
#          names one (SHIPGATE_BENCH_REAL_NAME=owner/name for the table; the
#          commit is HEAD's). bench/results.md names the one last used.
# Refs are packed, as in any clone. On the synthetic shapes `next` must give
# the version the generator expects; git-cliff's answer is shown beside it.
source "$(dirname "$0")/lib.sh"

for tool in git git-cliff python3; do
    command -v "$tool" >/dev/null || {
        echo "release-tagger bench: $tool is missing; install it with: cargo xtask install-tools (git-cliff comes from PyPI)" >&2
        exit 1
    }
done

here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make_repo() {
    local dir=$1 commits=$2 tags=$3
    git init --quiet --initial-branch=main "$dir"
    python3 "$here/release-tagger/make-repo.py" "$commits" "$tags" "$dir.expected" |
        git -C "$dir" fast-import --quiet --done
    git -C "$dir" update-ref -d refs/heads/pr
    git -C "$dir" checkout --quiet main
    git -C "$dir" pack-refs --all
}

ours="$SHIPGATE_BIN_DIR/release-tagger"
# No shipgate.toml and no Actions variables: the defaults, as on a laptop.
unset GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_REPOSITORY

# describe_repo DIR -> "N commits, M tags" of HEAD's history and the repository
describe_repo() {
    printf '%d commits, %d tags' "$(git -C "$1" rev-list --count HEAD)" "$(git -C "$1" tag | wc -l)"
}

# check_next DIR: `next` must print the generator's expected version.
check_next() {
    local expected got cliff
    expected=$(cat "$1.expected")
    got=$(cd "$1" && "$ours" next)
    cliff=$(cd "$1" && git-cliff --unreleased --bump 2>/dev/null | sed -n 's/^## \[\([^]]*\)\].*/\1/p' | head -n 1)
    printf '  next on %s: release-tagger %s, git-cliff %s, expected %s\n' "$(basename "$1")" "$got" "${cliff:-?}" "$expected"
    [[ $got == "$expected" ]] || { echo "release-tagger bench: next printed $got, expected $expected" >&2; exit 1; }
}

# next_rows LABEL CLIFF_TARGET: `next` against its floor and git-cliff, on
# the repository in the current directory.
next_rows() {
    compare "next version, $1" "git describe (floor)" "<= 2x" \
        -- git describe --tags --abbrev=0 \
        -- "$ours" next
    compare "next version, $1" git-cliff "$2" \
        -- git-cliff --unreleased --bump \
        -- "$ours" next
}

# git_workloads LABEL: every row on the repository in the current directory.
git_workloads() {
    local label=$1
    next_rows "$label" "< 1x"
    compare "full-history changelog, $label" "git log (floor)" "<= 2x" \
        -- git log --format=%B \
        -- "$ours" changelog --all
}

make_repo "$work/mid" 7000 265
check_next "$work/mid"
cd "$work/mid"
export BENCH_DATA="synthetic: $(describe_repo .), merges, pre-release line above stable"
git_workloads "busy-project shape"
compare "full-history changelog, busy-project shape" git-cliff "< 1x" \
    -- git-cliff \
    -- "$ours" changelog --all

if [[ -n "${SHIPGATE_BENCH_REAL_REPO:-}" ]]; then
    real=$SHIPGATE_BENCH_REAL_REPO
    git -C "$real" rev-parse --verify --quiet HEAD >/dev/null || {
        echo "release-tagger bench: SHIPGATE_BENCH_REAL_REPO=$real is not a git repository with a HEAD" >&2
        exit 2
    }
    name=${SHIPGATE_BENCH_REAL_NAME:-$(basename "$real")}
    cd "$real"
    export BENCH_DATA="$name @ $(git rev-parse --short=10 HEAD) ($(describe_repo .))"
    printf '  next on %s: release-tagger %s, git-cliff %s, highest reachable tag %s\n' "$name" "$("$ours" next)" \
        "$(git-cliff --unreleased --bump 2>/dev/null | sed -n 's/^## \[\([^]]*\)\].*/\1/p' | head -n 1)" \
        "$(git tag --merged HEAD --sort=-v:refname | head -n 1)"
    git_workloads "real history"
    # stats reads every commit's time once, split at the releases.
    compare "DORA stats, real history" "git log (floor)" "(info)" \
        -- git log --format=%ct \
        -- "$ours" stats
fi

make_repo "$work/scale" 200000 20000
check_next "$work/scale"
cd "$work/scale"
export BENCH_DATA="synthetic: $(describe_repo .), merges, pre-release line above stable"
next_rows "scale shape" "< 50 ms"

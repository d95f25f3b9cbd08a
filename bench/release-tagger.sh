#!/usr/bin/env bash
# release-tagger against git-cliff (PyPI `git-cliff`, default configuration),
# with `git log` of every message as the floor. The repositories are generated
# here with `git fast-import` (bench/release-tagger/make-repo.py):
#   mid:   7,000 conventional commits, 265 annotated release tags;
#   scale: 200,000 commits, 20,000 release tags.
# Refs are packed, as in any clone.
source "$(dirname "$0")/lib.sh"

for tool in git git-cliff python3; do
    command -v "$tool" >/dev/null || {
        echo "release-tagger bench: $tool is missing; install it with: cargo xtask install-tools (git-cliff comes from PyPI)" >&2
        exit 1
    }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
make_repo() {
    local dir=$1 commits=$2 tags=$3
    git init --quiet --initial-branch=main "$dir"
    python3 "$(dirname "$0")/release-tagger/make-repo.py" "$commits" "$tags" | git -C "$dir" fast-import --quiet --done
    git -C "$dir" checkout --quiet main
    git -C "$dir" pack-refs --all
}
make_repo "$work/mid" 7000 265
make_repo "$work/scale" 200000 20000

ours="$SHIPGATE_BIN_DIR/release-tagger"
# No shipgate.toml and no Actions variables: the defaults, as on a laptop.
unset GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY GITHUB_REPOSITORY

cd "$work/mid"
compare "next version, 7k commits / 265 tags" git-cliff "<= 10 ms" \
    -- git-cliff --unreleased --bump \
    -- "$ours" next
compare "full-history changelog, 7k commits / 265 tags" git-cliff "<= 150 ms" \
    -- git-cliff \
    -- "$ours" changelog --all
compare "full-history changelog vs reading every message" "git log" "floor" \
    -- git log --format=%B \
    -- "$ours" changelog --all

cd "$work/scale"
compare "next version, 200k commits / 20k tags" git-cliff "< 50 ms" \
    -- git-cliff --unreleased --bump \
    -- "$ours" next

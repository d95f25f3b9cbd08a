#!/usr/bin/env bash
# Records a release's archives in scripts/dist-manifest.tsv, the manifest
# scripts/install.sh verifies downloads against. .github/workflows/dist.yml
# runs it over the archives it uploaded; the release process commits the
# result.
#
# Usage: dist-manifest.sh [--manifest FILE] TAG ARCHIVE...
#   TAG      the release tag, vX.Y.Z
#   ARCHIVE  shipgate-TAG-TARGET.tar.gz or .zip
#
# The release's earlier lines, if any, are replaced; the other releases' lines
# and the leading comment are kept; lines are sorted by version, then target.
set -euo pipefail

fail() {
  echo "dist-manifest: error: $*" >&2
  exit 2
}

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
manifest="$script_dir/dist-manifest.tsv"
if [[ "${1:-}" == --manifest ]]; then
  [[ $# -ge 2 ]] || fail "--manifest needs a file"
  manifest="$2"
  shift 2
fi
[[ $# -ge 2 ]] || fail "usage: dist-manifest.sh [--manifest FILE] TAG ARCHIVE..."
tag="$1"
shift
[[ "$tag" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "tag '$tag' is not vX.Y.Z"
version="${tag#v}"

if command -v sha256sum >/dev/null 2>&1; then
  sha256() { sha256sum "$1"; }
else
  sha256() { shasum -a 256 "$1"; }
fi

new_lines=""
for archive in "$@"; do
  [[ -f "$archive" ]] || fail "$archive is not a file"
  name="${archive##*/}"
  target="${name#"shipgate-$tag-"}"
  case "$target" in
    *.tar.gz) target="${target%.tar.gz}" ;;
    *.zip) target="${target%.zip}" ;;
    *) fail "$name is not a .tar.gz or .zip archive" ;;
  esac
  [[ "$name" == "shipgate-$tag-$target".* && "$target" =~ ^[a-z0-9_]+(-[a-z0-9_]+)+$ ]] \
    || fail "$name is not named shipgate-$tag-TARGET.tar.gz or .zip"
  sum="$(sha256 "$archive")"
  new_lines+="$version"$'\t'"$target"$'\t'"$name"$'\t'"${sum%% *}"$'\n'
done

[[ -f "$manifest" ]] || fail "$manifest does not exist"
updated="$(mktemp "$manifest.XXXXXX")"
trap 'rm -f "$updated"' EXIT
{
  # The leading comment block, as it is.
  awk '/^#/ { print; next } { exit }' "$manifest"
  {
    awk -F '\t' -v version="$version" '!/^#/ && NF >= 4 && $1 != version' "$manifest"
    printf '%s' "$new_lines"
  } | sort -t $'\t' -k1,1V -k2,2
} >"$updated"
mv "$updated" "$manifest"
trap - EXIT
echo "dist-manifest: recorded $# archive(s) of $tag in $manifest" >&2

#!/usr/bin/env bash
# Installs shipgate binaries for a GitHub Actions job and puts them on PATH.
#
# Usage: install.sh [all | TOOL...]     (no argument means all five tools)
#
# Where the binaries come from, first match wins:
#   1. SHIPGATE_INPUT_BIN_DIR (the actions' `bin-dir` input) or SHIPGATE_BIN_DIR:
#      a directory that already holds them (tests and shipgate's own CI).
#   2. SHIPGATE_ACTION_REF is a release tag vX.Y.Z: the prebuilt archive of that
#      release for RUNNER_OS/RUNNER_ARCH, checked against its published sha256
#      and cached in the runner tool cache the way actions/tool-cache does it.
#   3. Otherwise: `cargo install` from the source next to this script, i.e. the
#      action's own commit.
#
# The resulting directory is appended to GITHUB_PATH and written to
# GITHUB_OUTPUT as `bin-dir`, together with `version`.
#
# Inputs (environment):
#   SHIPGATE_INPUT_BIN_DIR, SHIPGATE_BIN_DIR   directory with prebuilt binaries
#   SHIPGATE_ACTION_REF                        ${{ github.action_ref }}
#   SHIPGATE_ACTION_REPOSITORY                 ${{ github.action_repository }}
#   GITHUB_SERVER_URL                          default https://github.com
#   GITHUB_TOKEN                               optional, only sent as an auth header
#   RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE, RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT
set -euo pipefail

readonly all_tools=(release-tagger branch-guard migrate-runner smoke-tester notify)
script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly source_root="${script_dir%/*}"

fail() {
  # `::error::` makes the message an annotation on the run; stderr keeps it
  # readable outside Actions too.
  echo "::error::shipgate install: $*" >&2
  exit 1
}

log() {
  echo "shipgate install: $*" >&2
}

# Windows runners hand out native paths; Git Bash needs them in unix form to
# work with them, and GITHUB_PATH needs the native form back.
to_unix_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -u "$1"; else printf '%s\n' "$1"; fi
}
to_native_path() {
  if command -v cygpath >/dev/null 2>&1; then cygpath -w "$1"; else printf '%s\n' "$1"; fi
}

exe_suffix=""
case "${RUNNER_OS:-}" in
  Windows) exe_suffix=".exe" ;;
esac

# --- which tools ------------------------------------------------------------
tools=()
if [[ $# -eq 0 ]]; then
  tools=("${all_tools[@]}")
else
  for requested in "$@"; do
    if [[ "$requested" == all ]]; then
      tools+=("${all_tools[@]}")
      continue
    fi
    known=false
    for tool in "${all_tools[@]}"; do
      [[ "$requested" == "$tool" ]] && known=true
    done
    $known || fail "unknown tool '$requested' (expected one of: ${all_tools[*]} or all)"
    tools+=("$requested")
  done
fi

# Prints the names of the requested binaries missing from directory $1.
missing_binaries() {
  local dir="$1" tool
  for tool in "${tools[@]}"; do
    [[ -x "$dir/$tool$exe_suffix" ]] || printf '%s ' "$tool"
  done
}

# Prints the version a binary reports (`release-tagger 1.2.3` -> `1.2.3`).
binary_version() {
  local output
  output="$("$1" --version 2>/dev/null)" || return 0
  output="${output%%$'\n'*}"
  printf '%s\n' "${output##* }"
}

publish() {
  local dir="$1" version="$2"
  if [[ -n "${GITHUB_PATH:-}" ]]; then
    to_native_path "$dir" >>"$GITHUB_PATH"
  fi
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    {
      echo "bin-dir=$(to_native_path "$dir")"
      echo "version=$version"
    } >>"$GITHUB_OUTPUT"
  fi
  log "${tools[*]} ${version:+$version }ready in $dir"
}

# --- 1. binaries provided by the caller ------------------------------------
provided_dir="${SHIPGATE_INPUT_BIN_DIR:-${SHIPGATE_BIN_DIR:-}}"
if [[ -n "$provided_dir" ]]; then
  provided_dir="$(to_unix_path "$provided_dir")"
  [[ -d "$provided_dir" ]] || fail "bin-dir '$provided_dir' is not a directory"
  provided_dir="$(cd "$provided_dir" && pwd)"
  missing="$(missing_binaries "$provided_dir")"
  # An explicit directory that lacks binaries is a mistake worth stopping on,
  # not a reason to quietly fetch something else.
  [[ -z "$missing" ]] || fail "bin-dir '$provided_dir' lacks executable: ${missing% }"
  publish "$provided_dir" "$(binary_version "$provided_dir/${tools[0]}$exe_suffix")"
  exit 0
fi

# --- 2. prebuilt release archive --------------------------------------------
action_ref="${SHIPGATE_ACTION_REF:-}"
action_repository="${SHIPGATE_ACTION_REPOSITORY:-}"
# The runner has left github.action_ref empty inside composite actions in
# some versions (actions/runner#2473). It checks remote actions out to
# <work>/_actions/<owner>/<repo>/<ref>, so the ref can be read from there.
if [[ -z "$action_ref" && "${source_root%/*/*/*}" == */_actions ]]; then
  action_ref="${source_root##*/}"
  owner_and_name="${source_root%/*}"
  action_repository="${owner_and_name%/*}"
  action_repository="${action_repository##*/}/${owner_and_name##*/}"
fi
if [[ "$action_ref" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  tag="$action_ref"
  version="${tag#v}"
  repository="$action_repository"
  [[ "$repository" =~ ^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$ ]] \
    || fail "action repository '$repository' is not owner/name; cannot locate release $tag"

  case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
    Linux/X64) target=x86_64-unknown-linux-musl ;;
    Linux/ARM64) target=aarch64-unknown-linux-musl ;;
    macOS/X64) target=x86_64-apple-darwin ;;
    macOS/ARM64) target=aarch64-apple-darwin ;;
    Windows/X64) target=x86_64-pc-windows-msvc ;;
    *) fail "no prebuilt shipgate for RUNNER_OS='${RUNNER_OS:-}' RUNNER_ARCH='${RUNNER_ARCH:-}'; use a bin-dir or a non-release ref to build from source" ;;
  esac
  if [[ "${RUNNER_OS}" == Windows ]]; then archive_ext=zip; else archive_ext=tar.gz; fi
  # actions/tool-cache names architectures the way Node's os.arch() does.
  case "$RUNNER_ARCH" in
    X64) cache_arch=x64 ;;
    ARM64) cache_arch=arm64 ;;
  esac

  [[ -n "${RUNNER_TOOL_CACHE:-}" ]] || fail "RUNNER_TOOL_CACHE is not set"
  [[ -n "${RUNNER_TEMP:-}" ]] || fail "RUNNER_TEMP is not set"
  tool_cache="$(to_unix_path "$RUNNER_TOOL_CACHE")"
  runner_temp="$(to_unix_path "$RUNNER_TEMP")"
  cache_dir="$tool_cache/shipgate/$version/$cache_arch"
  cache_marker="$cache_dir.complete"

  if [[ -f "$cache_marker" && -d "$cache_dir" && -z "$(missing_binaries "$cache_dir")" ]]; then
    log "using cached shipgate $version from $cache_dir"
    publish "$cache_dir" "$version"
    exit 0
  fi

  archive="shipgate-$tag-$target.$archive_ext"
  server_url="${GITHUB_SERVER_URL:-https://github.com}"
  archive_url="${server_url%/}/$repository/releases/download/$tag/$archive"

  staging="$(mktemp -d "$runner_temp/shipgate-download.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT

  download() {
    local url="$1" output="$2"
    local curl_args=(--fail --silent --show-error --location --proto '=https,http'
      --retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 20 --max-time 600
      --output "$output")
    if [[ -n "${GITHUB_TOKEN:-}" ]]; then
      # Handing the header over on a file descriptor keeps the token out of
      # the process list and out of any trace output. curl drops it on a
      # redirect to another host (release assets live on a CDN).
      curl "${curl_args[@]}" --header @<(printf 'Authorization: Bearer %s\n' "$GITHUB_TOKEN") "$url"
    else
      curl "${curl_args[@]}" "$url"
    fi
  }

  log "downloading $archive_url"
  download "$archive_url" "$staging/$archive" || fail "cannot download $archive_url"
  download "$archive_url.sha256" "$staging/$archive.sha256" || fail "cannot download $archive_url.sha256"

  read -r expected_sum expected_name _ <"$staging/$archive.sha256" || true
  expected_sum="$(printf '%s' "${expected_sum:-}" | tr 'A-F' 'a-f')"
  [[ "$expected_sum" =~ ^[0-9a-f]{64}$ ]] || fail "checksum file $archive.sha256 does not start with a sha256 hex digest"
  expected_name="${expected_name#\*}"
  [[ -z "$expected_name" || "$expected_name" == "$archive" ]] \
    || fail "checksum file $archive.sha256 names '$expected_name', not $archive"

  if command -v sha256sum >/dev/null 2>&1; then
    actual_sum="$(sha256sum "$staging/$archive")"
  elif command -v shasum >/dev/null 2>&1; then
    actual_sum="$(shasum -a 256 "$staging/$archive")"
  else
    fail "neither sha256sum nor shasum is available to verify $archive"
  fi
  actual_sum="${actual_sum%% *}"
  actual_sum="${actual_sum#\\}"
  if [[ "$actual_sum" != "$expected_sum" ]]; then
    fail "sha256 checksum mismatch for $archive: expected $expected_sum, got $actual_sum; refusing to install it"
  fi

  unpacked="$staging/unpacked"
  mkdir -p "$unpacked"
  if [[ "$archive_ext" == zip ]]; then
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$staging/$archive" -d "$unpacked" || fail "cannot unpack $archive"
    elif command -v 7z >/dev/null 2>&1; then
      7z x -bd -y "-o$unpacked" "$staging/$archive" >/dev/null || fail "cannot unpack $archive"
    else
      fail "neither unzip nor 7z is available to unpack $archive"
    fi
  else
    tar -xzf "$staging/$archive" -C "$unpacked" || fail "cannot unpack $archive"
  fi
  # The archive holds the five binaries at its top level; check for all of
  # them so a later run asking for another tool finds it in the cache.
  saved_tools=("${tools[@]}")
  tools=("${all_tools[@]}")
  missing="$(missing_binaries "$unpacked")"
  tools=("${saved_tools[@]}")
  [[ -z "$missing" ]] || fail "$archive lacks: ${missing% }"

  # Fill a sibling directory and rename it into place, then write the marker,
  # so an interrupted run never leaves a directory that looks complete.
  mkdir -p "$tool_cache/shipgate/$version"
  rm -rf "$cache_dir" "$cache_marker"
  partial="$(mktemp -d "$tool_cache/shipgate/$version/.partial.XXXXXX")"
  cp -R "$unpacked/." "$partial/"
  mv "$partial" "$cache_dir"
  : >"$cache_marker"
  publish "$cache_dir" "$version"
  exit 0
fi

# --- 3. build from the action's own source -----------------------------------
command -v cargo >/dev/null 2>&1 \
  || fail "ref '${action_ref:-<none>}' is not a release tag and cargo is not installed; install Rust or use a vX.Y.Z ref"
[[ -n "${RUNNER_TEMP:-}" ]] || fail "RUNNER_TEMP is not set"
install_root="$(to_unix_path "$RUNNER_TEMP")/shipgate"
for tool in "${tools[@]}"; do
  [[ -f "$source_root/crates/$tool/Cargo.toml" ]] || fail "no source for $tool at $source_root/crates/$tool"
  log "building $tool from source"
  cargo install --locked --path "$source_root/crates/$tool" --root "$install_root" \
    || fail "cargo install of $tool failed"
done
publish "$install_root/bin" "$(binary_version "$install_root/bin/${tools[0]}$exe_suffix")"

#!/usr/bin/env bash
# Installs shipgate's binaries: in a GitHub Actions job (every shipgate action
# runs this) and on a laptop.
#
# Usage: install.sh [--version X.Y.Z] [--bin-dir DIR] [--ref REF]
#                   [--repository OWNER/NAME] [--export-env] [all | TOOL...]
#        (no tool means all five: release-tagger branch-guard migrate-runner
#        smoke-tester notify)
#
# Where the binaries come from, first match wins:
#   1. SHIPGATE_INPUT_BIN_DIR (the actions' `bin-dir` input) or SHIPGATE_BIN_DIR
#      (exported by the root action): a directory that already holds them.
#      Nothing is downloaded or built.
#   2. The prebuilt release archive listed in scripts/dist-manifest.tsv for the
#      version and this platform. The manifest is committed by the release
#      process, so the checkout this script runs from, whatever its ref (tag,
#      branch or SHA), carries the sha256 of the binaries it installs; an
#      archive that does not match is refused. The version is `--version`
#      (SHIPGATE_INPUT_VERSION, the root action's `version` input), else the
#      workspace version in this checkout's Cargo.toml.
#   3. The platform has no entry for that version: `cargo install --locked`
#      from the source next to this script (the action's own commit), saying
#      why.
#
# In Actions (GITHUB_ACTIONS=true) the platform is RUNNER_OS/RUNNER_ARCH, the
# archive is kept in the runner tool cache, and the directory is appended to
# GITHUB_PATH and written to GITHUB_OUTPUT (`bin-dir`, `version`); with
# `--export-env` also to GITHUB_ENV as SHIPGATE_BIN_DIR, so later shipgate
# actions in the job reuse it. Elsewhere the platform comes from `uname` and
# the binaries are copied into `--bin-dir` (default ~/.local/bin).
#
# Run from a pipe (`curl -fsSL .../scripts/install.sh | bash -s -- ...`) there
# is no checkout: the manifest is read from the same repository at `--ref`
# (default main) and the version defaults to the newest it lists.
#
# Environment: SHIPGATE_ACTION_REPOSITORY (github.action_repository),
# GITHUB_SERVER_URL (default https://github.com), SHIPGATE_RAW_URL (default
# https://raw.githubusercontent.com), GITHUB_TOKEN (optional, only sent as an
# auth header to the release host), RUNNER_OS, RUNNER_ARCH, RUNNER_TOOL_CACHE,
# RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT, GITHUB_ENV.
#
# Exit codes: 0 installed; 1 an archive failed verification or the platform
# cannot be served; 2 bad usage or input; 3 a download failed after retries.
set -euo pipefail

readonly all_tools=(release-tagger branch-guard migrate-runner smoke-tester notify)
readonly manifest_name=dist-manifest.tsv
readonly default_repository=shipgate/shipgate

on_actions=false
[[ "${GITHUB_ACTIONS:-}" == true ]] && on_actions=true

# Exits with $1 after one error line: an `::error::` annotation in Actions.
fail_with() {
  local code="$1"
  shift
  if $on_actions; then
    echo "::error::shipgate install: $*" >&2
  else
    echo "shipgate install: error: $*" >&2
  fi
  exit "$code"
}
usage_error() { fail_with 2 "$@"; }

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

# --- arguments -----------------------------------------------------------------
requested_version="${SHIPGATE_INPUT_VERSION:-}"
install_dir=""
manifest_ref=""
repository="${SHIPGATE_ACTION_REPOSITORY:-}"
export_env=false
tools=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --version | --bin-dir | --ref | --repository)
      [[ $# -ge 2 && -n "$2" ]] || usage_error "$1 needs a value"
      case "$1" in
        --version) requested_version="$2" ;;
        --bin-dir) install_dir="$2" ;;
        --ref) manifest_ref="$2" ;;
        --repository) repository="$2" ;;
      esac
      shift 2
      ;;
    --export-env)
      export_env=true
      shift
      ;;
    -h | --help)
      sed -n '2,8p' "${BASH_SOURCE[0]:-/dev/null}" 2>/dev/null | sed 's/^# \{0,1\}//' || true
      exit 0
      ;;
    -*) usage_error "unknown option '$1' (see --help)" ;;
    all)
      tools+=("${all_tools[@]}")
      shift
      ;;
    *)
      known=false
      for tool in "${all_tools[@]}"; do
        [[ "$1" == "$tool" ]] && known=true
      done
      $known || usage_error "unknown tool '$1' (expected one of: ${all_tools[*]} or all)"
      tools+=("$1")
      shift
      ;;
  esac
done
[[ ${#tools[@]} -gt 0 ]] || tools=("${all_tools[@]}")

requested_version="${requested_version#v}"
if [[ -n "$requested_version" && ! "$requested_version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  usage_error "version '$requested_version' is not X.Y.Z"
fi

# The checkout this script belongs to; empty when it is read from a pipe.
source_root=""
if [[ -n "${BASH_SOURCE[0]:-}" && -f "${BASH_SOURCE[0]}" ]]; then
  script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  source_root="${script_dir%/*}"
fi

# --- platform ------------------------------------------------------------------
if $on_actions; then
  platform_os="${RUNNER_OS:-}"
  platform_arch="${RUNNER_ARCH:-}"
else
  case "$(uname -s)" in
    Linux) platform_os=Linux ;;
    Darwin) platform_os=macOS ;;
    MINGW* | MSYS* | CYGWIN*) platform_os=Windows ;;
    *) platform_os="$(uname -s)" ;;
  esac
  case "$(uname -m)" in
    x86_64 | amd64) platform_arch=X64 ;;
    aarch64 | arm64) platform_arch=ARM64 ;;
    *) platform_arch="$(uname -m)" ;;
  esac
fi
exe_suffix=""
[[ "$platform_os" == Windows ]] && exe_suffix=".exe"
target=""
case "$platform_os/$platform_arch" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  Windows/ARM64) target=aarch64-pc-windows-msvc ;;
esac

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

# Announces the ready directory $1 holding version $2 to the job.
publish() {
  local dir="$1" version="$2"
  if $on_actions; then
    if [[ -n "${GITHUB_PATH:-}" ]]; then
      to_native_path "$dir" >>"$GITHUB_PATH"
    fi
    if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
      {
        echo "bin-dir=$(to_native_path "$dir")"
        echo "version=$version"
      } >>"$GITHUB_OUTPUT"
    fi
    if $export_env && [[ -n "${GITHUB_ENV:-}" ]]; then
      echo "SHIPGATE_BIN_DIR=$(to_native_path "$dir")" >>"$GITHUB_ENV"
    fi
  fi
  log "${tools[*]} ${version:+$version }ready in $dir"
}

# --- 1. binaries provided by the caller ------------------------------------------
provided_dir="${SHIPGATE_INPUT_BIN_DIR:-${SHIPGATE_BIN_DIR:-}}"
if [[ -n "$provided_dir" ]]; then
  provided_dir="$(to_unix_path "$provided_dir")"
  [[ -d "$provided_dir" ]] || usage_error "bin-dir '$provided_dir' is not a directory"
  provided_dir="$(cd "$provided_dir" && pwd)"
  missing="$(missing_binaries "$provided_dir")"
  # An explicit directory that lacks binaries is a mistake worth stopping on,
  # not a reason to quietly fetch something else.
  [[ -z "$missing" ]] || usage_error "bin-dir '$provided_dir' lacks executable: ${missing% }"
  publish "$provided_dir" "$(binary_version "$provided_dir/${tools[0]}$exe_suffix")"
  exit 0
fi

# --- where the release lives ---------------------------------------------------------
# The runner has left github.action_repository empty inside composite actions
# in some versions (actions/runner#2473). It checks remote actions out to
# <work>/_actions/<owner>/<repo>/<ref>, so the repository can be read there.
if [[ -z "$repository" && -n "$source_root" && "${source_root%/*/*/*}" == */_actions ]]; then
  owner_and_name="${source_root%/*}"
  repository="${owner_and_name%/*}"
  repository="${repository##*/}/${owner_and_name##*/}"
fi
repository="${repository:-$default_repository}"
[[ "$repository" =~ ^[A-Za-z0-9._-]+/[A-Za-z0-9._-]+$ ]] || usage_error "repository '$repository' is not owner/name"
server_url="${GITHUB_SERVER_URL:-https://github.com}"
server_url="${server_url%/}"

if $on_actions; then
  [[ -n "${RUNNER_TEMP:-}" ]] || usage_error "RUNNER_TEMP is not set"
  scratch_parent="$(to_unix_path "$RUNNER_TEMP")"
else
  scratch_parent="${TMPDIR:-/tmp}"
fi
staging="$(mktemp -d "${scratch_parent%/}/shipgate-install.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

download() {
  local url="$1" output="$2" with_token="${3:-false}"
  local curl_args=(--fail --silent --show-error --location --proto '=https,http'
    --retry 5 --retry-delay 2 --retry-connrefused --connect-timeout 20 --max-time 600
    --output "$output")
  if $with_token && [[ -n "${GITHUB_TOKEN:-}" ]]; then
    # Handing the header over on a file descriptor keeps the token out of
    # the process list and out of any trace output. curl drops it on a
    # redirect to another host (release assets live on a CDN).
    curl "${curl_args[@]}" --header @<(printf 'Authorization: Bearer %s\n' "$GITHUB_TOKEN") "$url"
  else
    curl "${curl_args[@]}" "$url"
  fi
}

# --- the manifest and the version ------------------------------------------------------
checkout_version=""
if [[ -n "$source_root" ]]; then
  manifest="$source_root/scripts/$manifest_name"
  [[ -f "$manifest" ]] || usage_error "$manifest is missing from this checkout"
  # The `version` of [workspace.package]: what this commit's source builds.
  if [[ -f "$source_root/Cargo.toml" ]]; then
    checkout_version="$(awk '
      /^\[/ { in_section = ($0 == "[workspace.package]") }
      in_section && /^version[[:space:]]*=/ { gsub(/.*=[[:space:]]*"|".*/, ""); print; exit }
    ' "$source_root/Cargo.toml")"
  fi
else
  manifest_ref="${manifest_ref:-main}"
  raw_url="${SHIPGATE_RAW_URL:-https://raw.githubusercontent.com}"
  manifest_url="${raw_url%/}/$repository/$manifest_ref/scripts/$manifest_name"
  manifest="$staging/$manifest_name"
  log "reading $manifest_url"
  download "$manifest_url" "$manifest" || fail_with 3 "cannot download $manifest_url"
fi

# Data lines are `version<TAB>target<TAB>archive<TAB>sha256`; `#` starts a comment.
newest_listed="$(awk -F '\t' '!/^#/ && NF >= 4 { print $1 }' "$manifest" | sort -V | tail -n 1)"
version="${requested_version:-${checkout_version:-$newest_listed}}"
[[ -n "$version" ]] || usage_error "no version to install: pass --version X.Y.Z"

entry="$(awk -F '\t' -v version="$version" -v target="$target" \
  '!/^#/ && $1 == version && $2 == target && target != "" { print $3 "\t" $4; exit }' "$manifest")"

# --- 3. no prebuilt binaries for this platform: build this commit --------------------
if [[ -z "$entry" ]]; then
  if [[ -z "$target" ]]; then
    reason="shipgate has no prebuilt binaries for $platform_os/$platform_arch"
  else
    reason="$manifest_name lists no shipgate $version archive for $target"
  fi
  # Only this commit's own version can be built from its source; another
  # version would silently be something else than what was asked for.
  if [[ -z "$source_root" || "$version" != "$checkout_version" ]]; then
    fail_with 1 "$reason; pick a listed version, or build from source: cargo install --locked --git $server_url/$repository ${tools[0]}"
  fi
  command -v cargo >/dev/null 2>&1 \
    || fail_with 1 "$reason, and cargo is not installed to build it from source; install Rust (https://rustup.rs) or pass a bin-dir"
  log "$reason; building $version from source with cargo install --locked"
  if $on_actions; then
    build_root="$scratch_parent/shipgate"
  else
    build_root="$staging/cargo"
  fi
  for tool in "${tools[@]}"; do
    [[ -f "$source_root/crates/$tool/Cargo.toml" ]] || usage_error "no source for $tool at $source_root/crates/$tool"
    cargo install --locked --path "$source_root/crates/$tool" --root "$build_root" \
      || fail_with 1 "cargo install of $tool failed"
  done
  ready_dir="$build_root/bin"
else
  IFS=$'\t' read -r archive expected_sum <<<"$entry"
  expected_sum="$(printf '%s' "$expected_sum" | tr 'A-F' 'a-f' | tr -d '\r')"
  [[ "$expected_sum" =~ ^[0-9a-f]{64}$ ]] || usage_error "$manifest_name: the sha256 of $archive is not 64 hex digits"
  [[ "$archive" =~ ^[A-Za-z0-9._-]+$ ]] || usage_error "$manifest_name: bad archive name '$archive'"

  cache_dir=""
  if $on_actions && [[ -n "${RUNNER_TOOL_CACHE:-}" ]]; then
    # actions/tool-cache names architectures the way Node's os.arch() does.
    case "$platform_arch" in
      X64) cache_arch=x64 ;;
      ARM64) cache_arch=arm64 ;;
      *) cache_arch="$platform_arch" ;;
    esac
    cache_dir="$(to_unix_path "$RUNNER_TOOL_CACHE")/shipgate/$version/$cache_arch"
    # The marker holds the verified archive's sha256: a cache filled from
    # other bytes than the manifest names is not reused.
    cache_marker="$cache_dir.complete"
    if [[ -f "$cache_marker" && "$(cat "$cache_marker")" == "$expected_sum" && -z "$(missing_binaries "$cache_dir")" ]]; then
      log "using cached shipgate $version from $cache_dir"
      publish "$cache_dir" "$version"
      exit 0
    fi
  fi

  archive_url="$server_url/$repository/releases/download/v$version/$archive"
  log "downloading $archive_url"
  download "$archive_url" "$staging/$archive" true || fail_with 3 "cannot download $archive_url"

  if command -v sha256sum >/dev/null 2>&1; then
    actual_sum="$(sha256sum "$staging/$archive")"
  elif command -v shasum >/dev/null 2>&1; then
    actual_sum="$(shasum -a 256 "$staging/$archive")"
  else
    usage_error "neither sha256sum nor shasum is available to verify $archive"
  fi
  actual_sum="${actual_sum%% *}"
  actual_sum="${actual_sum#\\}"
  if [[ "$actual_sum" != "$expected_sum" ]]; then
    fail_with 1 "sha256 mismatch for $archive: $manifest_name says $expected_sum, the download is $actual_sum; refusing to install it"
  fi
  log "sha256 of $archive matches $manifest_name"

  unpacked="$staging/unpacked"
  mkdir -p "$unpacked"
  if [[ "$archive" == *.zip ]]; then
    if command -v unzip >/dev/null 2>&1; then
      unzip -q "$staging/$archive" -d "$unpacked" || fail_with 1 "cannot unpack $archive"
    elif command -v 7z >/dev/null 2>&1; then
      7z x -bd -y "-o$unpacked" "$staging/$archive" >/dev/null || fail_with 1 "cannot unpack $archive"
    else
      usage_error "neither unzip nor 7z is available to unpack $archive"
    fi
  else
    tar -xzf "$staging/$archive" -C "$unpacked" || fail_with 1 "cannot unpack $archive"
  fi
  # The archive holds the five binaries at its top level; check for all of
  # them so a later run asking for another tool finds it in the cache.
  saved_tools=("${tools[@]}")
  tools=("${all_tools[@]}")
  missing="$(missing_binaries "$unpacked")"
  tools=("${saved_tools[@]}")
  [[ -z "$missing" ]] || fail_with 1 "$archive lacks: ${missing% }"

  if [[ -n "$cache_dir" ]]; then
    # Fill a sibling directory and rename it into place, then write the
    # marker, so an interrupted run never leaves a directory that looks complete.
    mkdir -p "${cache_dir%/*}"
    rm -rf "$cache_dir" "$cache_marker"
    partial="$(mktemp -d "${cache_dir%/*}/.partial.XXXXXX")"
    cp -R "$unpacked/." "$partial/"
    mv "$partial" "$cache_dir"
    printf '%s\n' "$expected_sum" >"$cache_marker"
    publish "$cache_dir" "$version"
    exit 0
  fi
  ready_dir="$unpacked"
  if $on_actions; then
    # No tool cache (some self-hosted runners): RUNNER_TEMP lasts the job,
    # the staging directory only this step.
    ready_dir="$scratch_parent/shipgate-$version"
    rm -rf "$ready_dir"
    mkdir -p "$ready_dir"
    cp -R "$unpacked/." "$ready_dir/"
  fi
fi

if $on_actions; then
  publish "$ready_dir" "$version"
  exit 0
fi

# --- off Actions: copy into the bin dir ----------------------------------------------
install_dir="${install_dir:-${HOME:?HOME is not set; pass --bin-dir}/.local/bin}"
mkdir -p "$install_dir" || usage_error "cannot create bin dir '$install_dir'"
install_dir="$(cd "$install_dir" && pwd)"
for tool in "${tools[@]}"; do
  # A copy next to the destination, then a rename: a running binary is never
  # overwritten in place and a failed copy never leaves half a file.
  cp "$ready_dir/$tool$exe_suffix" "$install_dir/.$tool$exe_suffix.partial" \
    || usage_error "cannot write into bin dir '$install_dir'"
  chmod 755 "$install_dir/.$tool$exe_suffix.partial"
  mv -f "$install_dir/.$tool$exe_suffix.partial" "$install_dir/$tool$exe_suffix"
done
log "installed ${tools[*]} $version into $install_dir"
case ":$PATH:" in
  *":$install_dir:"*) ;;
  *) log "note: $install_dir is not on PATH; add it, e.g. export PATH=\"$install_dir:\$PATH\"" ;;
esac

# Shared helpers for the peer benchmarks; sourced by bench/<tool>.sh.
#
# `cargo xtask bench` runs every bench/<tool>.sh with:
#   BENCH_OUT         a TSV file each `compare` call appends one row to
#   SHIPGATE_BIN_DIR  the release binaries
#   PATH              with the peers (.tools/venv/bin, .tools/node/node_modules/.bin) first
# and turns the rows into one table, bench/results.md and the README's
# performance section.

set -euo pipefail

: "${BENCH_OUT:?run the benchmarks with cargo xtask bench}"
: "${SHIPGATE_BIN_DIR:?run the benchmarks with cargo xtask bench}"
BENCH_RUNS="${BENCH_RUNS:-5}"

# measure CMD... -> prints "wall_seconds cpu_seconds peak_kib": the median
# wall time of BENCH_RUNS runs (after one warm-up), from bash's microsecond
# clock with nothing wrapped around the command (GNU time's %e has only 10 ms
# resolution and adds its own fork); then one more run under GNU time, writing
# to its own file, for CPU time and peak memory.
measure() {
    local run start end usage user sys peak_kib walls=()
    "$@" >/dev/null 2>&1 || true
    for ((run = 0; run < BENCH_RUNS; run++)); do
        start=$EPOCHREALTIME
        "$@" >/dev/null 2>&1 || true
        end=$EPOCHREALTIME
        walls+=("$start $end")
    done
    usage=$(mktemp)
    /usr/bin/time -o "$usage" -f '%U %S %M' "$@" >/dev/null 2>&1 || true
    read -r user sys peak_kib < <(tail -n 1 "$usage")
    rm -f "$usage"
    local median
    # sort + awk, not gawk's asort: mawk is the awk a fresh machine has.
    median=$(printf '%s\n' "${walls[@]}" | awk '{ printf "%.6f\n", $2 - $1 }' | sort -n |
        awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
    awk -v wall="$median" -v u="$user" -v s="$sys" -v peak="$peak_kib" \
        'BEGIN { printf "%.4f %.4f %d\n", wall, u + s, peak }'
}

# compare WORKLOAD PEER TARGET -- PEER_CMD... -- SHIPGATE_CMD...
# Measures both commands in this one run and appends a row to BENCH_OUT.
# TARGET is the issue's goal, as text (e.g. "<= 0.8x"). BENCH_DATA says what
# the workload runs on (a synthetic shape, or a named real repository and
# commit); set it before the rows it describes.
compare() {
    local workload=$1 peer=$2 target=$3
    shift 3
    [[ $1 == -- ]] || { echo "compare: expected -- before the peer command" >&2; return 2; }
    shift
    local peer_cmd=()
    while [[ $# -gt 0 && $1 != -- ]]; do peer_cmd+=("$1"); shift; done
    [[ $# -gt 0 ]] || { echo "compare: expected -- before the shipgate command" >&2; return 2; }
    shift
    local peer_result ours_result
    peer_result=$(measure "${peer_cmd[@]}")
    ours_result=$(measure "$@")
    read -r peer_wall _ _ <<<"$peer_result"
    read -r ours_wall ours_cpu ours_peak <<<"$ours_result"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$workload" "${BENCH_DATA:?set BENCH_DATA to what the workload runs on}" "$peer" "$peer_wall" "$ours_wall" \
        "$target" "$ours_cpu" "$ours_peak" >>"$BENCH_OUT"
    printf '  %-45s %-12s peer %8ss  shipgate %8ss\n' "$workload" "$peer" "$peer_wall" "$ours_wall"
}

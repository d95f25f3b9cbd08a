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

# measure CMD... -> prints "wall_seconds cpu_seconds peak_kib", the median
# wall time of BENCH_RUNS runs (after one warm-up) with that run's CPU time
# and the highest peak RSS seen. The command's own output is discarded.
measure() {
    local samples=() run line
    "$@" >/dev/null 2>&1 || true
    for ((run = 0; run < BENCH_RUNS; run++)); do
        line=$({ /usr/bin/time -f '%e %U %S %M' "$@" >/dev/null 2>/dev/null; } 2>&1 | tail -n 1)
        samples+=("$line")
    done
    printf '%s\n' "${samples[@]}" | awk '
        { wall[NR] = $1; cpu[NR] = $2 + $3; if ($4 > peak) peak = $4 }
        END {
            n = asort(wall, sorted)
            median = sorted[int((n + 1) / 2)]
            for (i = 1; i <= NR; i++) if (wall[i] == median) { c = cpu[i]; break }
            printf "%.4f %.4f %d\n", median, c, peak
        }'
}

# compare WORKLOAD PEER TARGET -- PEER_CMD... -- SHIPGATE_CMD...
# Measures both commands in this one run and appends a row to BENCH_OUT.
# TARGET is the issue's goal, as text (e.g. "<= 0.8x").
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
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
        "$workload" "$peer" "$peer_wall" "$ours_wall" "$target" "$ours_cpu" "$ours_peak" >>"$BENCH_OUT"
    printf '  %-45s %-12s peer %8ss  shipgate %8ss\n' "$workload" "$peer" "$peer_wall" "$ours_wall"
}

#!/usr/bin/env bash
# notify against apprise (PyPI `apprise`, installed into .tools/venv by
# `cargo xtask install-tools`): one message to 10 json:// targets on a local
# receiver (bench/notify/receiver.py). Then a check rather than a race:
# 1,000 targets through a receiver that answers every 10th request with 429
# and `Retry-After: 1`; every one must be accepted exactly once, in bounded
# time.
source "$(dirname "$0")/lib.sh"

here=$(cd "$(dirname "$0")" && pwd)
command -v apprise >/dev/null || {
    echo "notify bench: apprise is missing; install it with: .tools/venv/bin/pip install apprise" >&2
    exit 1
}
ours="$SHIPGATE_BIN_DIR/notify"

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# start_receiver ARGS... -> sets $port
start_receiver() {
    python3 "$here/notify/receiver.py" "$@" >"$work/port" &
    pids+=($!)
    for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.05; done
    port=$(head -n 1 "$work/port")
    [[ -n "$port" ]] || { echo "notify bench: the receiver did not start" >&2; exit 1; }
    : >"$work/port"
}

start_receiver
targets=()
for i in $(seq 10); do targets+=("json://127.0.0.1:$port/target$i"); done
our_args=()
for target in "${targets[@]}"; do our_args+=(--to "$target"); done

export BENCH_DATA="one message, 10 targets on a local receiver"
compare "one message to 10 json:// targets" apprise "<= 16 ms (>= 20x)" \
    -- apprise --title "Deploy succeeded" --body "shop 1.2.0 was deployed to production." "${targets[@]}" \
    -- "$ours" send --title "Deploy succeeded" --message "shop 1.2.0 was deployed to production." "${our_args[@]}"

# A message that touches no network: process start, config and rendering.
# The floor is printf in its own process, as the message's one write.
export BENCH_DATA="one message, stdout:// only"
compare "one message to stdout://" "printf (floor)" "<= 5 ms" \
    -- /usr/bin/printf '%s\n' "Deploy succeeded: shop 1.2.0 was deployed to production." \
    -- "$ours" send --title "Deploy succeeded" --message "shop 1.2.0 was deployed to production." --to stdout://

# 1,000 targets, every 10th request answered 429 + Retry-After: 1.
start_receiver --throttle-every 10
args=()
for i in $(seq 1000); do args+=(--to "json://127.0.0.1:$port/m$i"); done
started=$(date +%s.%N)
"$ours" send --title "burst" --message "one of many" "${args[@]}" >/dev/null 2>"$work/burst.log" || {
    echo "notify bench: the 429 burst failed:" >&2
    tail -n 20 "$work/burst.log" >&2
    exit 1
}
elapsed=$(echo "$(date +%s.%N) - $started" | bc)
stats=$(curl -sf "http://127.0.0.1:$port/stats")
python3 - "$stats" <<'PY'
import json, sys
stats = json.loads(sys.argv[1])
accepted = stats["accepted"]
wrong = {path: n for path, n in accepted.items() if n != 1}
missing = 1000 - len(accepted)
if wrong or missing:
    sys.exit(f"notify bench: not exactly once: {missing} missing, {len(wrong)} duplicated {list(wrong)[:5]}")
print(f"  1,000 messages, every 10th answered 429: all accepted exactly once ({stats['requests']} requests)")
PY
printf '  %-45s %ss (bounded: <= 10 s)\n' "1,000 messages through 429 + Retry-After: 1" "$elapsed"
awk -v t="$elapsed" 'BEGIN { exit !(t <= 10) }' || { echo "notify bench: the burst took ${elapsed}s" >&2; exit 1; }

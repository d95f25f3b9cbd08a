#!/usr/bin/env bash
# smoke-tester against hurl 8.0.1 (curl as the floor), all hitting the same
# local nginx that serves seed 000's /health JSON (`watch --prometheus` is
# bench/smoke-tester-prometheus.sh). Needs Debian's nginx and
# `cargo install hurl@8.0.1 --locked` (with libcurl4-openssl-dev,
# libxml2-dev and libclang-dev); `cargo xtask install-tools` installs them.
source "$(dirname "$0")/lib.sh"

for tool in nginx hurl curl; do
    command -v "$tool" >/dev/null || {
        echo "smoke-tester bench: $tool is missing; install it with: apt-get install nginx curl && cargo install hurl@8.0.1 --locked" >&2
        exit 1
    }
done

work=$(mktemp -d)
nginx_pid=""
cleanup() {
    if [[ -n "$nginx_pid" ]]; then kill "$nginx_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/logs"
sed -e "s|@PORT@|$port|g" -e "s|@WORK@|$work|g" "$(dirname "$0")/smoke-tester/nginx.conf" >"$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf "$base/health" >/dev/null && break; sleep 0.1; done
curl -sf "$base/health" >/dev/null || { echo "smoke-tester bench: nginx did not start" >&2; exit 1; }

ours="$SHIPGATE_BIN_DIR/smoke-tester"

# One check with two JSON asserts.
cat >"$work/one.hurl" <<HURL
GET $base/health
HTTP 200
[Asserts]
jsonpath "\$.status" == "healthy"
jsonpath "\$.database" == "connected"
HURL
export BENCH_DATA="seed 000's /health JSON from a local nginx"
compare "one check, two JSON asserts" "hurl 8.0.1" "<= hurl" \
    -- hurl --test "$work/one.hurl" \
    -- "$ours" check "$base/health" --retries 0 --jsonpath '$.status == "healthy"' --jsonpath '$.database == "connected"'
compare "one check, two JSON asserts" "curl (floor)" "-" \
    -- curl -sf "$base/health" \
    -- "$ours" check "$base/health" --retries 0 --jsonpath '$.status == "healthy"' --jsonpath '$.database == "connected"'

# The same check many times, as one hurl file per check / one [[check]] each.
checks_file() {
    local count=$1 out=$2
    {
        echo "[defaults]"
        echo "retries = 0"
        for ((i = 1; i <= count; i++)); do
            printf '[[check]]\nname = "health %d"\nurl = "%s/health"\nstatus = 200\n' "$i" "$base"
            printf '[[check.assert]]\njsonpath = "$.status"\nequals = "healthy"\n'
        done
    } >"$out"
}

mkdir -p "$work/parallel"
for ((i = 1; i <= 100; i++)); do cp "$work/one.hurl" "$work/parallel/$i.hurl"; done
checks_file 100 "$work/100.toml"
compare "100 checks in parallel" "hurl 8.0.1" "<= hurl" \
    -- hurl --test --parallel --jobs 100 "$work"/parallel/*.hurl \
    -- "$ours" run --checks "$work/100.toml" --concurrency 100

for ((i = 1; i <= 1000; i++)); do cat "$work/one.hurl"; echo; done >"$work/sequential.hurl"
checks_file 1000 "$work/1000.toml"
compare "1,000 sequential checks" "hurl 8.0.1" "<= 0.8x" \
    -- hurl --test "$work/sequential.hurl" \
    -- "$ours" run --checks "$work/1000.toml" --concurrency 1

# watch has no peer (k6 cannot window its thresholds); CPU and memory only.
read -r wall cpu peak < <(BENCH_RUNS=1 measure "$ours" watch "$base/health" --duration 60s --rate 200/s)
printf '  %-45s wall %ss, CPU %ss, peak %s KiB\n' "watch --duration 60s --rate 200/s" "$wall" "$cpu" "$peak"

#!/usr/bin/env bash
# One evaluation cycle of `smoke-tester watch --prometheus` (the error-rate
# and p95 PromQL queries, then the decision; process start included) against
# curl sending the same two queries to the same Prometheus. The Prometheus is
# a real one (Debian's `prometheus` 2.x) on a free port with a throwaway
# config, scraping the demo service's /metrics every second while the demo
# service (shipgate-testkit's, built as `demo-service`) serves steady traffic.
source "$(dirname "$0")/lib.sh"

for tool in prometheus curl python3; do
    command -v "$tool" >/dev/null || {
        echo "smoke-tester bench: $tool is missing; install it with: apt-get install prometheus curl python3" >&2
        exit 1
    }
done
ours="$SHIPGATE_BIN_DIR/smoke-tester"
demo="$SHIPGATE_BIN_DIR/demo-service"
[[ -x "$demo" ]] || { echo "smoke-tester bench: $demo is missing; build it with: cargo build --release -p shipgate-testkit --bin demo-service" >&2; exit 1; }
unset GITHUB_ACTIONS GITHUB_OUTPUT GITHUB_STEP_SUMMARY

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

"$demo" 20 >"$work/demo-url" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/demo-url" ]] && break; sleep 0.05; done
service=$(head -n 1 "$work/demo-url")
[[ -n "$service" ]] || { echo "smoke-tester bench: the demo service did not start" >&2; exit 1; }

prom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$work/prometheus"
cat >"$work/prometheus/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: shop
    static_configs:
      - targets: ['${service#http://}']
YAML
prometheus --config.file="$work/prometheus/prometheus.yml" --storage.tsdb.path="$work/prometheus/data" \
    --web.listen-address="127.0.0.1:$prom_port" --log.level=warn >"$work/prometheus/log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"

# The metric names are smoke-tester's defaults, which the demo service follows.
cycle=("$ours" watch --prometheus "$prom" --selector '{job="shop"}' --query-window 1m --duration 0s)
# Until a few scrapes have landed the queries have no rate() to give.
for _ in $(seq 150); do "${cycle[@]}" >/dev/null 2>&1 && break; sleep 0.2; done
"${cycle[@]}" >/dev/null || {
    echo "smoke-tester bench: watch --prometheus did not pass; Prometheus log:" >&2
    cat "$work/prometheus/log" >&2
    exit 1
}
error_query='(sum(rate(http_requests_total{job="shop",code=~"5.."}[1m])) or vector(0)) / sum(rate(http_requests_total{job="shop"}[1m]))'
p95_query='histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{job="shop"}[1m])))'
export BENCH_DATA="real Prometheus $(prometheus --version 2>&1 | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p') scraping the demo service every 1 s"
compare "prometheus evaluation cycle (2 queries + decision)" "curl (floor)" "-" \
    -- bash -c 'curl -sfG "$0/api/v1/query" --data-urlencode "query=$1" && curl -sfG "$0/api/v1/query" --data-urlencode "query=$2"' "$prom" "$error_query" "$p95_query" \
    -- "${cycle[@]}"

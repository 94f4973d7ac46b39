#!/usr/bin/env bash
# End-to-end replay benchmark: a generated stream through `abusewatch replay` with the default
# pack, beside a decode-only pass over the same file (the practical ceiling), in one run.
# usage: benchmarks/replay_bench.sh [BINARY]   env: EVENTS (3000000) ACCOUNTS (200000) RUNS (3)
set -euo pipefail
bin=${1:-build/abusewatch}
events=${EVENTS:-3000000}; accounts=${ACCOUNTS:-200000}; runs=${RUNS:-3}
cfg=${CONFIG:-config/abusewatch.yaml}
dir=${BENCH_DIR:-build/bench-data}; mkdir -p "$dir"
data="$dir/stream-$events-$accounts.jsonl"
[ -s "$data" ] || "$bin" gen --events "$events" --accounts "$accounts" --seed 7 --output "$data"
size=$(stat -c %s "$data")
cat "$data" > /dev/null  # warm the page cache
measure() {  # prints "seconds(user+sys) peak_rss_kb"
  /usr/bin/time -f "%U %S %M" "$@" 2>&1 >/dev/null | tail -1 | awk '{printf "%.2f %d\n", $1+$2, $3}'
}
echo "stream: $events events, $accounts accounts, $((size / 1048576)) MiB"
best_full=""; best_dec=""; rss_full=0; rss_dec=0
for i in $(seq "$runs"); do
  read -r t m < <(measure "$bin" replay --config "$cfg" --input "$data" --output /dev/null --decode-threads 0)
  if [ -z "$best_full" ] || awk "BEGIN{exit !($t < $best_full)}"; then best_full=$t; fi
  [ "$m" -gt "$rss_full" ] && rss_full=$m
  read -r t m < <(measure "$bin" replay --config "$cfg" --input "$data" --output /dev/null --decode-only)
  if [ -z "$best_dec" ] || awk "BEGIN{exit !($t < $best_dec)}"; then best_dec=$t; fi
  [ "$m" -gt "$rss_dec" ] && rss_dec=$m
done
awk -v n="$events" -v f="$best_full" -v d="$best_dec" -v rf="$rss_full" -v rd="$rss_dec" 'BEGIN{
  printf "full replay (default pack): %.2f s CPU, %.0f events/s, peak RSS %.0f MiB\n", f, n/f, rf/1024;
  printf "decode-only pass:           %.2f s CPU, %.0f events/s, peak RSS %.0f MiB\n", d, n/d, rd/1024;
  printf "full / decode-only throughput ratio: %.2f\n", d/f }'

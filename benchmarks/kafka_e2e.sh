#!/usr/bin/env bash
# End to end with a real Kafka broker, on one machine (see benchmarks/README.md):
#
#   benchmarks/kafka_e2e.sh [BUILD_DIR] [EVENTS]        (defaults: build, 2000000)
#
# 1. Starts a single-node Kafka (tests/kafka/kafka_broker.sh) in a temp dir; creates
#    bench-events (2 partitions) and bench-alerts.
# 2. Produces EVENTS generated events (`abusewatch gen --accounts 200000 --seed 7`) to
#    bench-events; reports the produce rate.
# 3. Throughput, RUNS times alternating (medians reported):
#      kcat -C to /dev/null (default settings, and with -X fetch.wait.max.ms=100),
#      kafka_tool consume (bare librdkafka consumer group, the daemon's consumer settings),
#      the daemon (legal pack, kafka source with a new group, file sink for all transitions,
#      dead_letter file, http on 127.0.0.1:0), timed by polling its /metrics every 50 ms until
#      sum(abusewatch_events_total) + sum(abusewatch_events_rejected_total) == EVENTS,
#      the same daemon with other source properties (AW_E2E_TUNED_PROPS; default librdkafka's
#      own queued.max.messages.kbytes, 64 MiB, against the source's 256 MiB),
#      the same daemon with `decode_threads: 1`,
#      `abusewatch replay` of the same stream from a file (the engine alone, one lane, one
#      thread; and again with one decode thread beside it),
#      and two daemons in one consumer group, one partition each (scale-out by partitions).
#    "raw" runs from the process start, "adjusted" from the first consumed event (group join
#    and first fetch excluded). The broker waits AW_E2E_GROUP_DELAY_MS (1000) before a new
#    group's first assignment, so raw times include it. Each consume-only and daemon pass also
#    logs the machine's busy CPU seconds (all cores, /proc/stat) and the broker JVM's.
# 4. Alert latency at a steady RATE events/s (benchmarks/latency_probe): event appended to
#    Kafka → webhook POST received, p50/p99, with the pack's allowed_lateness (30 s) and with
#    `allowed_lateness: 0s` and `1s` in the main config.
#
# Needs BUILD_DIR/abusewatch, BUILD_DIR/benchmarks/kafka_tool, BUILD_DIR/benchmarks/latency_probe,
# kcat, curl, java 17+. Environment: AW_E2E_RUNS (3), AW_E2E_RATE (50000), AW_E2E_LAT_SECONDS
# (30), AW_E2E_SKIP_THROUGHPUT=1, AW_E2E_SKIP_LATENCY=1, AW_E2E_KEEP=1 (keep the temp dir),
# AW_E2E_PERF=1 (one extra daemon run under `perf record -g`, report in the temp dir),
# AW_E2E_TUNED_PROPS (the second daemon row's source properties, YAML flow-map body),
# AW_E2E_GROUP_DELAY_MS (1000).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-build}"
if [[ ! -d "${BUILD}" && -d "${REPO}/${BUILD}" ]]; then BUILD="${REPO}/${BUILD}"; fi
BUILD="$(cd "${BUILD}" && pwd)"
EVENTS="${2:-2000000}"
RUNS="${AW_E2E_RUNS:-3}"
RATE="${AW_E2E_RATE:-50000}"
# Source properties of the second daemon row (librdkafka 2.0's default queued.min.messages,
# 100000, leaves a consumer slower than the fetcher waiting on the next fetch; see README).
DAEMON_EXTRA=""  # one more top-level config line for write_daemon_config
TUNED="${AW_E2E_TUNED_PROPS:-queued.max.messages.kbytes: \"65536\"}"
LAT_SECONDS="${AW_E2E_LAT_SECONDS:-30}"
AW="${BUILD}/abusewatch"
TOOL="${BUILD}/benchmarks/kafka_tool"
PROBE="${BUILD}/benchmarks/latency_probe"
BROKER_SH="${REPO}/tests/kafka/kafka_broker.sh"
PACK="${REPO}/config/packs/legal-cn-2019.yaml"

for f in "${AW}" "${TOOL}" "${PROBE}"; do
  [[ -x "${f}" ]] || { echo "kafka_e2e: missing ${f} (build it first)" >&2; exit 2; }
done
for c in kcat curl java; do
  command -v "${c}" >/dev/null || { echo "kafka_e2e: '${c}' not found" >&2; exit 2; }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/aw-kafka-e2e.XXXXXX")"
PIDS=()
cleanup() {
  local rc=$?
  set +e
  for p in "${PIDS[@]}"; do
    if kill -0 "${p}" 2>/dev/null; then
      kill -TERM "${p}" 2>/dev/null
      for _ in $(seq 1 50); do kill -0 "${p}" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "${p}" 2>/dev/null
    fi
  done
  [[ -d "${WORK}/broker" ]] && "${BROKER_SH}" stop "${WORK}/broker" >/dev/null 2>&1
  if [[ "${AW_E2E_KEEP:-0}" == 1 ]]; then
    echo "kafka_e2e: kept ${WORK}" >&2
  else
    rm -rf "${WORK}"
  fi
  exit "${rc}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ---- 1. broker and topics ----------------------------------------------------------------
log "starting Kafka in ${WORK}/broker"
# A new group's first assignment waits 1 s for more members, so that the two daemons of the
# scale-out pass (started together) share it instead of one taking both partitions first.
BOOT="$(AW_KAFKA_OWNER_PID=$$ AW_KAFKA_GROUP_DELAY_MS="${AW_E2E_GROUP_DELAY_MS:-1000}" \
  "${BROKER_SH}" start "${WORK}/broker" | sed -n 's/^bootstrap=//p')"
[[ -n "${BOOT}" ]] || { echo "kafka_e2e: broker did not start" >&2; exit 1; }
log "broker on ${BOOT}"
"${TOOL}" create-topic "${BOOT}" bench-events 2
"${TOOL}" create-topic "${BOOT}" bench-alerts 2

# Sum of the partitions' end offsets of a topic (= records in it; nothing is deleted).
topic_records() {
  kcat -C -b "${BOOT}" -t "$1" -o -1 -e -q -f '%o\n' 2>/dev/null | awk '{ s += $1 + 1 } END { print s + 0 }'
}

# ---- 2. produce --------------------------------------------------------------------------
log "producing ${EVENTS} events to bench-events"
t0="$(now)"
"${AW}" gen --events "${EVENTS}" --accounts 200000 --seed 7 --kafka-brokers "${BOOT}" \
  --topic bench-events >"${WORK}/gen.out" 2>"${WORK}/gen.err"
t1="$(now)"
PRODUCE_S="$(sub "${t1}" "${t0}")"
TOTAL="$(topic_records bench-events)"
log "produced in ${PRODUCE_S} s: $(rate "${EVENTS}" "${PRODUCE_S}") events/s; topic holds ${TOTAL} records"
if [[ "${TOTAL}" != "${EVENTS}" ]]; then
  log "WARNING: the topic holds ${TOTAL} records, not ${EVENTS}; the runs count ${TOTAL}"
fi
"${AW}" gen --events "${EVENTS}" --accounts 200000 --seed 7 --output "${WORK}/stream.jsonl" 2>/dev/null
printf 'version: 1\ninclude: [%s]\n' "${PACK}" >"${WORK}/replay.yaml"
PAYLOAD_MB="$(kcat -C -b "${BOOT}" -t bench-events -o beginning -e -q -f '%S\n' |
  awk '{ s += $1 } END { printf "%.1f", s / 1048576 }')"
log "payload ${PAYLOAD_MB} MiB ($(awk -v m="${PAYLOAD_MB}" -v n="${TOTAL}" 'BEGIN { printf "%.0f", m * 1048576 / n }') B/event)"

# ---- 3. throughput -----------------------------------------------------------------------
# Prints "raw_s adjusted_s" of one daemon run over bench-events with a new group.
metrics_count() {
  curl -s --max-time 2 "http://127.0.0.1:$1/metrics" |
    awk '/^abusewatch_events_(rejected_)?total[{ ]/ { s += $NF } END { printf "%.0f", s + 0 }'
}

write_daemon_config() { # FILE GROUP TOPIC LATENESS WEBHOOK_URL [SOURCE_PROPERTIES]
  {
    echo "version: 1"
    echo "include:"
    echo "  - ${PACK}"
    [[ -n "$4" ]] && echo "allowed_lateness: $4"
    echo "sources:"
    echo "  - type: kafka"
    echo "    brokers: \"${BOOT}\""
    echo "    group: $2"
    echo "    topics: [$3]"
    echo "    start: earliest"
    [[ -n "${6:-}" ]] && echo "    properties: {$6}"
    echo "sinks:"
    echo "  - {type: file, path: $(basename "$1" .yaml)-transitions.jsonl}"
    if [[ -n "$5" ]]; then
      echo "  - {type: webhook, url: \"$5\", secret: \"e2e-benchmark-secret-0123456789\"}"
    fi
    echo "dead_letter: {type: file, path: $(basename "$1" .yaml)-rejects.jsonl}"
    echo "http: {listen: \"127.0.0.1:0\"}"
    if [[ -n "${DAEMON_EXTRA}" ]]; then echo "${DAEMON_EXTRA}"; fi
  } >"$1"
}

start_daemon() { # CONFIG LOG -> sets DAEMON_PID, DAEMON_PORT
  "${AW}" run --config "$1" >"$2" 2>&1 &
  DAEMON_PID=$!
  PIDS+=("${DAEMON_PID}")
  DAEMON_PORT=""
  for _ in $(seq 1 400); do
    DAEMON_PORT="$(sed -n 's|.*serving /metrics.* on http://127.0.0.1:\([0-9]*\).*|\1|p' "$2" | head -n 1)"
    [[ -n "${DAEMON_PORT}" ]] && return 0
    kill -0 "${DAEMON_PID}" 2>/dev/null || break
    sleep 0.025
  done
  echo "kafka_e2e: the daemon did not start; log:" >&2
  cat "$2" >&2
  exit 1
}

stop_daemon() {
  kill -TERM "${DAEMON_PID}" 2>/dev/null || true
  wait "${DAEMON_PID}" 2>/dev/null || true
}

# CPU seconds (user+system) of a live process.
cpu_s() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"
}

# Busy CPU seconds of the whole machine so far (all cores: /proc/stat minus idle and iowait).
machine_busy_s() {
  awk -v hz="$(getconf CLK_TCK)" '/^cpu / { printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz }' /proc/stat
}
broker_cpu_s() { cpu_s "$(cat "${WORK}/broker/pid")"; }
# "busy B s, broker J s" spent between two snapshots "busy broker".
budget() { # BEFORE AFTER
  read -r b0 j0 <<<"$1"
  read -r b1 j1 <<<"$2"
  echo "machine busy $(sub "${b1}" "${b0}") CPU s, broker JVM $(sub "${j1}" "${j0}") CPU s"
}
snap() { echo "$(machine_busy_s) $(broker_cpu_s)"; }

# Polls the /metrics of the daemons (WAIT_PIDS, WAIT_PORTS, WAIT_LOGS: arrays of the same
# length) every 50 ms until their counts add up to TOTAL; exits with a daemon's log if one
# dies. BEFORE is a snap() taken before they started. -> sets T_FIRST (first count > 0), T_END,
# R_BUDGET
await_total() { # BEFORE
  local k n m
  T_FIRST=""
  while :; do
    n=0
    for k in "${!WAIT_PORTS[@]}"; do
      m="$(metrics_count "${WAIT_PORTS[${k}]}")"
      n=$((n + ${m:-0}))
    done
    if [[ -z "${T_FIRST}" && "${n}" -gt 0 ]]; then T_FIRST="$(now)"; fi
    if [[ "${n}" -ge "${TOTAL}" ]]; then
      T_END="$(now)"
      R_BUDGET="$(budget "$1" "$(snap)")"
      return 0
    fi
    for k in "${!WAIT_PIDS[@]}"; do
      kill -0 "${WAIT_PIDS[${k}]}" 2>/dev/null || { cat "${WAIT_LOGS[${k}]}" >&2; exit 1; }
    done
    sleep 0.05
  done
}

daemon_run() { # NAME [perf|""] [SOURCE_PROPERTIES] -> sets R_RAW R_ADJ R_CPU R_BUDGET
  local name="$1" cfg="${WORK}/$1.yaml" t_start s_start
  write_daemon_config "${cfg}" "e2e-$1" bench-events "" "" "${3:-}"
  s_start="$(snap)"
  t_start="$(now)"
  start_daemon "${cfg}" "${WORK}/$1.log"
  local perf_pid=""
  if [[ "${2:-}" == perf ]]; then
    perf record -g -p "${DAEMON_PID}" -o "${WORK}/perf.data" >"${WORK}/perf.log" 2>&1 &
    perf_pid=$!
    PIDS+=("${perf_pid}")
  fi
  local -a WAIT_PIDS=("${DAEMON_PID}") WAIT_PORTS=("${DAEMON_PORT}") WAIT_LOGS=("${WORK}/$1.log")
  await_total "${s_start}"
  local cpu
  cpu="$(cpu_s "${DAEMON_PID}")"
  curl -s "http://127.0.0.1:${DAEMON_PORT}/metrics" >"${WORK}/$1.metrics"
  if [[ -n "${perf_pid}" ]]; then
    kill -INT "${perf_pid}" 2>/dev/null || true
    wait "${perf_pid}" 2>/dev/null || true
  fi
  stop_daemon
  R_RAW="$(sub "${T_END}" "${t_start}")" R_ADJ="$(sub "${T_END}" "${T_FIRST}")" R_CPU="${cpu}"
}

# Two daemons in one consumer group, one partition each (spec/daemon.md: instances scale out
# by partitions); adjusted time from the first event either counted to the sum reaching TOTAL.
# -> sets R_ADJ R_BUDGET R_SPLIT ("1+1" when each got one partition and kept it).
scaleout_run() { # NAME
  local name="$1" k s_start
  local -a WAIT_PIDS=() WAIT_PORTS=() WAIT_LOGS=()
  for k in 1 2; do
    write_daemon_config "${WORK}/${name}-${k}.yaml" "e2e-${name}" bench-events "" ""
  done
  s_start="$(snap)"
  for k in 1 2; do
    start_daemon "${WORK}/${name}-${k}.yaml" "${WORK}/${name}-${k}.log"
    WAIT_PIDS+=("${DAEMON_PID}") WAIT_PORTS+=("${DAEMON_PORT}") WAIT_LOGS+=("${WORK}/${name}-${k}.log")
  done
  await_total "${s_start}"
  R_SPLIT="$(grep -c ' assigned$' "${WAIT_LOGS[0]}")+$(grep -c ' assigned$' "${WAIT_LOGS[1]}")"
  for k in 0 1; do
    DAEMON_PID="${WAIT_PIDS[${k}]}"
    stop_daemon
  done
  R_ADJ="$(sub "${T_END}" "${T_FIRST}")"
}

if [[ "${AW_E2E_SKIP_THROUGHPUT:-0}" != 1 ]]; then
  K_RAW=() K_FW=() T_RAW=() T_ADJ=() T_JOIN=() D_RAW=() D_ADJ=() D_CPU=() Q_RAW=() Q_ADJ=() Q_CPU=() W_ADJ=() W_CPU=() P_RAW=() P1_RAW=() S_ADJ=()
  for i in $(seq 1 "${RUNS}"); do
    t0="$(now)"
    kcat -C -b "${BOOT}" -t bench-events -o beginning -e -q >/dev/null
    K_RAW+=("$(sub "$(now)" "${t0}")")
    t0="$(now)"
    kcat -C -b "${BOOT}" -t bench-events -o beginning -e -q -X fetch.wait.max.ms=100 >/dev/null
    K_FW+=("$(sub "$(now)" "${t0}")")
    s0="$(snap)"
    out="$("${TOOL}" consume "${BOOT}" bench-events "${TOTAL}" "e2e-consume-${i}" 100)"
    log "run ${i}: consume-only used $(budget "${s0}" "$(snap)")"
    echo "${out}" >"${WORK}/consume-${i}.out"
    T_RAW+=("$(sed -n 's/.*total_s=\([0-9.]*\).*/\1/p' <<<"${out}")")
    T_ADJ+=("$(sed -n 's/.*first_to_last_s=\([0-9.]*\).*/\1/p' <<<"${out}")")
    T_JOIN+=("$(sed -n 's/.*join_s=\([0-9.]*\).*/\1/p' <<<"${out}")")
    daemon_run "daemon-${i}"
    log "run ${i}: daemon used ${R_BUDGET}"
    D_RAW+=("${R_RAW}") D_ADJ+=("${R_ADJ}") D_CPU+=("${R_CPU}")
    log "run ${i}: kcat ${K_RAW[-1]} s, kcat fw100 ${K_FW[-1]} s, consume-only ${T_RAW[-1]} s (adj ${T_ADJ[-1]} s), daemon ${R_RAW} s (adj ${R_ADJ} s, ${R_CPU} CPU s)"
    t0="$(now)"
    "${AW}" replay --config "${WORK}/replay.yaml" --input "${WORK}/stream.jsonl" --decode-threads 0 \
      --output "${WORK}/replay-transitions.jsonl" --rejects "${WORK}/replay-rejects.jsonl" 2>/dev/null
    P_RAW+=("$(sub "$(now)" "${t0}")")
    t0="$(now)"
    "${AW}" replay --config "${WORK}/replay.yaml" --input "${WORK}/stream.jsonl" --decode-threads 1 \
      --output "${WORK}/replay-transitions-1.jsonl" --rejects "${WORK}/replay-rejects-1.jsonl" 2>/dev/null
    P1_RAW+=("$(sub "$(now)" "${t0}")")
    cmp -s "${WORK}/replay-transitions.jsonl" "${WORK}/replay-transitions-1.jsonl" ||
      { echo "replay with a decode thread wrote other transitions" >&2; exit 1; }
    daemon_run "daemon-tuned-${i}" "" "${TUNED}"
    Q_RAW+=("${R_RAW}") Q_ADJ+=("${R_ADJ}") Q_CPU+=("${R_CPU}")
    log "run ${i}: replay ${P_RAW[-1]} s; daemon with {${TUNED}} ${R_RAW} s (adj ${R_ADJ} s, ${R_CPU} CPU s)"
    DAEMON_EXTRA="decode_threads: 1"
    daemon_run "daemon-dt1-${i}"
    DAEMON_EXTRA=""
    W_ADJ+=("${R_ADJ}") W_CPU+=("${R_CPU}")
    log "run ${i}: daemon with decode_threads: 1: adj ${R_ADJ} s, ${R_CPU} CPU s"
    scaleout_run "scaleout-${i}"
    S_ADJ+=("${R_ADJ}")
    log "run ${i}: two daemons, one group: adj ${R_ADJ} s, partitions ${R_SPLIT}, used ${R_BUDGET}"
  done
  mk=$(median "${K_RAW[@]}") mf=$(median "${K_FW[@]}") mtr=$(median "${T_RAW[@]}")
  mta=$(median "${T_ADJ[@]}") mdr=$(median "${D_RAW[@]}") mda=$(median "${D_ADJ[@]}")
  mdc=$(median "${D_CPU[@]}") mtj=$(median "${T_JOIN[@]}")
  mpr=$(median "${P_RAW[@]}") mqr=$(median "${Q_RAW[@]}") mqa=$(median "${Q_ADJ[@]}") mqc=$(median "${Q_CPU[@]}")
  mwa=$(median "${W_ADJ[@]}") mwc=$(median "${W_CPU[@]}")
  echo
  echo "== throughput: ${TOTAL} events (${PAYLOAD_MB} MiB), median of ${RUNS} =="
  printf '%-44s %10s %12s\n' "pass" "seconds" "events/s"
  printf '%-44s %10s %12s\n' "produce (abusewatch gen --kafka-brokers)" "${PRODUCE_S}" "$(rate "${TOTAL}" "${PRODUCE_S}")"
  printf '%-44s %10s %12s\n' "kcat -C > /dev/null (raw)" "${mk}" "$(rate "${TOTAL}" "${mk}")"
  printf '%-44s %10s %12s\n' "kcat -C -X fetch.wait.max.ms=100 (raw)" "${mf}" "$(rate "${TOTAL}" "${mf}")"
  printf '%-44s %10s %12s\n' "consume-only librdkafka group (raw)" "${mtr}" "$(rate "${TOTAL}" "${mtr}")"
  printf '%-44s %10s %12s\n' "consume-only librdkafka group (first→last)" "${mta}" "$(rate "${TOTAL}" "${mta}")"
  printf '%-44s %10s %12s\n' "daemon (raw, process start→all counted)" "${mdr}" "$(rate "${TOTAL}" "${mdr}")"
  printf '%-44s %10s %12s\n' "daemon (adjusted, first→all counted)" "${mda}" "$(rate "${TOTAL}" "${mda}")"
  printf '%-44s %10s %12s\n' "daemon, source {${TUNED}} (raw)" "${mqr}" "$(rate "${TOTAL}" "${mqr}")"
  printf '%-44s %10s %12s\n' "daemon, source {${TUNED}} (adjusted)" "${mqa}" "$(rate "${TOTAL}" "${mqa}")"
  printf '%-44s %10s %12s\n' "daemon, decode_threads: 1 (adjusted)" "${mwa}" "$(rate "${TOTAL}" "${mwa}")"
  msa=$(median "${S_ADJ[@]}")
  printf '%-44s %10s %12s\n' "two daemons, one group (adjusted)" "${msa}" "$(rate "${TOTAL}" "${msa}")"
  printf '%-44s %10s %12s\n' "abusewatch replay of the same stream (file)" "${mpr}" "$(rate "${TOTAL}" "${mpr}")"
  mp1=$(median "${P1_RAW[@]}")
  printf '%-44s %10s %12s\n' "abusewatch replay, --decode-threads 1" "${mp1}" "$(rate "${TOTAL}" "${mp1}")"
  echo "consume-only group join (start → first message): ${mtj} s; daemon CPU (user+sys): ${mdc} s, tuned ${mqc} s, decode_threads 1 ${mwc} s"
  echo "ratio two daemons/consume-only (adjusted): $(awk -v a="${mta}" -v b="${msa}" 'BEGIN { printf "%.2f", a / b }')"
  echo "ratio daemon/consume-only: adjusted $(awk -v a="${mta}" -v b="${mda}" 'BEGIN { printf "%.2f", a / b }'), raw $(awk -v a="${mtr}" -v b="${mdr}" 'BEGIN { printf "%.2f", a / b }'); tuned adjusted $(awk -v a="${mta}" -v b="${mqa}" 'BEGIN { printf "%.2f", a / b }'); decode_threads 1 adjusted $(awk -v a="${mta}" -v b="${mwa}" 'BEGIN { printf "%.2f", a / b }'); daemon raw / kcat raw $(awk -v a="${mk}" -v b="${mdr}" 'BEGIN { printf "%.2f", a / b }'), / kcat fw100 $(awk -v a="${mf}" -v b="${mdr}" 'BEGIN { printf "%.2f", a / b }')"
  echo "daemon processing (last run's /metrics):"
  grep -E '^abusewatch_event_processing_seconds_(sum|count)|^abusewatch_events_rejected_total' \
    "${WORK}/daemon-${RUNS}.metrics" | sed 's/^/  /' || true
  echo "transitions written by the last run: $(wc -l <"${WORK}/daemon-${RUNS}-transitions.jsonl"), dead letters: $(wc -l <"${WORK}/daemon-${RUNS}-rejects.jsonl")"
  if [[ "${AW_E2E_PERF:-0}" == 1 ]] && command -v perf >/dev/null; then
    daemon_run daemon-perf perf
    raw="${R_RAW}" adj="${R_ADJ}"
    perf report -i "${WORK}/perf.data" --no-children --sort dso,symbol --stdio -g none \
      --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' | cut -c1-140 |
      head -n 40 >"${WORK}/perf.txt" || true
    echo "perf run: ${raw} s raw, ${adj} s adjusted; top symbols (self):"
    sed -n '1,30p' "${WORK}/perf.txt" | sed 's/^/  /'
  fi
fi

# ---- 4. latency --------------------------------------------------------------------------
latency_run() { # LABEL LATENESS(empty = the pack's)
  local label="$1" topic="bench-lat-$1" cfg="${WORK}/lat-$1.yaml" drain
  "${TOOL}" create-topic "${BOOT}" "${topic}" 2
  # Long enough for the last probe to pass the watermark (lateness) plus slack.
  if [[ -z "$2" ]]; then drain=60; else drain=30; fi
  rm -f "${WORK}/lat-$1.port" "${WORK}/lat-$1.go"
  "${PROBE}" --brokers "${BOOT}" --topic "${topic}" --rate "${RATE}" --seconds "${LAT_SECONDS}" \
    --probe-ms 10 --accounts 200000 --warmup 3 --drain "${drain}" \
    --port-file "${WORK}/lat-$1.port" --go-file "${WORK}/lat-$1.go" \
    >"${WORK}/lat-$1.out" 2>"${WORK}/lat-$1.err" &
  local probe_pid=$!
  PIDS+=("${probe_pid}")
  for _ in $(seq 1 200); do [[ -s "${WORK}/lat-$1.port" ]] && break; sleep 0.05; done
  [[ -s "${WORK}/lat-$1.port" ]] || { cat "${WORK}/lat-$1.err" >&2; exit 1; }
  write_daemon_config "${cfg}" "e2e-lat-$1" "${topic}" "$2" \
    "http://127.0.0.1:$(cat "${WORK}/lat-$1.port")/hook"
  start_daemon "${cfg}" "${WORK}/lat-$1.log"
  # Both partitions assigned before the load starts.
  for _ in $(seq 1 600); do
    [[ "$(grep -c ') assigned' "${WORK}/lat-$1.log" || true)" -ge 2 ]] && break
    sleep 0.1
  done
  touch "${WORK}/lat-$1.go"
  local rc=0
  wait "${probe_pid}" || rc=$?
  local cpu
  cpu="$(cpu_s "${DAEMON_PID}")"
  curl -s "http://127.0.0.1:${DAEMON_PORT}/metrics" >"${WORK}/lat-$1.metrics"
  stop_daemon
  echo
  echo "== alert latency at ${RATE} events/s, allowed_lateness ${2:-30s (the pack)} (probe exit ${rc}, daemon CPU ${cpu} s) =="
  cat "${WORK}/lat-$1.out"
  grep -E '^abusewatch_alerts_sent_total\{result="ok"|^abusewatch_events_(rejected_)?total\{' \
    "${WORK}/lat-$1.metrics" | grep -v ' 0$' | sed 's/^/  /' || true
}

if [[ "${AW_E2E_SKIP_LATENCY:-0}" != 1 ]]; then
  log "latency with the pack's allowed_lateness (30 s)"
  latency_run pack ""
  log "latency with allowed_lateness: 0s"
  latency_run zero 0s
  # 0s rejects as late whatever arrives behind the other partition (see README): 1s keeps every
  # probe, and latency - 1 s is the pipeline.
  log "latency with allowed_lateness: 1s"
  latency_run one 1s
fi

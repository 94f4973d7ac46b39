#!/usr/bin/env bash
# The ctest run's shared Kafka broker (CTest fixture "kafka", see tests/CMakeLists.txt).
#
#   kafka_fixture.sh start DIR   a fresh broker under DIR for the tests of this ctest run; a
#                                watchdog stops it (and removes DIR) if ctest dies first
#   kafka_fixture.sh stop DIR    stops it and removes DIR
#
# Tests find it through AW_KAFKA_FIXTURE_DIR (DIR/bootstrap): SharedKafkaBroker() then borrows
# it instead of starting a broker of its own, which costs ~2.8 s and ~3.5 CPU-s to start and
# ~2 s to stop, per test process. "start" exits 0 even when the broker cannot start: the tests
# then start their own broker and each reports why that failed (e.g. Maven Central unreachable).
set -uo pipefail
readonly BROKER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kafka_broker.sh"
[[ $# -eq 2 && -n "$2" ]] || { echo "usage: $0 start|stop DIR" >&2; exit 2; }
dir="$2"
case "$1" in
  start)
    [[ -d "${dir}" ]] && bash "${BROKER}" stop "${dir}" >/dev/null 2>&1
    rm -rf "${dir}"
    mkdir -p "${dir}"
    # This script's parent is ctest: the broker lives as long as the ctest run.
    if ! AW_KAFKA_OWNER_PID="${PPID}" AW_KAFKA_OWNER_CLEANUP=1 bash "${BROKER}" start "${dir}"; then
      echo "kafka_fixture: no shared broker; each Kafka test starts its own" >&2
      bash "${BROKER}" stop "${dir}" >/dev/null 2>&1  # also removes DIR/bootstrap
    fi
    exit 0
    ;;
  stop)
    rc=0
    if [[ -d "${dir}" ]]; then
      bash "${BROKER}" stop "${dir}" || rc=$?
      rm -rf "${dir}"
    fi
    exit "${rc}"
    ;;
  *)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac

#!/bin/sh
# Browser test of the review page: starts review_demo_server, installs playwright-core (npm, once,
# into WORK/node) and drives headless Chromium (Debian package `chromium`) with review_page.mjs.
# Screenshots: WORK/screenshots/*.png.
#
#   run.sh DEMO_SERVER_BINARY WORK_DIR
#
# $AW_CHROMIUM overrides the browser binary. Without Chromium, node or npm: exit 77 (ctest: skipped) with a message -- or exit 1 when $CI
# is set, so CI cannot silently skip it.
set -eu
server_bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mkdir -p "$2"
work=$(cd "$2" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
chromium=${AW_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}

missing=""
[ -n "$chromium" ] && [ -x "$chromium" ] || missing="$missing chromium (apt-get install -y chromium)"
command -v node >/dev/null 2>&1 || missing="$missing node"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  if [ -n "${CI:-}" ]; then
    echo "review browser test: FAILED: missing:$missing (required when CI is set)" >&2
    exit 1
  fi
  echo "review browser test: SKIPPED: missing:$missing" >&2
  exit 77
fi

mkdir -p "$work/node" "$work/screenshots" "$work/server"
rm -f "$work/screenshots"/*.png "$work/server"/*
if [ ! -d "$work/node/node_modules/playwright-core" ]; then
  echo "installing playwright-core into $work/node" >&2
  (cd "$work/node" && npm install --no-audit --no-fund --silent playwright-core@1.65.1 >&2) || {
    if [ -n "${CI:-}" ]; then echo "review browser test: FAILED: npm install" >&2; exit 1; fi
    echo "review browser test: SKIPPED: npm install playwright-core failed (offline?)" >&2
    exit 77
  }
fi
cp "$here/review_page.mjs" "$work/node/review_page.mjs"

fifo="$work/server/stdin"
mkfifo "$fifo"
"$server_bin" "$work/server" <"$fifo" >"$work/server/out" 2>"$work/server/err" &
server_pid=$!
exec 3>"$fifo"  # keeps the server's stdin open; closing it stops the server
cleanup() {
  exec 3>&- || true
  wait "$server_pid" 2>/dev/null || true
}
trap cleanup EXIT

i=0
until grep -q '^ready$' "$work/server/out" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -gt 100 ] || ! kill -0 "$server_pid" 2>/dev/null; then
    echo "review_demo_server did not start:" >&2
    cat "$work/server/err" >&2
    exit 1
  fi
  sleep 0.1
done
port=$(sed -n 's/^port //p' "$work/server/out")
token=$(sed -n 's/^token reviewer //p' "$work/server/out")

cd "$work/node"
AW_SHOTS="$work/screenshots" AW_CHROMIUM="$chromium" \
  node review_page.mjs "http://127.0.0.1:$port" "$token"

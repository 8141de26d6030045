#!/usr/bin/env bash
# The picture of board.html in the README (docs/board.png), taken with
# Debian's headless Chromium (apt-get install chromium). The demo does not
# need it; run it by hand after `make demo` (SCALE=1):
#   bash examples/github/screenshot.sh [BOARD_HTML [PNG]]
# defaults: /tmp/evlog-demo/board.html, docs/board.png. Chromium runs in a
# fresh profile, offline (the page fetches nothing), without its sandbox so
# that it runs as root.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
html=${1:-${EVLOG_DEMO_DIR:-/tmp/evlog-demo}/board.html}
png=${2:-$SRC/docs/board.png}
command -v chromium >/dev/null || { echo "no chromium: apt-get install chromium" >&2; exit 1; }
[ -f "$html" ] || { echo "no $html: make demo first" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
mkdir -p "$(dirname "$png")"
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --hide-scrollbars --window-size=1280,420 \
  --screenshot="$png" "file://$(cd "$(dirname "$html")" && pwd)/$(basename "$html")" >/dev/null 2>&1
echo "$png: $(wc -c <"$png") bytes"

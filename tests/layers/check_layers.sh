#!/usr/bin/env bash
# The include graph of the source tree obeys cmake/layers.txt, and the front end does not load
# libtorch (its start-up would pay for torch's initialisers); no function body in src/ is over
# 120 lines; every blocking wait in src/ states its bound (scripts/check-waits).
set -euo pipefail
python3 "$CELLOT_SOURCE_DIR/scripts/check-layers"
python3 "$CELLOT_SOURCE_DIR/scripts/check-function-length"
python3 "$CELLOT_SOURCE_DIR/scripts/check-waits"
needed=$(readelf -d "$CELLOT_BIN" | grep NEEDED || true)
if grep -qE 'libtorch|libc10' <<<"$needed"; then
  echo "FAIL: $CELLOT_BIN needs libtorch:" >&2
  grep -E 'libtorch|libc10' <<<"$needed" >&2
  exit 1
fi
torch_bin="$(dirname "$CELLOT_BIN")/cellot-torch"
readelf -d "$torch_bin" | grep -qE 'NEEDED.*libtorch' || { echo "FAIL: $torch_bin does not link libtorch" >&2; exit 1; }
echo "ok: the front end links no torch; cellot-torch does"

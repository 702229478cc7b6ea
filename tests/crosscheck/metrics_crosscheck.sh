#!/usr/bin/env bash
# Cross-checks of the metric kernels (see metrics_crosscheck.py). Runs from the build directory.
set -euo pipefail
tool="$PWD/tests/metrics_tool"
[[ -x "$tool" ]] || { echo "metrics_tool not built: $tool" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "${CELLOT_PYTHON:-/usr/bin/python3}" \
  "$CELLOT_SOURCE_DIR/tests/crosscheck/metrics_crosscheck.py" "$tool" "$work"

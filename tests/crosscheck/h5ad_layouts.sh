#!/usr/bin/env bash
# Every anndata layout (0.6 fixed/vlen, 0.7, 0.8, 0.11's nullable strings) read by cellot as by
# anndata (see h5ad_layouts.py).
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
tool="${CELLOT_H5AD_TOOL:-$PWD/tests/h5ad_tool}"
[ -x "$tool" ] || { echo "FAIL: h5ad_tool not built at $tool" >&2; exit 1; }
work="$(mktemp -d /tmp/cellot-h5ad-layouts.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$py" "$src/tests/crosscheck/h5ad_layouts.py" --tool "$tool" --cellot "$bin" --work "$work"

#!/usr/bin/env bash
# .h5ad files written by cellot open in python anndata unchanged, and files written by anndata
# read the same in cellot (see h5ad_check.py for the list of checks).
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
tool="${CELLOT_H5AD_TOOL:-$PWD/tests/h5ad_tool}"
[ -x "$tool" ] || { echo "FAIL: h5ad_tool not built at $tool" >&2; exit 1; }
work="$(mktemp -d /tmp/cellot-h5ad-xcheck.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$py" "$src/tests/crosscheck/h5ad_check.py" --tool "$tool" --cellot "$bin" --work "$work"

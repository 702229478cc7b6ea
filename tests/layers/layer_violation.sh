#!/usr/bin/env bash
# Builds the probes of tests/layers/layers.cmake: each forbidden include must fail to build with
# "No such file or directory" naming the forbidden header; the allowed control must build.
set -uo pipefail
build_dir=$(pwd)
fail=0
expect_violation() {  # target header
  local out
  if out=$("$CELLOT_CMAKE" --build "$build_dir" --target "$1" 2>&1); then
    echo "FAIL: $1 built although it includes $2 across a forbidden edge" >&2
    fail=1
  elif ! grep -q "$2: No such file or directory" <<<"$out"; then
    echo "FAIL: $1 failed, but not for the forbidden include $2:" >&2
    tail -20 <<<"$out" >&2
    fail=1
  else
    echo "ok: $1 does not build ($2: No such file or directory)"
  fi
}
expect_violation layer_probe_metrics_uses_models cellot/models/model.hpp
expect_violation layer_probe_io_uses_screen cellot/screen/plan.hpp
expect_violation layer_probe_report_uses_nn cellot/nn/threads.hpp
expect_violation layer_probe_screen_uses_models cellot/models/model.hpp
if out=$("$CELLOT_CMAKE" --build "$build_dir" --target layer_probe_metrics_allowed 2>&1); then
  echo "ok: layer_probe_metrics_allowed builds (the control)"
else
  echo "FAIL: the control probe does not build:" >&2
  tail -20 <<<"$out" >&2
  fail=1
fi
exit $fail

#!/usr/bin/env bash
# scripts/bench and the bench/ drivers: the block writer replaces exactly one marked block and
# refuses a document without (or with doubled) markers; unknown benchmark names and a missing
# reference trainer are one-line errors (exit 2); no driver hard-codes an absolute path; the
# trainer driver writes its table (when the reference and torch are present).
set -euo pipefail
src="${CELLOT_SOURCE_DIR:?}"
build="$(cd "$(dirname "${CELLOT_BIN:?}")/.." && pwd)"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-bench-e2e.XXXXXX)"
trap 'rm -rf "$work"' EXIT
failed=0
fail() { echo "FAIL: $*" >&2; failed=1; }

# 1. The block writer.
cat >"$work/doc.md" <<'MD'
# Title
prose before
<!-- bench:alpha begin (written by scripts/bench; edits inside are overwritten) -->
old alpha
<!-- bench:alpha end -->
between
<!-- bench:beta begin (written by scripts/bench; edits inside are overwritten) -->
old beta
<!-- bench:beta end -->
prose after
MD
printf '| a | b |\n|---|---|\n| 1 | 2 |\n\n' >"$work/table"
"$py" "$src/bench/write_tables.py" --doc "$work/doc.md" --name alpha --table "$work/table" --header "HEADER LINE"
cat >"$work/want.md" <<'MD'
# Title
prose before
<!-- bench:alpha begin (written by scripts/bench; edits inside are overwritten) -->
HEADER LINE

| a | b |
|---|---|
| 1 | 2 |
<!-- bench:alpha end -->
between
<!-- bench:beta begin (written by scripts/bench; edits inside are overwritten) -->
old beta
<!-- bench:beta end -->
prose after
MD
diff -u "$work/want.md" "$work/doc.md" || fail "write_tables: unexpected document"
# Writing again replaces the block (no growth).
"$py" "$src/bench/write_tables.py" --doc "$work/doc.md" --name alpha --table "$work/table" --header "HEADER LINE"
diff -q "$work/want.md" "$work/doc.md" >/dev/null || fail "write_tables: a second write changed the document"

expect_refusal() {  # what, needle, command...
  local what="$1" needle="$2" rc=0
  shift 2
  "$@" >"$work/out" 2>"$work/err" || rc=$?
  [ "$rc" -eq 2 ] || fail "$what: exit $rc (want 2): $(cat "$work/err")"
  [ "$(wc -l <"$work/err")" -eq 1 ] || fail "$what: want one line on stderr: $(cat "$work/err")"
  grep -qF -- "$needle" "$work/err" || fail "$what: stderr lacks '$needle': $(cat "$work/err")"
}
cp "$work/doc.md" "$work/before.md"
expect_refusal "missing marker" "benchmark 'gamma'" \
  "$py" "$src/bench/write_tables.py" --doc "$work/doc.md" --name gamma --table "$work/table" --header H
printf '<!-- bench:beta begin -->\n<!-- bench:beta end -->\n' >>"$work/doc.md"
cp "$work/doc.md" "$work/before.md"
expect_refusal "doubled marker" "found 2 begin, 2 end" \
  "$py" "$src/bench/write_tables.py" --doc "$work/doc.md" --name beta --table "$work/table" --header H
diff -q "$work/before.md" "$work/doc.md" >/dev/null || fail "a refused write changed the document"

# 2. scripts/bench refuses unknown names and options before installing or building anything.
expect_refusal "unknown benchmark" "unknown benchmark 'nosuch'" "$src/scripts/bench" --no-install nosuch
expect_refusal "unknown option" "unknown option --fast" "$src/scripts/bench" --fast
expect_refusal "missing doc" "no such file" "$src/scripts/bench" --no-install --doc "$work/none.md" trainer

# 3. The reference trainer is looked up relative to the repository; a missing one is named.
expect_refusal "missing reference" "$work/none/ref_cellot.py is absent" \
  env REF="$work/none/ref_cellot.py" bash "$src/bench/trainer.sh" "$build" 2 1

# 4. No absolute paths of this machine in the drivers.
if grep -nE '/work/|/home/|/root/' "$src"/bench/*.sh "$src"/bench/*.py "$src/scripts/bench"; then
  fail "bench/ drivers hard-code an absolute path (above)"
fi

# 5. The trainer driver end to end (tiny), when the reference and torch are there.
ref="$src/../shared/reference/ref_cellot.py"
if [ -f "$ref" ] && "$py" -c "import torch" 2>/dev/null; then
  PEAK=0 BENCH_TABLE="$work/trainer.md" bash "$src/bench/trainer.sh" "$build" 2 1 >"$work/trainer.log" 2>&1 ||
    fail "trainer.sh failed: $(tail -5 "$work/trainer.log")"
  grep -qE '^\| \*\*ratio ours / reference\*\* \| \*\*[0-9.]+\*\*' "$work/trainer.md" ||
    fail "trainer.sh table lacks the ratio row: $(cat "$work/trainer.md")"
  grep -qE '^\| achieved \| [0-9.]+ GFLOP/s \|$' "$work/trainer.md" || fail "trainer.sh table lacks the GEMM rate"
else
  echo "note: reference trainer or python3-torch absent: trainer driver run skipped (scripts/setup --bench)"
fi

# 6. The Table 1 driver end to end on a reduced screen (one drug, one seed, every model).
if KEEP="$work/kept" BENCH_TABLE="$work/table1.md" bash "$src/bench/table1.sh" "$build" 2 --data.perturbations Imatinib \
  --screen.seeds 0 --training.iters 40 --training.eval_every 10 --training.epochs 2 \
  --metrics.names mmd,uvp >"$work/table1.log" 2>&1; then
  for model in cellot scgen cae identity observed mean_shift; do
    grep -qE "^\| $model \| 1 of 1 \| [0-9.]+ s \|" "$work/table1.md" || fail "table1.sh: no done row for $model"
  done
  grep -qE '^\| cellot \|.*\| step 40–40, mean 40 \|' "$work/table1.md" || fail "table1.sh: cellot's iterations"
  grep -qE '^\*\*Wall time [0-9]+ min [0-9]+ s\*\* \(6 tasks, 2 ranks' "$work/table1.md" ||
    fail "table1.sh: no wall-time line: $(cat "$work/table1.md")"
  [ -s "$work/kept/t1.h5" ] && [ -s "$work/kept/screen.log" ] || fail "table1.sh: KEEP did not keep the store and log"
  # The ETA replay on the kept store and log: the printed ETA's row and one row per weight.
  "$py" "$src/bench/eta_replay.py" "$work/kept/t1.h5" "$work/kept/screen.log" 1 0.15 >"$work/eta.md" ||
    fail "eta_replay.py failed"
  for row in "printed by the screen" "replayed, autoencoder cost x 1" "replayed, autoencoder cost x 0.15"; do
    grep -qE "^\| $row \| [0-9]+% \| " "$work/eta.md" || fail "eta_replay.py: no row '$row': $(cat "$work/eta.md")"
  done
else
  fail "table1.sh failed: $(tail -5 "$work/table1.log")"
fi

# 7. The patience sweep on the scrna preset (tiny): the PCA embedding, the replay's two tables,
#    and a refused preset.
if BENCH_TABLE="$work/patience.md" bash "$src/bench/patience_sweep.sh" "$build" 300 0 1,2 100 1 100 scrna \
  >"$work/patience.log" 2>&1; then
  [ "$(grep -cE '^\| drug_00[0-3]\\\|cellot\\\|fold0\\\|seed0 \| 300, ' "$work/patience.md")" -eq 4 ] ||
    fail "patience_sweep.sh scrna: not one row per perturbation: $(cat "$work/patience.md")"
  grep -qE '^\| 2 \| [0-9.]+% \| [0-4] of 4 \|' "$work/patience.md" || fail "patience_sweep.sh scrna: no summary row"
  grep -q 'Full runs (scrna data)' "$work/patience.md" || fail "patience_sweep.sh scrna: no run line"
else
  fail "patience_sweep.sh scrna failed: $(tail -5 "$work/patience.log")"
fi
expect_refusal "unknown preset" "PRESET = 'nosuch'" bash "$src/bench/patience_sweep.sh" "$build" 300 0 1 100 1 100 nosuch

[ "$failed" -eq 0 ] && echo "bench scripts: all checks passed"
exit "$failed"

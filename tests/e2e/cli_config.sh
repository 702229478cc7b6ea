#!/usr/bin/env bash
# The option rules every subcommand shares (command_line.cpp): --help on each command (exit 0),
# the command line overriding the config file key by key, unknown keys (file or command line)
# and bad values refused with exit 2 and one line naming where the value came from (the file or
# the command line, never the file for a command-line value), the key, and the value as typed.
set -euo pipefail
bin="${CELLOT_BIN:?}"
work="$(mktemp -d /tmp/cellot-cli-config.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
cd "$work"

# 1. --help on every subcommand listed by `cellot --help`.
"$bin" --help >top.txt
commands=$(sed -n '/^commands:/,$p' top.txt | awk 'NR > 1 && NF { print $1 }')
[ "$(wc -w <<<"$commands")" -ge 9 ] || fail "cellot --help lists: $commands"
for c in $commands; do
  rc=0
  "$bin" "$c" --help >help.txt 2>&1 || rc=$?
  [ $rc -eq 0 ] || { cat help.txt; fail "$c --help exited $rc"; }
  grep -q "^usage: \(mpiexec -n N \)\?cellot $c " help.txt || { cat help.txt; fail "$c --help has no usage line"; }
done

# 2. expect_2 WHAT EXACT_MESSAGE CMD...: exit 2 and exactly this one error line.
expect_2() {
  local what="$1" want="$2"
  shift 2
  local rc=0
  "$@" >out.txt 2>err.txt || rc=$?
  [ $rc -eq 2 ] || { cat err.txt; fail "$what: exit $rc, expected 2"; }
  [ "$(cat err.txt)" = "cellot: error: $want" ] || fail "$what: got '$(cat err.txt)', want 'cellot: error: $want'"
}
printf '[training]\niters = 5\nseed = 4\n' >ok.ini
printf '[training]\nitters = 5\n' >unknown.ini
printf '[training]\niters = abc  # not a number\n' >badvalue.ini
printf '[training]\nthreads = -1\n' >badrange.ini
printf '[training]\neval_every = 0\n' >badhyper.ini
t=(train --data none.h5ad --perturbation P --out m)
expect_2 "unknown key in the file" "unknown.ini: training.itters = '5': unknown config key" \
  "$bin" "${t[@]}" --config unknown.ini
expect_2 "unknown option" "command line: --training.itters = '': unknown option for 'cellot train'" \
  "$bin" "${t[@]}" --training.itters 5
expect_2 "bad value in the file (as written)" \
  "badvalue.ini: training.iters = 'abc': invalid value for this key (see cellot <command> --help for its type)" \
  "$bin" "${t[@]}" --config badvalue.ini
expect_2 "bad value on the command line (as typed)" "command line: --training.iters = '1e3': invalid value: expected an integer" \
  "$bin" "${t[@]}" --training.iters 1e3
expect_2 "bad boolean" "command line: --model.grid = 'maybe': invalid value: expected true or false (also yes|no, on|off, 1|0)" \
  "$bin" "${t[@]}" --model.grid=maybe
expect_2 "out of range in the file" "badrange.ini: training.threads = '-1': must be >= 0" \
  "$bin" "${t[@]}" --config badrange.ini
expect_2 "out of range on the command line beside --config" "command line: --training.threads = '-1': must be >= 0" \
  "$bin" "${t[@]}" --config ok.ini --training.threads -1
expect_2 "optional number on the command line" "command line: --training.lr = 'fast': not a number" \
  "$bin" "${t[@]}" --config ok.ini --training.lr fast
expect_2 "trainer hyperparameter in the file" "badhyper.ini: training.eval_every = '0': must be positive" \
  "$bin" "${t[@]}" --config badhyper.ini
expect_2 "trainer hyperparameter on the command line" "command line: --training.eval_every = '0': must be positive" \
  "$bin" "${t[@]}" --config ok.ini --training.eval_every 0
# A command-line value fixes what the file got wrong: the command line wins.
"$bin" screen --config badrange.ini --training.threads 2 --print-config >/dev/null \
  || fail "--training.threads 2 did not override the file's bad value"

# 3. The command line overrides the file key by key; keys only in the file keep its value.
"$bin" screen --config ok.ini --training.iters 9 --print-config >resolved.ini
grep -q "^iters = 9$" resolved.ini || fail "command line did not override: $(grep '^iters' resolved.ini)"
grep -q "^seed = 4$" resolved.ini || fail "file value lost: $(grep '^seed' resolved.ini)"
"$bin" screen --config ok.ini --print-config >file_only.ini
grep -q "^iters = 5$" file_only.ini || fail "file value not applied: $(grep '^iters' file_only.ini)"
grep -q "^inner_iters = 10$" file_only.ini || fail "default lost"
echo "cli_config e2e: ok"

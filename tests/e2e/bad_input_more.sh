#!/usr/bin/env bash
# Bad input beyond the h5ad files (issue 13; data_bad_input.sh has the h5ad/data cases, 28, and
# covers perturbation names with '|' or a line break): stores of a newer format or that are another
# HDF5 file, directories, empty and binary files where a file is expected, duplicated config keys,
# bad shards, options, numbers, model and metric names, read-only outputs, a full disk.
# 45 cases: 41 bad inputs, each exit 2 with exactly one stderr line naming the file (or "command
# line"), the key and the value, no HDF5 error stack, and no file in the work directory changed,
# added or removed (checksums of every file before and after); and 4 full-disk cases (root only,
# an 8 MiB tmpfs; skipped with the reason otherwise): exit 1 with one error line saying so, the
# existing store untouched / still resumable to the uninterrupted result once space is freed, a
# new store not left behind, not even as its temporary `.creating` file.
set -euo pipefail
bin="${CELLOT_BIN:?}"
src="${CELLOT_SOURCE_DIR:?}"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
work="$(mktemp -d /tmp/cellot-bad-more.XXXXXX)"
mnt=""
trap '[ -z "$mnt" ] || umount "$mnt" 2>/dev/null; chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
failed=0
cases=0
fail() { echo "FAIL: $*" >&2; failed=1; }
cd "$work"
snapshot() { find "$work" -path "$work/full" -prune -o -type f ! -name out ! -name err -print0 | sort -z | xargs -0 sha256sum; }

# expect_bad "description" "needle1|needle2|..." -- command...
expect_bad() {
  local what="$1" needles="$2"
  shift 3
  cases=$((cases + 1))
  local rc=0 before
  before="$(snapshot)"
  "$@" >out 2>err || rc=$?
  [ "$rc" -eq 2 ] || { fail "$what: exit $rc (want 2); stderr: $(cat err)"; return; }
  [ "$(wc -l <err)" -eq 1 ] || fail "$what: $(wc -l <err) lines on stderr (want 1): $(cat err)"
  ! grep -q "HDF5-DIAG" err || fail "$what: HDF5 error stack printed"
  local msg
  msg=$(grep '^cellot: error: ' err || true)
  [ -n "$msg" ] || fail "$what: no 'cellot: error:' line: $(cat err)"
  IFS='|' read -r -a parts <<<"$needles"
  for n in "${parts[@]}"; do
    [[ "$msg" == *"$n"* ]] || fail "$what: message lacks '$n': $msg"
  done
  [ "$(snapshot)" = "$before" ] || fail "$what: files in the work directory changed"
  echo "ok: $what -> $msg"
}

# ---- fixtures: data, a finished store, a store of format version 2, broken files ----
"$bin" synth --preset screen --perturbations 2 --features 8 --cells-scale 0.1 --seed 3 --out data.h5ad 2>/dev/null
# screen-tiny with the cheap models, reading data.h5ad (options given on the command line override
# it; an option given twice on the command line is itself bad input).
sed -e 's/^path = .*/path = data.h5ad/' -e 's/^models = .*/models = identity,mean_shift/' \
  "$src/configs/screen-tiny.ini" >tiny.ini
args=(screen --config tiny.ini --quiet)
"$bin" "${args[@]}" --store store.h5 2>/dev/null
"$bin" "${args[@]}" --store s0.h5 --shard 0/2 2>/dev/null
cp store.h5 v2.h5
"$py" -c "import h5py, sys; f = h5py.File(sys.argv[1], 'a'); f.attrs['format_version'] = 2; f.close()" v2.h5
head -c 30000 store.h5 >truncated.h5
mkdir adir
: >empty.h5
: >empty.ini
echo "not an HDF5 file" >text.h5
printf '[training]\niters = 5\niters = 6\n' >dup.ini
printf '[training]\nthis is not a key\n' >junk.ini
printf '[screen]\nwait_timeout = soon\n' >nan.ini
printf '[metrics]\nnames = mmd,mmd_fast\n' >metric.ini
key="$("$bin" inspect --store store.h5 | sed -n 's/^  \(drug_000|identity|[^ ]*\) .*/\1/p' | head -1)"
[ -n "$key" ] || fail "fixture: no task key in the store"

# ---- a store from a newer format version ----
expect_bad "inspect: store of a newer format" "v2.h5|format_version = '2'|newer cellot" -- "$bin" inspect --store v2.h5
expect_bad "report: store of a newer format" "v2.h5|format_version = '2'" -- "$bin" report --store v2.h5
expect_bad "merge: a shard of a newer format" "v2.h5|format_version = '2'" -- "$bin" merge --out merged.h5 v2.h5 s0.h5
expect_bad "screen --resume: store of a newer format" "v2.h5|format_version = '2'" -- \
  "$bin" "${args[@]}" --store v2.h5 --resume
# ---- a store that is really another HDF5 file (the h5ad) ----
expect_bad "inspect: an h5ad as the store" "data.h5ad|format = 'anndata'|not a cellot results store" -- \
  "$bin" inspect --store data.h5ad
expect_bad "report: an h5ad as the store" "data.h5ad|format = 'anndata'" -- "$bin" report --store data.h5ad
expect_bad "merge: an h5ad among the shards" "data.h5ad|format = 'anndata'" -- "$bin" merge --out merged.h5 s0.h5 data.h5ad
expect_bad "predict --store: an h5ad" "data.h5ad|format = 'anndata'" -- \
  "$bin" predict --store data.h5ad --task "$key" --out pred.h5ad
expect_bad "screen --resume: an h5ad as the store" "data.h5ad|format = 'anndata'" -- \
  "$bin" "${args[@]}" --store data.h5ad --resume
expect_bad "describe: a store as the data" "store.h5|format = 'cellot-store'|give it as --store" -- \
  "$bin" describe --data store.h5
# ---- broken store files ----
expect_bad "inspect: a truncated store" "truncated.h5|--store = 'truncated.h5'|truncated" -- "$bin" inspect --store truncated.h5
expect_bad "inspect: a directory as the store" "adir|--store = 'adir'|is a directory" -- "$bin" inspect --store adir
expect_bad "screen: a directory as the store" "command line|--store = 'adir'|is a directory" -- "$bin" "${args[@]}" --store adir
expect_bad "inspect: an empty file as the store" "empty.h5|--store = 'empty.h5'|empty file" -- "$bin" inspect --store empty.h5
expect_bad "report: a text file as the store" "text.h5|--store = 'text.h5'|not an HDF5 file" -- "$bin" report --store text.h5
expect_bad "screen --resume: a text file as the store" "text.h5|--store = 'text.h5'|not an HDF5 file" -- \
  "$bin" "${args[@]}" --store text.h5 --resume
# ---- config files ----
expect_bad "a key twice in the config file" "dup.ini|training.iters = '5'|more than once (again as '6')" -- \
  "$bin" screen --config dup.ini --data.path data.h5ad --store new.h5
expect_bad "a key twice on the command line" "command line|--training.iters = '5'|more than once (again as '6')" -- \
  "$bin" "${args[@]}" --training.iters 5 --training.iters=6 --store new.h5
expect_bad "a directory as the config" "adir|--config = 'adir'|is a directory" -- "$bin" screen --config adir --store new.h5
expect_bad "an empty config file" "empty.ini|--config = 'empty.ini'|is empty" -- "$bin" screen --config empty.ini --store new.h5
expect_bad "a binary file as the config" "data.h5ad|--config = 'data.h5ad'|binary file|\\x89HDF" -- \
  "$bin" screen --config data.h5ad --store new.h5
expect_bad "a config line that is not key = value" "junk.ini|line = 'this is not a key'|not a config line" -- \
  "$bin" screen --config junk.ini --store new.h5
# ---- the data file (non-h5ad content) ----
expect_bad "screen: a directory as the data" "adir|path = 'adir'|is a directory" -- \
  "$bin" "${args[@]}" --data.path adir --store new.h5
expect_bad "describe: an empty file as the data" "empty.h5|path = 'empty.h5'|not an HDF5 file" -- "$bin" describe --data empty.h5
expect_bad "describe: a text file as the data" "text.h5|path = 'text.h5'|not an HDF5 file" -- "$bin" describe --data text.h5
# ---- options and values ----
expect_bad "an unknown option" "command line|--shards = ''|unknown option for 'cellot screen'" -- \
  "$bin" "${args[@]}" --shards 2 --store new.h5
expect_bad "--shard 3/2" "command line|--shard = '3/2'|0 <= i < n" -- "$bin" "${args[@]}" --shard 3/2 --store new.h5
expect_bad "--shard 2/2" "command line|--shard = '2/2'|0 <= i < n" -- "$bin" "${args[@]}" --shard 2/2 --store new.h5
expect_bad "--shard 0/0" "command line|--shard = '0/0'|0 <= i < n" -- "$bin" "${args[@]}" --shard 0/0 --store new.h5
expect_bad "--shard half" "command line|--shard = 'half'|i/n" -- "$bin" "${args[@]}" --shard half --store new.h5
expect_bad "a number key that is not a number (file)" "nan.ini|screen.wait_timeout = 'soon'|invalid value" -- \
  "$bin" screen --config nan.ini --data.path data.h5ad --store new.h5
expect_bad "a negative batch size" "command line|--training.batch_size = '-5'|must be > 0" -- \
  "$bin" "${args[@]}" --training.batch_size -5 --store new.h5
expect_bad "a fraction out of range" "command line|--data.test_fraction = '1.5'|[0, 1)" -- \
  "$bin" "${args[@]}" --data.test_fraction 1.5 --store new.h5
expect_bad "an unknown model in the screen" "command line|--screen.models = 'gan'|must be one of" -- \
  "$bin" "${args[@]}" --screen.models identity,gan --store new.h5
expect_bad "an unknown model to train" "command line|= 'gan'|must be one of" -- \
  "$bin" train --data data.h5ad -p drug_000 --model gan --out model
expect_bad "an unknown metric (command line)" "command line|--metrics.names = 'mmd_fast'|unknown metric" -- \
  "$bin" "${args[@]}" --metrics.names mmd,mmd_fast --store new.h5
expect_bad "an unknown metric (config file)" "metric.ini|metrics.names = 'mmd_fast'|unknown metric" -- \
  "$bin" screen --config metric.ini --data.path data.h5ad --store new.h5
# ---- read-only outputs (root writes anywhere: run these as nobody then) ----
as_user=()
[ "$(id -u)" -ne 0 ] || as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
chmod 755 "$work"
chmod -R a+rX "$work"
mkdir ro rw
cp store.h5 ro/store.h5
cp store.h5 rw/store.h5
chmod 444 rw/store.h5
chmod 555 ro
[ "$(id -u)" -ne 0 ] || chown 65534:65534 rw
expect_bad "screen: a new store in a read-only directory" "--store = '$work/ro/new.h5'|not writable" -- \
  "${as_user[@]}" "$bin" "${args[@]}" --data.path "$work/data.h5ad" --store "$work/ro/new.h5"
expect_bad "screen --resume: a store in a read-only directory" "--store = '$work/ro/store.h5'|not writable" -- \
  "${as_user[@]}" "$bin" "${args[@]}" --data.path "$work/data.h5ad" --store "$work/ro/store.h5" --resume
expect_bad "screen --resume: a read-only store" "$work/rw/store.h5|--store|no write permission" -- \
  "${as_user[@]}" "$bin" "${args[@]}" --data.path "$work/data.h5ad" --store "$work/rw/store.h5" --resume
expect_bad "merge into a read-only directory" "--out = '$work/ro/merged.h5'|not writable" -- \
  "${as_user[@]}" "$bin" merge --out "$work/ro/merged.h5" "$work/s0.h5"

# --shard 0/2 is the first of two shards (0-based), not bad input.
[ "$("$bin" "${args[@]}" --shard 0/2 --count-tasks)" -gt 0 ] || fail "--shard 0/2 refused"

# ---- a full disk (an 8 MiB tmpfs: a store preallocates 2 MiB of run records; needs root) ----
full_disk() {
  local err="$1"
  [ "$(grep -c '^cellot: error: ' "$err")" -eq 1 ] || fail "full disk: not one error line: $(cat "$err")"
  tail -1 "$err" | grep -q "^cellot: error: .*No space left on device" || fail "full disk: last line: $(tail -1 "$err")"
  ! grep -q "HDF5-DIAG\|Segmentation\|signal\|infinite loop" "$err" || fail "full disk: library noise: $(cat "$err")"
}
fill() {  # fill KIB: leave KIB KiB free on the tmpfs
  rm -f "$mnt/filler"
  dd if=/dev/zero of="$mnt/filler" bs=4k 2>/dev/null || true
  [ "$1" -eq 0 ] || truncate -s "-$1K" "$mnt/filler"
}
if [ "$(id -u)" -ne 0 ]; then
  echo "skip: full disk (4 cases): mounting a small tmpfs needs root"
elif ! { mkdir full && mount -t tmpfs -o size=8m tmpfs full; }; then
  echo "skip: full disk (4 cases): cannot mount a tmpfs here"
else
  mnt="$work/full"
  cp data.h5ad "$mnt/"
  tiny=(screen --config "$src/configs/screen-tiny.ini" --data.path "$mnt/data.h5ad" --training.iters 60 --quiet)
  "$bin" screen --config "$src/configs/screen-tiny.ini" --data.path data.h5ad --training.iters 60 --quiet --store ref.h5 2>/dev/null
  rc=0
  "$bin" "${tiny[@]}" --store "$mnt/s.h5" --stop-after 3 2>/dev/null || rc=$?
  [ "$rc" -eq 1 ] || fail "full disk fixture: --stop-after 3 exited $rc"
  # 1. Full before the run: nothing can be written, not even the lease; the store is untouched.
  cases=$((cases + 1))
  fill 0
  sum="$(sha256sum <"$mnt/s.h5")"
  rc=0
  "$bin" "${tiny[@]}" --store "$mnt/s.h5" --resume >out 2>err || rc=$?
  [ "$rc" -eq 1 ] || fail "full disk at start: exit $rc (want 1): $(cat err)"
  full_disk err
  [ "$(sha256sum <"$mnt/s.h5")" = "$sum" ] || fail "full disk at start: the store changed"
  [ -z "$(find "$mnt" -name '*.lease*')" ] || fail "full disk at start: a lease file was left"
  echo "ok: full disk at start -> $(tail -1 err)"
  # 2. Full while a new store is created (8 KiB left: the lease fits; 1 MiB: the preallocated run
  # records are written short): exit 1 with one line giving the system's reason, and neither the
  # store nor its temporary `.creating` file is left behind.
  for kib in 8 1024; do
    cases=$((cases + 1))
    fill "$kib"
    rc=0
    "$bin" "${tiny[@]}" --store "$mnt/new.h5" >out 2>err || rc=$?
    [ "$rc" -eq 1 ] || fail "full disk at creation ($kib KiB free): exit $rc (want 1): $(cat err)"
    full_disk err
    [ ! -e "$mnt/new.h5.creating" ] || fail "full disk at creation ($kib KiB free): new.h5.creating was left"
    [ ! -e "$mnt/new.h5" ] || fail "full disk at creation ($kib KiB free): a store was left"
    echo "ok: full disk at creation ($kib KiB free) -> $(tail -1 err)"
    rm -f "$mnt"/new.h5*
  done
  # 3. Full during the run (8 KiB left: the lease fits, checkpoints and rows do not): exit 1 with
  # one line; once space is freed, --resume ends with the uninterrupted store.
  cases=$((cases + 1))
  fill 8
  rc=0
  "$bin" "${tiny[@]}" --store "$mnt/s.h5" --resume >out 2>err || rc=$?
  [ "$rc" -eq 1 ] || fail "full disk mid-run: exit $rc (want 1): $(cat err)"
  full_disk err
  grep -q "rerun with --resume" err || fail "full disk mid-run: no advice: $(tail -1 err)"
  echo "ok: full disk mid-run -> $(tail -1 err)"
  rm -f "$mnt/filler"
  "$bin" "${tiny[@]}" --store "$mnt/s.h5" --resume 2>err || fail "resume after freeing space: $(cat err)"
  "$py" "$src/tests/e2e/screen_compare.py" ref.h5 "$mnt/s.h5" || fail "full disk + resume differs from the uninterrupted run"
  echo "ok: full disk mid-run, space freed, --resume -> the uninterrupted store"
fi

[ "$cases" -ge 41 ] || fail "only $cases cases"
[ "$failed" -eq 0 ] || exit 1
echo "bad_input_more: all $cases cases passed"

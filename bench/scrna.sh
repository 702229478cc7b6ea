#!/usr/bin/env bash
# The large sparse screen (issue 14 item 4): a synthetic scRNA-seq file (`cellot synth --preset
# scrna --shuffle`: rows of a perturbation scattered over the file, as in files concatenated from
# plates) of CELLS cells x GENES genes and PERTURBATIONS perturbations, then, each as a whole
# process under /usr/bin/time -v (wall time, maximum resident set):
#   - `cellot describe --no-scan` (obs, var, matrices) and `cellot describe` (every value read);
#   - the plan (`cellot screen --count-tasks`: the data fingerprint and the plan);
#   - a screen of TASKS perturbations x the identity model on RANKS ranks with data.embedding =
#     pca:50, whose per-task load phase (/status/phase_time in the store: reading the task's
#     treated rows and embedding them) is the data load of a task; its log gives the PCA fit and
#     the control cells' embedding (each once per split, by all ranks together: no task reads
#     control rows).
# Targets: <= 1 s data load per task, <= 2 GB per rank.
# The file is kept in BUILD_DIR/bench-scrna/ and reused when it exists (its generation is timed
# once); it is about 6.5 GB at 1,000,000 x 2,000.
#
# usage: bench/scrna.sh [BUILD_DIR] [CELLS] [PERTURBATIONS] [GENES] [RANKS] [TASKS]
#        (defaults: build 1000000 200 2000 2 8)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
build="$(cd "${1:-$bench_root/build}" && pwd)"
cells="${2:-1000000}" perts="${3:-200}" genes="${4:-2000}" ranks="${5:-2}" tasks="${6:-8}"
bin="$build/bin/cellot"
py="${CELLOT_PYTHON:-/usr/bin/python3}"
[[ -x "$bin" ]] || { echo "scrna.sh: $bin not built" >&2; exit 2; }
for v in "$cells" "$perts" "$genes" "$ranks" "$tasks"; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "scrna.sh: '$v' must be a positive integer" >&2; exit 2; }
done
[ "$tasks" -le "$perts" ] || { echo "scrna.sh: TASKS $tasks > PERTURBATIONS $perts" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "scrna.sh: /usr/bin/time (GNU time) missing: scripts/setup --bench" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
dir="$build/bench-scrna"
mkdir -p "$dir"
data="$dir/scrna-${cells}x${genes}-p${perts}.h5ad"
work="$(mktemp -d /tmp/cellot-bench-scrna.XXXXXX)"
trap 'rm -rf "$work"' EXIT

# run NAME CMD...: runs CMD under GNU time; keeps wall seconds and max RSS (KiB) in $work/NAME.*
run() {
  local name=$1; shift
  /usr/bin/time -v -o "$work/$name.time" "$@" >"$work/$name.out" 2>"$work/$name.log" || {
    tail -5 "$work/$name.log" >&2; echo "scrna.sh: $name failed" >&2; exit 1; }
  awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; print s}' \
    "$work/$name.time" >"$work/$name.wall"
  awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time" >"$work/$name.rss"
  awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$work/$name.time" >"$work/$name.cpu"
}
wall() { cat "$work/$1.wall"; }
gib() { awk '{printf "%.2f GiB", $1 / 1048576}' "$work/$1.rss"; }

gen_note="reused $(basename "$data")"
if [ ! -f "$data" ]; then
  run synth "$bin" synth --preset scrna --cells "$cells" --perturbations "$perts" --genes "$genes" --shuffle \
    --seed 0 --out "$data"
  gen_note="generated in $(wall synth) s, max RSS $(gib synth)"
fi
size="$(du -BM "$data" | cut -f1)"

run describe_noscan "$bin" describe --data "$data" --no-scan --quiet
run describe "$bin" describe --data "$data" --quiet
list="$("$py" -c "
w, s = max(3, len(str($perts - 1))), max(1, $perts // $tasks)
print(','.join([f'drug_{k:0{w}d}' for k in range(0, $perts, s)][:$tasks]))")"
cfg=(--data.path "$data" --data.embedding pca:50 --data.perturbations "$list" --screen.models identity
     --screen.seeds 0 --screen.folds 1 --metrics.names mmd,l2_ds --training.threads 1)
run plan "$bin" screen --count-tasks "${cfg[@]}" --store "$work/s.h5"
run screen mpiexec -n "$ranks" "$bin" screen "${cfg[@]}" --store "$work/s.h5"

table="$("$py" - "$work" "$data" "$cells" "$genes" "$perts" "$ranks" "$tasks" "$size" "$gen_note" <<'PY'
import re, sys, datetime as dt
import h5py, numpy as np
work, data, cells, genes, perts, ranks, tasks, size, gen_note = sys.argv[1:]
wall = lambda n: float(open(f"{work}/{n}.wall").read())
rss = lambda n: int(open(f"{work}/{n}.rss").read()) / 1048576
with h5py.File(data, "r") as f:
    nnz = f["X/data"].shape[0]
with h5py.File(f"{work}/s.h5", "r") as s:
    names = [n.decode() if isinstance(n, bytes) else n for n in s["status"].attrs.get("phase_names", [])] or \
        ["load", "train", "predict", "metrics", "write"]
    phase = s["status/phase_time"][:]
    state = s["status/state"][:]
    load = phase[:, 0]
# PCA fit: the screen's own timing of it (once per split, all ranks together).
def seconds(text):
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:([\d.]+)s)?", text)
    return sum(float(g or 0) * k for g, k in zip(m.groups(), (3600, 60, 1))) if m else float("nan")
fit = re.findall(r"embedding pca:50 .*fitted in (\S+)(?: \(CPU (\S+) over)?", open(f"{work}/screen.log").read())
t_fit = seconds(fit[0][0]) if fit else float("nan")
cpu_fit = seconds(fit[0][1]) if fit and fit[0][1] else float("nan")
cpu = lambda n: float(open(f"{work}/{n}.cpu").read())
# The control cells embedded once per split by all ranks together (the screen's log line).
ctl = re.findall(r"([\d,]+) control cells embedded once for the screen by \d+ rank\(s\) in (\S+) \(CPU (\S+) over",
                 open(f"{work}/screen.log").read())
n_ctl = ctl[0][0] if ctl else "?"
t_ctl = seconds(ctl[0][1]) if ctl else float("nan")
cpu_ctl = seconds(ctl[0][2]) if ctl else float("nan")
# CPU of the load phase summed over the group roots (the screen's closing "cpu time" line).
m = re.search(r"cpu time, group roots' CPU .*? load ([\d.]+)s", open(f"{work}/screen.log").read())
load_cpu = float(m.group(1)) if m else float("nan")
order = np.sort(load)
print(f"| step ({int(cells):,} cells x {int(genes):,} genes, {int(perts)} perturbations, {nnz:,} non-zeros, {size}) | wall | CPU (user + sys) | max RSS | target |")
print("|---|---|---|---|---|")
print(f"| `cellot describe --no-scan` (obs, var, matrices) | {wall('describe_noscan'):.2f} s | {cpu('describe_noscan'):.2f} s | {rss('describe_noscan'):.2f} GiB | |")
print(f"| `cellot describe` (reads every value) | {wall('describe'):.2f} s | {cpu('describe'):.2f} s | {rss('describe'):.2f} GiB | |")
print(f"| plan: `cellot screen --count-tasks` (data fingerprint + plan) | {wall('plan'):.2f} s | {cpu('plan'):.2f} s | {rss('plan'):.2f} GiB | |")
print(f"| screen, {ranks} ranks, {tasks} tasks (identity, pca:50), whole job | {wall('screen'):.2f} s | {cpu('screen'):.2f} s | {rss('screen'):.2f} GiB per rank (max) | <= 2 GB per rank |")
print(f"| of it: PCA fit (all ranks together, once per split) | {t_fit:.2f} s | {cpu_fit:.2f} s (all ranks) | | |")
print(f"| of it: the {n_ctl} control cells embedded (all ranks together, once per split) | {t_ctl:.2f} s | {cpu_ctl:.2f} s (all ranks) | | |")
print(f"| of it: task data load, median of {len(load)} tasks | {np.median(load):.3f} s | {load_cpu / len(load):.3f} s (mean) | | <= 1 s |")
print(f"| of it: task data load, slowest (first tasks included: no task reads control rows) | {order[-1]:.3f} s | | | <= 1 s |")
print()
print(f"File: {gen_note}. Tasks done: {int((state == 2).sum())} of {len(state)}. Wall times on a shared machine: "
      f"compare CPU with wall (load average {open('/proc/loadavg').read().split()[0]} at the end).")
PY
)"
bench_table "$table"

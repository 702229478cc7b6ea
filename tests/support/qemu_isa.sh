# Sourced by the ISA tests (tests/crosscheck/*_isa.sh) after setting `name`: sets `qemu` (the
# qemu-x86_64 that emulates other CPUs) and `native_isa` (the clone this CPU selects), or exits
# 77 (ctest: skipped) where the comparison cannot run.
qemu="$(command -v qemu-x86_64 || true)"
if [[ -z "$qemu" ]]; then
  echo "$name: qemu-x86_64 not installed (apt-get install qemu-user); skipped" >&2
  exit 77
fi
[[ "$(uname -m)" == x86_64 ]] || { echo "$name: not an x86-64 host; skipped" >&2; exit 77; }
native_isa="baseline"
grep -qw avx2 /proc/cpuinfo && grep -qw fma /proc/cpuinfo && native_isa="x86-64-v3 (AVX2, FMA)"
grep -qw avx512f /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo && native_isa="x86-64-v4 (AVX-512)"
echo "native CPU selects the $native_isa clone"

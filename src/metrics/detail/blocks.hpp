#pragma once
// The block driver shared by the streaming kernels (internal).
#include <algorithm>
#include <vector>

#include "distributed.hpp"
#include "kernels.hpp"

namespace cellot::metrics::detail {

// Runs micro(op, slot, r0, c0) over this rank's row blocks (slot: index into `blocks`) x all column tiles (tiles j >= block when
// symmetric). League: row blocks; team threads: micro-kernel row groups (each group's rows are
// touched by one thread only, so the per-row accumulators need no atomics).
template <class Op, class Micro>
inline void run_blocks(const Op& op, const std::vector<std::int64_t>& blocks, bool symmetric, Micro micro) {
  if (blocks.empty()) return;
  IndexView blk("cellot::metrics::blocks", blocks.size());
  auto hb = Kokkos::create_mirror_view(blk);
  for (std::size_t k = 0; k < blocks.size(); ++k) hb(k) = blocks[k];
  Kokkos::deep_copy(blk, hb);
  const std::int64_t n_tiles = op.b.tiles();
  Kokkos::parallel_for(
      "cellot::metrics::pair_blocks", TeamPolicy(static_cast<int>(blocks.size()), Kokkos::AUTO),
      KOKKOS_LAMBDA(const Member& m) {
        const std::int64_t bi = blk(m.league_rank());
        for (std::int64_t tj = symmetric ? bi : 0; tj < n_tiles; ++tj)
          Kokkos::parallel_for(Kokkos::TeamThreadRange(m, kGroups),
                               [&](const int g) { micro(op, m.league_rank(), bi * kTile + g * kRows, tj * kTile); });
      });
  Kokkos::fence();
}

// Per-row outputs of this rank's blocks -> per-block partials -> global totals.
inline std::vector<double> block_totals(const OutView& out, std::int64_t n_rows, int n_out,
                                 const std::vector<std::int64_t>& blocks, std::int64_t n_blocks, MPI_Comm comm) {
  auto h = Kokkos::create_mirror_view_and_copy(Kokkos::HostSpace(), out);
  std::vector<double> partials(static_cast<std::size_t>(n_blocks * n_out), 0.0);
  for (const std::int64_t b : blocks)
    for (std::int64_t i = b * kTile; i < std::min(n_rows, (b + 1) * kTile); ++i)
      for (int o = 0; o < n_out; ++o) partials[static_cast<std::size_t>(b * n_out + o)] += h(i, o);
  return combine_block_partials(std::move(partials), n_out, comm);
}

}  // namespace cellot::metrics::detail

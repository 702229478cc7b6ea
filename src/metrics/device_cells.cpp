#include "detail/kernels.hpp"

namespace cellot::metrics::detail {

DeviceCells upload(const Matrix& m) {
  DeviceCells c;
  c.n = m.rows;
  c.d = m.cols;
  c.padded = (m.rows + kTile - 1) / kTile * kTile;
  if (c.padded == 0) c.padded = kTile;  // an empty set still has one (fully masked) tile
  c.x = CellView("cellot::metrics::cells", c.padded, c.d);  // zero-initialised: padding is 0
  c.sqnorm = VecView("cellot::metrics::sqnorm", c.padded);
  auto h = Kokkos::create_mirror_view(c.x);
  for (std::int64_t i = 0; i < m.rows; ++i)
    for (std::int64_t k = 0; k < m.cols; ++k) h(i, k) = m(i, k);
  Kokkos::deep_copy(c.x, h);
  const CellView x = c.x;
  const VecView sq = c.sqnorm;
  const std::int64_t d = c.d;
  Kokkos::parallel_for(
      "cellot::metrics::sqnorm", Kokkos::RangePolicy<ExecSpace>(0, c.padded), KOKKOS_LAMBDA(const std::int64_t i) {
        double s = 0;
        for (std::int64_t k = 0; k < d; ++k) s += x(i, k) * x(i, k);
        sq(i) = s;
      });
  Kokkos::fence();
  return c;
}

}  // namespace cellot::metrics::detail

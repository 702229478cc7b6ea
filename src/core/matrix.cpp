#include "cellot/core/matrix.hpp"

#include <algorithm>

#include "cellot/core/error.hpp"

namespace cellot {

Matrix Matrix::select_rows(const std::vector<std::int64_t>& idx) const {
  Matrix out(static_cast<std::int64_t>(idx.size()), cols);
  for (std::size_t k = 0; k < idx.size(); ++k) {
    CELLOT_CHECK(idx[k] >= 0 && idx[k] < rows, "row index out of range");
    std::copy_n(row(idx[k]), cols, out.row(static_cast<std::int64_t>(k)));
  }
  return out;
}

}  // namespace cellot

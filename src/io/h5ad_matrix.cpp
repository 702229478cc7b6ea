// Matrix elements of an .h5ad (X, raw/X, layers/<name>, obsm/<key>): a dense dataset or a
// sparse group, opened with its structure checked, read by rows.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "cellot/core/error.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io::detail {

using h5::check_id;
using h5::Handle;

namespace {

// Reads at most this many values per H5Dread when reading selected rows, so that a huge
// selection does not need a second full-size staging buffer.
constexpr std::size_t kMaxStagedValues = std::size_t{1} << 23;  // 64 MiB of doubles

// A half-open range [begin, end) of rows (dense) or elements (sparse data/indices).
struct Range {
  hsize_t begin, end;
};

// Merges sorted ranges whose gap is at most `max_gap`: reading a few unwanted rows is cheaper
// than one more piece of a selection (and keeps the hyperslab union short).
std::vector<Range> coalesce(const std::vector<Range>& sorted, hsize_t max_gap) {
  std::vector<Range> out;
  for (const Range& r : sorted) {
    if (r.end <= r.begin) continue;
    if (!out.empty() && r.begin <= out.back().end + max_gap)
      out.back().end = std::max(out.back().end, r.end);
    else
      out.push_back(r);
  }
  return out;
}

// Ranges per union selection: HDF5 (1.10) builds a union of n hyperslabs in time growing
// faster than n (most of a task's load of ~5,000 scattered CSR rows went there), so a long list
// is read as several short unions.
constexpr std::size_t kRangesPerRead = 32;

// Reads `ranges` (sorted, disjoint) of the first dimension of `dset` (rank 1 or 2, `width`
// values per row) into `out`, concatenated, converting to `mem_type`: one union selection per
// kRangesPerRead ranges.
void read_ranges(hid_t dset, int rank, hsize_t width, const std::vector<Range>& ranges, hid_t mem_type, void* out,
                 const std::string& context) {
  if (width == 0) return;
  const std::size_t elem = H5Tget_size(mem_type);
  if (elem == 0) h5::fail("H5Tget_size failed", context);
  Handle fspace(check_id(H5Dget_space(dset), "H5Dget_space", context));
  auto* dst = static_cast<unsigned char*>(out);
  for (std::size_t g = 0; g < ranges.size(); g += kRangesPerRead) {
    const std::size_t g1 = std::min(ranges.size(), g + kRangesPerRead);
    hsize_t total = 0;
    bool first = true;
    for (std::size_t i = g; i < g1; ++i) {
      const Range& r = ranges[i];
      if (r.end <= r.begin) continue;
      const hsize_t start[2] = {r.begin, 0};
      const hsize_t count[2] = {r.end - r.begin, width};
      CELLOT_H5_CHECK(
          H5Sselect_hyperslab(fspace, first ? H5S_SELECT_SET : H5S_SELECT_OR, start, nullptr, count, nullptr), context);
      first = false;
      total += r.end - r.begin;
    }
    if (total == 0) continue;
    const hsize_t mdims[2] = {total, width};
    Handle mspace(check_id(H5Screate_simple(rank, mdims, nullptr), "H5Screate_simple", context));
    CELLOT_H5_CHECK(H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, dst), context);
    dst += static_cast<std::size_t>(total * width) * elem;
  }
}

// Splits `ranges` into batches of at most kMaxStagedValues values (a single range larger than
// that is its own batch) and calls fn(batch).
template <class Fn>
void for_each_batch(const std::vector<Range>& ranges, hsize_t width, Fn fn) {
  std::vector<Range> batch;
  hsize_t values = 0;
  for (const Range& r : ranges) {
    const hsize_t v = (r.end - r.begin) * std::max<hsize_t>(width, 1);
    if (!batch.empty() && values + v > kMaxStagedValues) {
      fn(batch);
      batch.clear();
      values = 0;
    }
    batch.push_back(r);
    values += v;
  }
  if (!batch.empty()) fn(batch);
}

std::string format_value(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void check_finite(const Matrix& m, const std::vector<std::int64_t>& rows, const std::string& file,
                  const std::string& key) {
  for (std::int64_t i = 0; i < m.rows; ++i) {
    const double* r = m.row(i);
    for (std::int64_t j = 0; j < m.cols; ++j)
      if (!std::isfinite(r[j]))
        throw InputError(file, key,
                         format_value(r[j]) + " at row " + std::to_string(rows[static_cast<std::size_t>(i)]) + " col " +
                             std::to_string(j),
                         "non-finite value");
  }
}

// Sorted unique rows and, for each requested position, its index among them.
struct RowPlan {
  std::vector<std::int64_t> unique;
  std::vector<std::int64_t> slot;
};

RowPlan plan_rows(const std::vector<std::int64_t>& rows, std::int64_t n, const std::string& file) {
  RowPlan p;
  for (std::int64_t r : rows)
    if (r < 0 || r >= n)
      throw InputError(file, "row", std::to_string(r), "row index out of range [0, " + std::to_string(n) + ")");
  p.unique = rows;
  std::sort(p.unique.begin(), p.unique.end());
  p.unique.erase(std::unique(p.unique.begin(), p.unique.end()), p.unique.end());
  p.slot.reserve(rows.size());
  for (std::int64_t r : rows)
    p.slot.push_back(std::lower_bound(p.unique.begin(), p.unique.end(), r) - p.unique.begin());
  return p;
}

Matrix reorder(Matrix sorted, const RowPlan& p) {
  if (p.unique.size() == p.slot.size()) {
    bool identity = true;
    for (std::size_t i = 0; i < p.slot.size() && identity; ++i) identity = p.slot[i] == static_cast<std::int64_t>(i);
    if (identity) return sorted;
  }
  return sorted.select_rows(p.slot);
}

// Rows `unique` (sorted) of a dense 2-d dataset with `cols` columns, in that order.
Matrix read_dense_sorted(hid_t dset, hsize_t cols, const std::vector<std::int64_t>& unique,
                         const std::string& context) {
  Matrix out(static_cast<std::int64_t>(unique.size()), static_cast<std::int64_t>(cols));
  if (unique.empty() || cols == 0) return out;
  std::vector<Range> runs;
  for (std::int64_t r : unique) {
    const auto u = static_cast<hsize_t>(r);
    if (!runs.empty() && runs.back().end == u)
      runs.back().end = u + 1;
    else
      runs.push_back({u, u + 1});
  }
  // Gap worth reading through: about 16 KiB of unwanted values.
  const hsize_t max_gap = std::max<hsize_t>(1, 2048 / cols);
  const std::vector<Range> blocks = coalesce(runs, max_gap);
  std::size_t next = 0;  // next selected row to fill
  std::vector<double> staged;
  for_each_batch(blocks, cols, [&](const std::vector<Range>& batch) {
    hsize_t total = 0;
    for (const Range& b : batch) total += b.end - b.begin;
    staged.resize(static_cast<std::size_t>(total * cols));
    read_ranges(dset, 2, cols, batch, H5T_NATIVE_DOUBLE, staged.data(), context);
    hsize_t offset = 0;  // row of `staged` where this block starts
    for (const Range& b : batch) {
      while (next < unique.size() && static_cast<hsize_t>(unique[next]) < b.end) {
        const hsize_t src = offset + (static_cast<hsize_t>(unique[next]) - b.begin);
        std::copy_n(staged.data() + src * cols, cols, out.row(static_cast<std::int64_t>(next)));
        ++next;
      }
      offset += b.end - b.begin;
    }
  });
  CELLOT_CHECK(next == unique.size(), "dense row read did not fill every row");
  return out;
}

}  // namespace

MatrixElement::MatrixElement(hid_t loc, const std::string& path, const std::string& file, const std::string& key)
    : file_(file), key_(key) {
  const H5I_type_t t = object_type(loc, path);
  if (t == H5I_DATASET) {
    encoding_ = "array";
    dense_ = h5::open_dataset(loc, path, file);
    const auto dims = h5::dataset_dims(dense_, file + ":" + key);
    if (dims.empty() || dims.size() > 2)
      throw InputError(file, key, std::to_string(dims.size()) + "-d", "a matrix must be 2-d (or 1-d: one column)");
    rows_ = static_cast<std::int64_t>(dims[0]);
    cols_ = dims.size() == 2 ? static_cast<std::int64_t>(dims[1]) : 1;
    dtype_ = dtype_name(dense_, file + ":" + key);
    Handle ftype(check_id(H5Dget_type(dense_), "H5Dget_type", file));
    const H5T_class_t cls = H5Tget_class(ftype);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER)
      throw InputError(file, key, dtype_, cls == H5T_COMPOUND ? "a compound dataset is not a matrix" : "must be numeric");
    check_filters(dense_, file, key);
    return;
  }
  if (t != H5I_GROUP) throw InputError(file, key, "", "missing");
  Handle g = h5::open_group(loc, path, file);
  std::string enc = encoding_type(g);
  const bool legacy = enc.empty() && h5::has_attr(g, "h5sparse_format");  // anndata 0.6
  if (legacy) enc = h5::read_attr_string(g, "h5sparse_format", file) + "_matrix";
  if (enc != "csr_matrix" && enc != "csc_matrix")
    throw InputError(file, key, enc.empty() ? "(no encoding-type)" : enc,
                     "unsupported matrix encoding (cellot reads a dense array, csr_matrix or csc_matrix)");
  encoding_ = enc;
  const char* shape_attr = legacy && !h5::has_attr(g, "shape") ? "h5sparse_shape" : "shape";
  const auto shape = read_attr_int64s(g, shape_attr, file, key);
  if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0)
    throw InputError(file, key + "@" + shape_attr, std::to_string(shape.size()) + " values",
                     "shape must be 2 non-negative integers");
  rows_ = shape[0];
  cols_ = shape[1];
  for (const char* part : {"data", "indices", "indptr"})
    if (object_type(g, part) != H5I_DATASET)
      throw InputError(file, key + "/" + part, "", "missing part of a sparse matrix");
  data_ = h5::open_dataset(g, "data", file);
  indices_ = h5::open_dataset(g, "indices", file);
  dtype_ = dtype_name(data_, file + ":" + key + "/data");
  {
    Handle dtype(check_id(H5Dget_type(data_), "H5Dget_type", file));
    const H5T_class_t cls = H5Tget_class(dtype);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) throw InputError(file, key + "/data", dtype_, "must be numeric");
  }
  check_filters(data_, file, key + "/data");
  check_filters(indices_, file, key + "/indices");
  Handle ip = h5::open_dataset(g, "indptr", file);
  indptr_ = read_int64s(ip, file, key + "/indptr");
  const std::int64_t major = enc == "csr_matrix" ? rows_ : cols_;
  if (static_cast<std::int64_t>(indptr_.size()) != major + 1)
    throw InputError(file, key + "/indptr", std::to_string(indptr_.size()) + " entries",
                     "expected " + std::to_string(major + 1) + " (" + (enc == "csr_matrix" ? "rows" : "columns") +
                         " + 1)");
  const auto nnz = static_cast<std::int64_t>(h5::dataset_dims(data_, file)[0]);
  if (static_cast<std::int64_t>(h5::dataset_dims(indices_, file)[0]) != nnz)
    throw InputError(file, key + "/indices", "", "length differs from " + key + "/data");
  if (indptr_.front() != 0 || indptr_.back() != nnz)
    throw InputError(file, key + "/indptr", std::to_string(indptr_.back()),
                     "must start at 0 and end at nnz = " + std::to_string(nnz));
  for (std::size_t i = 1; i < indptr_.size(); ++i)
    if (indptr_[i] < indptr_[i - 1])
      throw InputError(file, key + "/indptr",
                       std::to_string(indptr_[i]) + " at entry " + std::to_string(i) + " after " +
                           std::to_string(indptr_[i - 1]),
                       "not non-decreasing");
}

namespace {

// Selected rows (sorted, unique) of a CSR matrix: only their data/indices ranges are read.
Matrix csr_rows(hid_t data, hid_t indices, const std::vector<std::int64_t>& indptr, std::int64_t cols,
                const std::vector<std::int64_t>& unique, const std::string& file, const std::string& key) {
  const std::string context = file + ":" + key;
  Matrix sorted(static_cast<std::int64_t>(unique.size()), cols);
  std::vector<Range> ranges;
  for (std::int64_t r : unique)
    ranges.push_back({static_cast<hsize_t>(indptr[static_cast<std::size_t>(r)]),
                      static_cast<hsize_t>(indptr[static_cast<std::size_t>(r) + 1])});
  // Elements of consecutive rows are adjacent; small gaps are read through.
  const std::vector<Range> blocks = coalesce(ranges, 2048);
  std::size_t next = 0;
  std::vector<double> vals;
  std::vector<std::int64_t> idx;
  for_each_batch(blocks, 1, [&](const std::vector<Range>& batch) {
    hsize_t total = 0;
    for (const Range& b : batch) total += b.end - b.begin;
    vals.resize(static_cast<std::size_t>(total));
    idx.resize(static_cast<std::size_t>(total));
    read_ranges(data, 1, 1, batch, H5T_NATIVE_DOUBLE, vals.data(), context + "/data");
    read_ranges(indices, 1, 1, batch, H5T_NATIVE_INT64, idx.data(), context + "/indices");
    hsize_t offset = 0;
    for (const Range& b : batch) {
      // Rows are sorted, so their element ranges are too; each non-empty range lies inside
      // exactly one block. Empty rows stay zero.
      while (next < unique.size()) {
        const auto r = static_cast<std::size_t>(unique[next]);
        const auto lo = static_cast<hsize_t>(indptr[r]), hi = static_cast<hsize_t>(indptr[r + 1]);
        if (lo == hi) {
          ++next;
          continue;
        }
        if (lo >= b.end) break;
        CELLOT_CHECK(lo >= b.begin && hi <= b.end, "csr row range outside its block");
        double* dst = sorted.row(static_cast<std::int64_t>(next));
        for (hsize_t k = lo; k < hi; ++k) {
          const std::int64_t c = idx[static_cast<std::size_t>(offset + k - b.begin)];
          if (c < 0 || c >= cols)
            throw InputError(file, key + "/indices", std::to_string(c) + " at row " + std::to_string(r),
                             "column index out of range [0, " + std::to_string(cols) + ")");
          dst[c] += vals[static_cast<std::size_t>(offset + k - b.begin)];  // duplicates sum, as scipy
        }
        ++next;
      }
      offset += b.end - b.begin;
    }
  });
  for (; next < unique.size(); ++next) {
    const auto r = static_cast<std::size_t>(unique[next]);
    CELLOT_CHECK(indptr[r] == indptr[r + 1], "csr row left unread");
  }
  return sorted;
}

// Selected rows of a CSC matrix: every column slice is read (in blocks) and the rows picked.
Matrix csc_rows(hid_t data, hid_t indices, const std::vector<std::int64_t>& indptr, std::int64_t n_rows,
                std::int64_t cols, const std::vector<std::int64_t>& unique, const std::string& file,
                const std::string& key) {
  const std::string context = file + ":" + key;
  Matrix sorted(static_cast<std::int64_t>(unique.size()), cols);
  std::vector<std::int64_t> slot_of(static_cast<std::size_t>(n_rows), -1);
  for (std::size_t i = 0; i < unique.size(); ++i) slot_of[static_cast<std::size_t>(unique[i])] = static_cast<std::int64_t>(i);
  auto at = [&](std::int64_t j) { return indptr[static_cast<std::size_t>(j)]; };
  std::vector<double> vals;
  std::vector<std::int64_t> rws;
  std::int64_t j0 = 0;
  while (j0 < cols) {
    std::int64_t j1 = j0 + 1;
    while (j1 < cols && at(j1 + 1) - at(j0) <= static_cast<std::int64_t>(kMaxStagedValues)) ++j1;
    const auto lo = static_cast<hsize_t>(at(j0)), hi = static_cast<hsize_t>(at(j1));
    vals.resize(static_cast<std::size_t>(hi - lo));
    rws.resize(static_cast<std::size_t>(hi - lo));
    read_ranges(data, 1, 1, {{lo, hi}}, H5T_NATIVE_DOUBLE, vals.data(), context + "/data");
    read_ranges(indices, 1, 1, {{lo, hi}}, H5T_NATIVE_INT64, rws.data(), context + "/indices");
    for (std::int64_t j = j0; j < j1; ++j) {
      for (auto k = static_cast<hsize_t>(at(j)); k < static_cast<hsize_t>(at(j + 1)); ++k) {
        const std::int64_t r = rws[static_cast<std::size_t>(k - lo)];
        if (r < 0 || r >= n_rows)
          throw InputError(file, key + "/indices", std::to_string(r) + " in col " + std::to_string(j),
                           "row index out of range [0, " + std::to_string(n_rows) + ")");
        const std::int64_t s = slot_of[static_cast<std::size_t>(r)];
        if (s >= 0) sorted(s, j) += vals[static_cast<std::size_t>(k - lo)];
      }
    }
    j0 = j1;
  }
  return sorted;
}

}  // namespace

Matrix MatrixElement::read_rows(const std::vector<std::int64_t>& rows) const {
  const RowPlan plan = plan_rows(rows, rows_, file_);
  Matrix sorted;
  if (encoding_ == "array") {
    if (h5::dataset_dims(dense_, file_ + ":" + key_).size() == 2) {
      sorted = read_dense_sorted(dense_, static_cast<hsize_t>(cols_), plan.unique, file_ + ":" + key_);
    } else {
      // A 1-d array is one column; read it whole (it is small) and pick.
      const auto all = read_doubles(dense_, file_, key_);
      sorted = Matrix(static_cast<std::int64_t>(plan.unique.size()), 1);
      for (std::size_t i = 0; i < plan.unique.size(); ++i) sorted.data[i] = all[static_cast<std::size_t>(plan.unique[i])];
    }
  } else if (encoding_ == "csr_matrix") {
    sorted = csr_rows(data_, indices_, indptr_, cols_, plan.unique, file_, key_);
  } else {
    sorted = csc_rows(data_, indices_, indptr_, rows_, cols_, plan.unique, file_, key_);
  }
  check_finite(sorted, plan.unique, file_, key_);
  return reorder(std::move(sorted), plan);
}

}  // namespace cellot::io::detail

// Reading .h5ad files: H5adReader (row-selective X, obs/var at open, obsm rows, uns) and
// read_h5ad (everything).
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "cellot/io/h5ad.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io {

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

// Reads `ranges` (sorted, disjoint) of the first dimension of `dset` (rank 1 or 2, `width`
// values per row) into `out`, concatenated, converting to `mem_type`. One union selection.
void read_ranges(hid_t dset, int rank, hsize_t width, const std::vector<Range>& ranges, hid_t mem_type, void* out,
                 const std::string& context) {
  hsize_t total = 0;
  for (const Range& r : ranges) total += r.end - r.begin;
  if (total == 0 || width == 0) return;
  Handle fspace(check_id(H5Dget_space(dset), "H5Dget_space", context));
  bool first = true;
  for (const Range& r : ranges) {
    const hsize_t start[2] = {r.begin, 0};
    const hsize_t count[2] = {r.end - r.begin, width};
    CELLOT_H5_CHECK(H5Sselect_hyperslab(fspace, first ? H5S_SELECT_SET : H5S_SELECT_OR, start, nullptr, count, nullptr),
                    context);
    first = false;
  }
  const hsize_t mdims[2] = {total, width};
  Handle mspace(check_id(H5Screate_simple(rank, mdims, nullptr), "H5Screate_simple", context));
  CELLOT_H5_CHECK(H5Dread(dset, mem_type, mspace, fspace, H5P_DEFAULT, out), context);
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

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// Names of the links directly under a group, in name order.
std::vector<std::string> child_names(hid_t group, const std::string& context) {
  std::vector<std::string> names;
  auto cb = [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
  };
  hsize_t idx = 0;
  CELLOT_H5_CHECK(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &idx, cb, &names), context);
  return names;
}

Column read_column(hid_t frame, const std::string& name, const std::string& file, const std::string& key) {
  Column col;
  col.name = name;
  const H5I_type_t type = detail::object_type(frame, name);
  if (type == H5I_GROUP) {
    Handle g = h5::open_group(frame, name, file);
    const std::string enc = detail::encoding_type(g);
    if (enc != "categorical")
      throw InputError(file, key, enc.empty() ? "(no encoding-type)" : enc,
                       "unsupported dataframe column encoding (expected categorical or an array)");
    if (!h5::exists(g, "categories") || !h5::exists(g, "codes"))
      throw InputError(file, key, "", "categorical column without categories/codes");
    col.kind = Column::Kind::categorical;
    Handle cats = h5::open_dataset(g, "categories", file);
    Handle ctype(check_id(H5Dget_type(cats), "H5Dget_type", file));
    if (H5Tget_class(ctype) == H5T_STRING) {
      col.categories = detail::read_strings(cats, file, key + "/categories");
    } else {
      // Numeric categories (e.g. plate numbers) become their text form.
      for (double v : detail::read_doubles(cats, file, key + "/categories")) col.categories.push_back(format_number(v));
    }
    Handle codes = h5::open_dataset(g, "codes", file);
    const auto raw = detail::read_int64s(codes, file, key + "/codes");
    const auto ncat = static_cast<std::int64_t>(col.categories.size());
    col.codes.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      if (raw[i] < -1 || raw[i] >= ncat)
        throw InputError(file, key + "/codes", std::to_string(raw[i]) + " at row " + std::to_string(i),
                         "category code out of range [-1, " + std::to_string(ncat) + ")");
      col.codes.push_back(static_cast<std::int32_t>(raw[i]));
    }
    return col;
  }
  if (type != H5I_DATASET) throw InputError(file, key, "", "listed in column-order but missing");
  Handle d = h5::open_dataset(frame, name, file);
  if (h5::has_attr(d, "categories"))
    throw InputError(file, key, "",
                     "categorical column in the pre-0.8 anndata layout: re-save the file with anndata >= 0.8");
  Handle ftype(check_id(H5Dget_type(d), "H5Dget_type", file));
  switch (H5Tget_class(ftype)) {
    case H5T_STRING:
      col.kind = Column::Kind::string;
      col.strings = detail::read_strings(d, file, key);
      break;
    case H5T_FLOAT:
      col.kind = Column::Kind::float64;
      col.floats = detail::read_doubles(d, file, key);
      break;
    case H5T_INTEGER:
      col.kind = Column::Kind::int64;
      col.ints = detail::read_int64s(d, file, key);
      break;
    case H5T_ENUM:
      col.kind = Column::Kind::boolean;
      col.ints = detail::read_int64s(d, file, key);
      break;
    default: throw InputError(file, key, detail::dtype_name(d, file), "unsupported dataframe column type");
  }
  return col;
}

DataFrame read_dataframe(hid_t file_id, const std::string& group, const std::string& file) {
  DataFrame df;
  Handle g = h5::open_group(file_id, group, file);
  const std::string index_name = h5::has_attr(g, "_index") ? h5::read_attr_string(g, "_index", file) : "_index";
  if (detail::object_type(g, index_name) != H5I_DATASET)
    throw InputError(file, group + "/" + index_name, "", "missing dataframe index (obs/var names)");
  {
    Handle idx = h5::open_dataset(g, index_name, file);
    Handle ftype(check_id(H5Dget_type(idx), "H5Dget_type", file));
    if (H5Tget_class(ftype) == H5T_STRING) {
      df.index = detail::read_strings(idx, file, group + "/" + index_name);
    } else {
      for (double v : detail::read_doubles(idx, file, group + "/" + index_name)) df.index.push_back(format_number(v));
    }
  }
  std::vector<std::string> order;
  if (h5::has_attr(g, "column-order")) {
    // anndata writes an empty float64 array when there are no columns.
    Handle attr(check_id(H5Aopen(g, "column-order", H5P_DEFAULT), "H5Aopen", file));
    Handle atype(check_id(H5Aget_type(attr), "H5Aget_type", file));
    if (H5Tget_class(atype) == H5T_STRING) order = h5::read_attr_strings(g, "column-order", file + ":" + group);
  } else {
    for (const auto& n : child_names(g, file))
      if (n != index_name && n != "__categories") order.push_back(n);
  }
  for (const auto& name : order) {
    Column c = read_column(g, name, file, group + "/" + name);
    if (c.size() != df.rows())
      throw InputError(file, group + "/" + name, std::to_string(c.size()) + " rows",
                       "column length differs from the index (" + std::to_string(df.rows()) + ")");
    df.columns.push_back(std::move(c));
  }
  return df;
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

Matrix reorder(const Matrix& sorted, const RowPlan& p) {
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

struct H5adReader::Impl {
  Handle file;
  std::string encoding;  // array | csr_matrix | csc_matrix
  std::string dtype;
  std::int64_t n_obs = 0, n_vars = 0;
  Handle x;                          // dataset (dense) or group (sparse)
  Handle data, indices;              // sparse
  std::vector<std::int64_t> indptr;  // sparse: n_obs + 1 (csr) or n_vars + 1 (csc)
};

H5adReader::H5adReader(const std::string& path, MPI_Comm comm) : impl_(std::make_unique<Impl>()), path_(path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw InputError(path, "path", path, "no such file");
  if (S_ISDIR(st.st_mode)) throw InputError(path, "path", path, "is a directory, not an .h5ad file");
  if (!h5::is_hdf5(path)) throw InputError(path, "path", path, "not an HDF5 file");
  try {
    impl_->file = h5::open_file(path, H5F_ACC_RDONLY, comm);
  } catch (const RuntimeError&) {
    throw InputError(path, "path", path, "cannot open the HDF5 file (unreadable, or locked by a writer)");
  }
  hid_t f = impl_->file;
  const H5I_type_t xt = detail::object_type(f, "X");
  const bool has_obs = detail::object_type(f, "obs") == H5I_GROUP;
  if (xt == H5I_BADID && !has_obs)
    throw InputError(path, "X", "", "not an AnnData file: no X matrix and no obs dataframe");
  if (xt == H5I_BADID) throw InputError(path, "X", "", "missing: the file has no X matrix");
  if (!has_obs) throw InputError(path, "obs", "", "missing: the file has no obs dataframe");

  if (xt == H5I_DATASET) {
    impl_->encoding = "array";
    impl_->x = h5::open_dataset(f, "X", path);
    const auto dims = h5::dataset_dims(impl_->x, path + ":X");
    if (dims.size() != 2) throw InputError(path, "X", std::to_string(dims.size()) + "-d", "X must be a 2-d matrix");
    impl_->n_obs = static_cast<std::int64_t>(dims[0]);
    impl_->n_vars = static_cast<std::int64_t>(dims[1]);
    impl_->dtype = detail::dtype_name(impl_->x, path + ":X");
    Handle ftype(check_id(H5Dget_type(impl_->x), "H5Dget_type", path));
    const H5T_class_t cls = H5Tget_class(ftype);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) throw InputError(path, "X", impl_->dtype, "X must be numeric");
  } else {
    impl_->x = h5::open_group(f, "X", path);
    std::string enc = detail::encoding_type(impl_->x);
    if (enc.empty() && h5::has_attr(impl_->x, "h5sparse_format"))  // anndata < 0.8
      enc = h5::read_attr_string(impl_->x, "h5sparse_format", path) + "_matrix";
    if (enc != "csr_matrix" && enc != "csc_matrix")
      throw InputError(path, "X", enc.empty() ? "(no encoding-type)" : enc,
                       "unsupported X encoding (expected a dense array, csr_matrix or csc_matrix)");
    impl_->encoding = enc;
    const auto shape = detail::read_attr_int64s(impl_->x, "shape", path, "X");
    if (shape.size() != 2 || shape[0] < 0 || shape[1] < 0)
      throw InputError(path, "X@shape", std::to_string(shape.size()) + " values",
                       "shape must be 2 non-negative integers");
    impl_->n_obs = shape[0];
    impl_->n_vars = shape[1];
    for (const char* part : {"data", "indices", "indptr"})
      if (detail::object_type(impl_->x, part) != H5I_DATASET)
        throw InputError(path, std::string("X/") + part, "", "missing part of a sparse matrix");
    impl_->data = h5::open_dataset(impl_->x, "data", path);
    impl_->indices = h5::open_dataset(impl_->x, "indices", path);
    impl_->dtype = detail::dtype_name(impl_->data, path + ":X/data");
    Handle ip = h5::open_dataset(impl_->x, "indptr", path);
    impl_->indptr = detail::read_int64s(ip, path, "X/indptr");
    const std::int64_t major = enc == "csr_matrix" ? impl_->n_obs : impl_->n_vars;
    if (static_cast<std::int64_t>(impl_->indptr.size()) != major + 1)
      throw InputError(path, "X/indptr", std::to_string(impl_->indptr.size()) + " entries",
                       "expected " + std::to_string(major + 1));
    const auto nnz = static_cast<std::int64_t>(h5::dataset_dims(impl_->data, path)[0]);
    if (static_cast<std::int64_t>(h5::dataset_dims(impl_->indices, path)[0]) != nnz)
      throw InputError(path, "X/indices", "", "length differs from X/data");
    if (impl_->indptr.front() != 0 || impl_->indptr.back() != nnz)
      throw InputError(path, "X/indptr", std::to_string(impl_->indptr.back()),
                       "must start at 0 and end at nnz = " + std::to_string(nnz));
    for (std::size_t i = 1; i < impl_->indptr.size(); ++i)
      if (impl_->indptr[i] < impl_->indptr[i - 1])
        throw InputError(path, "X/indptr", "entry " + std::to_string(i), "not non-decreasing");
  }

  obs_ = read_dataframe(f, "obs", path);
  if (obs_.rows() != impl_->n_obs)
    throw InputError(path, "obs/_index", std::to_string(obs_.rows()) + " rows",
                     "obs has a different number of rows than X (" + std::to_string(impl_->n_obs) + ")");
  if (detail::object_type(f, "var") == H5I_GROUP) {
    var_ = read_dataframe(f, "var", path);
    if (var_.rows() != impl_->n_vars)
      throw InputError(path, "var/_index", std::to_string(var_.rows()) + " rows",
                       "var has a different number of rows than X has columns (" + std::to_string(impl_->n_vars) + ")");
  } else {
    for (std::int64_t j = 0; j < impl_->n_vars; ++j) var_.index.push_back(std::to_string(j));
  }
}

H5adReader::~H5adReader() = default;

std::int64_t H5adReader::n_obs() const { return impl_->n_obs; }
std::int64_t H5adReader::n_vars() const { return impl_->n_vars; }
std::string H5adReader::x_encoding() const { return impl_->encoding; }
std::string H5adReader::x_dtype() const { return impl_->dtype; }

Matrix H5adReader::read_rows(const std::vector<std::int64_t>& rows) const {
  const RowPlan plan = plan_rows(rows, impl_->n_obs, path_);
  const auto ncols = static_cast<hsize_t>(impl_->n_vars);
  const std::string context = path_ + ":X";
  Matrix sorted;
  if (impl_->encoding == "array") {
    sorted = read_dense_sorted(impl_->x, ncols, plan.unique, context);
  } else if (impl_->encoding == "csr_matrix") {
    sorted = Matrix(static_cast<std::int64_t>(plan.unique.size()), impl_->n_vars);
    std::vector<Range> ranges;
    for (std::int64_t r : plan.unique)
      ranges.push_back({static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(r)]),
                        static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(r) + 1])});
    // Elements of consecutive rows are adjacent; small gaps are read through.
    const std::vector<Range> blocks = coalesce(ranges, 2048);
    std::size_t next = 0;
    std::vector<double> vals;
    std::vector<std::int64_t> cols;
    for_each_batch(blocks, 1, [&](const std::vector<Range>& batch) {
      hsize_t total = 0;
      for (const Range& b : batch) total += b.end - b.begin;
      vals.resize(static_cast<std::size_t>(total));
      cols.resize(static_cast<std::size_t>(total));
      read_ranges(impl_->data, 1, 1, batch, H5T_NATIVE_DOUBLE, vals.data(), context + "/data");
      read_ranges(impl_->indices, 1, 1, batch, H5T_NATIVE_INT64, cols.data(), context + "/indices");
      hsize_t offset = 0;
      for (const Range& b : batch) {
        // Rows are sorted, so their element ranges are too; each non-empty range lies inside
        // exactly one block. Empty rows stay zero.
        while (next < plan.unique.size()) {
          const auto r = static_cast<std::size_t>(plan.unique[next]);
          const auto lo = static_cast<hsize_t>(impl_->indptr[r]), hi = static_cast<hsize_t>(impl_->indptr[r + 1]);
          if (lo == hi) {
            ++next;
            continue;
          }
          if (lo >= b.end) break;
          CELLOT_CHECK(lo >= b.begin && hi <= b.end, "csr row range outside its block");
          double* dst = sorted.row(static_cast<std::int64_t>(next));
          for (hsize_t k = lo; k < hi; ++k) {
            const std::int64_t c = cols[static_cast<std::size_t>(offset + k - b.begin)];
            if (c < 0 || c >= impl_->n_vars)
              throw InputError(path_, "X/indices", std::to_string(c) + " at row " + std::to_string(r),
                               "column index out of range");
            dst[c] += vals[static_cast<std::size_t>(offset + k - b.begin)];  // duplicates sum, as scipy
          }
          ++next;
        }
        offset += b.end - b.begin;
      }
    });
    for (; next < plan.unique.size(); ++next) {
      const auto r = static_cast<std::size_t>(plan.unique[next]);
      CELLOT_CHECK(impl_->indptr[r] == impl_->indptr[r + 1], "csr row left unread");
    }
  } else {  // csc_matrix: every column slice is read, selected rows picked out.
    sorted = Matrix(static_cast<std::int64_t>(plan.unique.size()), impl_->n_vars);
    std::vector<std::int64_t> slot_of(static_cast<std::size_t>(impl_->n_obs), -1);
    for (std::size_t i = 0; i < plan.unique.size(); ++i)
      slot_of[static_cast<std::size_t>(plan.unique[i])] = static_cast<std::int64_t>(i);
    std::vector<Range> col_ranges;
    for (std::int64_t j = 0; j < impl_->n_vars; ++j)
      col_ranges.push_back({static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(j)]),
                            static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(j) + 1])});
    std::vector<double> vals;
    std::vector<std::int64_t> rws;
    // Column ranges are adjacent; read them in blocks of columns.
    std::int64_t j0 = 0;
    while (j0 < impl_->n_vars) {
      std::int64_t j1 = j0 + 1;
      while (j1 < impl_->n_vars &&
             impl_->indptr[static_cast<std::size_t>(j1) + 1] - impl_->indptr[static_cast<std::size_t>(j0)] <=
                 static_cast<std::int64_t>(kMaxStagedValues))
        ++j1;
      const auto lo = static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(j0)]);
      const auto hi = static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(j1)]);
      vals.resize(static_cast<std::size_t>(hi - lo));
      rws.resize(static_cast<std::size_t>(hi - lo));
      read_ranges(impl_->data, 1, 1, {{lo, hi}}, H5T_NATIVE_DOUBLE, vals.data(), context + "/data");
      read_ranges(impl_->indices, 1, 1, {{lo, hi}}, H5T_NATIVE_INT64, rws.data(), context + "/indices");
      for (std::int64_t j = j0; j < j1; ++j) {
        for (auto k = static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(j)]);
             k < static_cast<hsize_t>(impl_->indptr[static_cast<std::size_t>(j) + 1]); ++k) {
          const std::int64_t r = rws[static_cast<std::size_t>(k - lo)];
          if (r < 0 || r >= impl_->n_obs)
            throw InputError(path_, "X/indices", std::to_string(r) + " in col " + std::to_string(j),
                             "row index out of range");
          const std::int64_t s = slot_of[static_cast<std::size_t>(r)];
          if (s >= 0) sorted(s, j) += vals[static_cast<std::size_t>(k - lo)];
        }
      }
      j0 = j1;
    }
  }
  check_finite(sorted, plan.unique, path_, "X");
  return reorder(sorted, plan);
}

bool H5adReader::has_obsm(const std::string& key) const {
  return detail::object_type(impl_->file, "obsm/" + key) == H5I_DATASET;
}

std::vector<std::string> H5adReader::obsm_keys() const {
  std::vector<std::string> keys;
  if (detail::object_type(impl_->file, "obsm") != H5I_GROUP) return keys;
  Handle g = h5::open_group(impl_->file, "obsm", path_);
  for (const auto& n : child_names(g, path_))
    if (detail::object_type(g, n) == H5I_DATASET) keys.push_back(n);
  return keys;
}

Matrix H5adReader::read_obsm_rows(const std::string& key, const std::vector<std::int64_t>& rows) const {
  if (!has_obsm(key)) throw InputError(path_, "obsm/" + key, "", "no such dense obsm array");
  Handle d = h5::open_dataset(impl_->file, "obsm/" + key, path_);
  const auto dims = h5::dataset_dims(d, path_ + ":obsm/" + key);
  if (dims.empty() || dims.size() > 2 || static_cast<std::int64_t>(dims[0]) != impl_->n_obs)
    throw InputError(path_, "obsm/" + key, std::to_string(dims.empty() ? 0 : dims[0]) + " rows",
                     "obsm arrays must be 1-d or 2-d with one row per cell");
  const RowPlan plan = plan_rows(rows, impl_->n_obs, path_);
  Matrix sorted;
  if (dims.size() == 2) {
    sorted = read_dense_sorted(d, dims[1], plan.unique, path_ + ":obsm/" + key);
  } else {
    // A 1-d obsm array is a one-column matrix; read it whole (it is small) and pick.
    const auto all = detail::read_doubles(d, path_, "obsm/" + key);
    sorted = Matrix(static_cast<std::int64_t>(plan.unique.size()), 1);
    for (std::size_t i = 0; i < plan.unique.size(); ++i) sorted.data[i] = all[static_cast<std::size_t>(plan.unique[i])];
  }
  check_finite(sorted, plan.unique, path_, "obsm/" + key);
  return reorder(sorted, plan);
}

namespace {

void read_uns_group(hid_t group, const std::string& prefix, const std::string& file, AnnData& into) {
  for (const auto& name : child_names(group, file)) {
    const std::string key = prefix.empty() ? name : prefix + "/" + name;
    const H5I_type_t t = detail::object_type(group, name);
    if (t == H5I_GROUP) {
      Handle g = h5::open_group(group, name, file);
      const std::string enc = detail::encoding_type(g);
      if (enc.empty() || enc == "dict")
        read_uns_group(g, key, file, into);
      else
        log::debug(file + ": uns/" + key + ": skipping element with encoding " + enc);
      continue;
    }
    if (t != H5I_DATASET) continue;
    Handle d = h5::open_dataset(group, name, file);
    Handle ftype(check_id(H5Dget_type(d), "H5Dget_type", file));
    const H5T_class_t cls = H5Tget_class(ftype);
    const auto dims = h5::dataset_dims(d, file + ":uns/" + key);
    if (cls == H5T_STRING) {
      auto v = detail::read_strings(d, file, "uns/" + key);
      if (dims.empty())
        into.uns_strings[key] = v.empty() ? std::string() : v[0];
      else
        into.uns_string_arrays[key] = std::move(v);
    } else if (cls == H5T_INTEGER || cls == H5T_FLOAT || cls == H5T_ENUM) {
      auto v = detail::read_doubles(d, file, "uns/" + key);
      if (dims.empty()) {
        into.uns_numbers[key] = v.empty() ? 0.0 : v[0];
      } else {
        AnnData::Array a;
        for (hsize_t n : dims) a.shape.push_back(static_cast<std::int64_t>(n));
        a.data = std::move(v);
        into.uns_arrays[key] = std::move(a);
      }
    } else {
      log::debug(file + ": uns/" + key + ": skipping dataset of type " + detail::dtype_name(d, file));
    }
  }
}

}  // namespace

void H5adReader::read_uns(AnnData& into) const {
  if (detail::object_type(impl_->file, "uns") != H5I_GROUP) return;
  Handle g = h5::open_group(impl_->file, "uns", path_);
  read_uns_group(g, "", path_, into);
}

AnnData read_h5ad(const std::string& path) {
  H5adReader reader(path);
  AnnData a;
  std::vector<std::int64_t> all(static_cast<std::size_t>(reader.n_obs()));
  std::iota(all.begin(), all.end(), 0);
  a.X = reader.read_rows(all);
  a.obs = reader.obs();
  a.var = reader.var();
  for (const auto& k : reader.obsm_keys()) a.obsm[k] = reader.read_obsm_rows(k, all);
  reader.read_uns(a);
  a.x_float64 = reader.x_dtype() == "float64";
  a.x_encoding = reader.x_encoding();
  return a;
}

}  // namespace cellot::io

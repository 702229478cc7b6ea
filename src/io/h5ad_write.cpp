// Writing .h5ad files in the layout anndata 0.8 writes (see the header), atomically.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <set>
#include <algorithm>

#include "cellot/core/error.hpp"
#include "cellot/io/h5ad.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io {

using h5::check_id;
using h5::Handle;

namespace {

void write_string_array(hid_t loc, const std::string& name, const std::vector<std::string>& values,
                        const std::string& ctx) {
  Handle type = h5::vlen_string_type();
  Handle d = h5::create_dataset(loc, name, type, {values.size()}, ctx);
  std::vector<const char*> ptrs;
  ptrs.reserve(values.size());
  for (const auto& s : values) ptrs.push_back(s.c_str());
  if (!values.empty()) CELLOT_H5_CHECK(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs.data()), ctx + ":" + name);
  detail::set_encoding(d, "string-array", "0.2.0", ctx);
}

void write_array(hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type, const void* data,
                 const std::vector<hsize_t>& dims, const std::string& ctx) {
  Handle d = h5::create_dataset(loc, name, file_type, dims, ctx);
  hsize_t n = 1;
  for (hsize_t x : dims) n *= x;
  if (n > 0) CELLOT_H5_CHECK(H5Dwrite(d, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), ctx + ":" + name);
  detail::set_encoding(d, "array", "0.2.0", ctx);
}

Handle dict_group(hid_t loc, const std::string& name, const std::string& ctx) {
  Handle g = h5::create_group(loc, name, ctx);
  detail::set_encoding(g, "dict", "0.1.0", ctx);
  return g;
}

void write_attr_int64s(hid_t obj, const std::string& name, const std::vector<std::int64_t>& v, const std::string& ctx) {
  const hsize_t n = v.size();
  Handle space(check_id(H5Screate_simple(1, &n, nullptr), "H5Screate_simple", ctx));
  Handle attr(check_id(H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2",
                       ctx + "@" + name));
  CELLOT_H5_CHECK(H5Awrite(attr, H5T_NATIVE_INT64, v.data()), ctx + "@" + name);
}

void write_bool_attr(hid_t obj, const std::string& name, bool value, const std::string& ctx) {
  Handle type = h5::bool_enum_type();
  Handle space(check_id(H5Screate(H5S_SCALAR), "H5Screate", ctx));
  Handle attr(
      check_id(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2", ctx + "@" + name));
  const std::int8_t v = value ? 1 : 0;
  CELLOT_H5_CHECK(H5Awrite(attr, type, &v), ctx + "@" + name);
}

// Smallest signed integer type holding [-1, n) as pandas chooses for categorical codes.
hid_t code_type(std::size_t n_categories) {
  if (n_categories < 128) return H5T_STD_I8LE;
  if (n_categories < 32768) return H5T_STD_I16LE;
  return H5T_STD_I32LE;
}

void write_bools(hid_t loc, const std::string& name, const std::vector<std::int64_t>& v, const std::string& ctx) {
  std::vector<std::int8_t> b;
  b.reserve(v.size());
  for (auto x : v) b.push_back(x ? 1 : 0);
  Handle type = h5::bool_enum_type();
  write_array(loc, name, type, type, b.data(), {v.size()}, ctx);
}

void write_column(hid_t frame, const Column& c, std::int64_t rows, const std::string& ctx);

// Nullable columns as anndata >= 0.8 writes pandas' Int64 / boolean arrays (values + mask); a
// string column with missing values as a categorical with code -1 (what anndata makes of it;
// its nullable-string-array encoding needs anndata 0.11).
void write_nullable(hid_t frame, const Column& c, std::int64_t rows, const std::string& ctx) {
  std::vector<std::int64_t> mask(static_cast<std::size_t>(rows), 0);
  for (std::size_t i = 0; i < c.missing.size(); ++i) mask[i] = c.missing[i] != 0;
  if (c.kind == Column::Kind::string) {
    std::vector<std::string> present;
    for (std::int64_t r = 0; r < rows; ++r)
      if (!mask[static_cast<std::size_t>(r)]) present.push_back(c.strings[static_cast<std::size_t>(r)]);
    Column cat = Column::make_categorical(c.name, present);
    std::vector<std::int32_t> codes;
    std::size_t k = 0;
    for (std::int64_t r = 0; r < rows; ++r) codes.push_back(mask[static_cast<std::size_t>(r)] ? -1 : cat.codes[k++]);
    cat.codes = std::move(codes);
    write_column(frame, cat, rows, ctx);
    return;
  }
  CELLOT_CHECK(c.kind == Column::Kind::int64 || c.kind == Column::Kind::boolean,
               "nullable column '" + c.name + "' must be int, bool or string");
  const bool is_int = c.kind == Column::Kind::int64;
  Handle g = h5::create_group(frame, c.name, ctx);
  detail::set_encoding(g, is_int ? "nullable-integer" : "nullable-boolean", "0.1.0", ctx);
  if (is_int)
    write_array(g, "values", H5T_STD_I64LE, H5T_NATIVE_INT64, c.ints.data(), {static_cast<hsize_t>(rows)}, ctx);
  else
    write_bools(g, "values", c.ints, ctx);
  write_bools(g, "mask", mask, ctx);
}

void write_column(hid_t frame, const Column& c, std::int64_t rows, const std::string& ctx) {
  CELLOT_CHECK(c.size() == rows,
               "column '" + c.name + "' has " + std::to_string(c.size()) + " rows, index " + std::to_string(rows));
  CELLOT_CHECK(c.missing.empty() || static_cast<std::int64_t>(c.missing.size()) == rows,
               "column '" + c.name + "' mask length");
  if (c.nullable) {
    write_nullable(frame, c, rows, ctx);
    return;
  }
  const hsize_t n = static_cast<hsize_t>(rows);
  switch (c.kind) {
    case Column::Kind::categorical: {
      Handle g = h5::create_group(frame, c.name, ctx);
      detail::set_encoding(g, "categorical", "0.2.0", ctx);
      write_bool_attr(g, "ordered", false, ctx);
      write_string_array(g, "categories", c.categories, ctx);
      for (std::int32_t code : c.codes)
        CELLOT_CHECK(code >= -1 && code < static_cast<std::int32_t>(c.categories.size()),
                     "category code out of range in column '" + c.name + "'");
      write_array(g, "codes", code_type(c.categories.size()), H5T_NATIVE_INT32, c.codes.data(), {n}, ctx);
      break;
    }
    case Column::Kind::string: write_string_array(frame, c.name, c.strings, ctx); break;
    case Column::Kind::float64:
      write_array(frame, c.name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, c.floats.data(), {n}, ctx);
      break;
    case Column::Kind::int64:
      write_array(frame, c.name, H5T_STD_I64LE, H5T_NATIVE_INT64, c.ints.data(), {n}, ctx);
      break;
    case Column::Kind::boolean: write_bools(frame, c.name, c.ints, ctx); break;
  }
}

void write_dataframe(hid_t file, const std::string& name, const DataFrame& df, const std::string& ctx) {
  Handle g = h5::create_group(file, name, ctx);
  detail::set_encoding(g, "dataframe", "0.2.0", ctx);
  h5::write_attr_string(g, "_index", "_index", ctx);
  std::vector<std::string> order;
  std::set<std::string> seen;
  for (const auto& c : df.columns) {
    CELLOT_CHECK(!c.name.empty() && c.name != "_index" && c.name.find('/') == std::string::npos,
                 "bad column name '" + c.name + "' in " + name);
    CELLOT_CHECK(seen.insert(c.name).second, "duplicate column '" + c.name + "' in " + name);
    order.push_back(c.name);
  }
  if (order.empty()) {
    // What anndata writes for no columns: an empty float64 array attribute.
    const hsize_t zero = 0;
    Handle space(check_id(H5Screate_simple(1, &zero, nullptr), "H5Screate_simple", ctx));
    Handle attr(check_id(H5Acreate2(g, "column-order", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT), "H5Acreate2",
                         ctx + ":" + name + "@column-order"));
  } else {
    h5::write_attr_strings(g, "column-order", order, ctx);
  }
  write_string_array(g, "_index", df.index, ctx);
  for (const auto& c : df.columns) write_column(g, c, df.rows(), ctx);
}

void write_x(hid_t file, const AnnData& a, const std::string& ctx) {
  const hid_t value_type = a.x_float64 ? H5T_IEEE_F64LE : H5T_IEEE_F32LE;
  const auto n = static_cast<hsize_t>(a.X.rows), d = static_cast<hsize_t>(a.X.cols);
  if (a.x_encoding == "array") {
    write_array(file, "X", value_type, H5T_NATIVE_DOUBLE, a.X.data.data(), {n, d}, ctx);
    return;
  }
  CELLOT_CHECK(a.x_encoding == "csr_matrix" || a.x_encoding == "csc_matrix",
               "unknown X encoding '" + a.x_encoding + "'");
  const bool csr = a.x_encoding == "csr_matrix";
  const std::int64_t major = csr ? a.X.rows : a.X.cols, minor = csr ? a.X.cols : a.X.rows;
  std::vector<double> data;
  std::vector<std::int64_t> indices, indptr{0};
  for (std::int64_t i = 0; i < major; ++i) {
    for (std::int64_t j = 0; j < minor; ++j) {
      const double v = csr ? a.X(i, j) : a.X(j, i);
      if (v != 0.0) {
        data.push_back(v);
        indices.push_back(j);
      }
    }
    indptr.push_back(static_cast<std::int64_t>(data.size()));
  }
  Handle g = h5::create_group(file, "X", ctx);
  detail::set_encoding(g, a.x_encoding.c_str(), "0.1.0", ctx);
  write_attr_int64s(g, "shape", {a.X.rows, a.X.cols}, ctx);
  // scipy's choice: 32-bit indices while they fit.
  const auto i32_max = static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::max());
  const hid_t index_type =
      (minor <= i32_max && static_cast<std::int64_t>(data.size()) <= i32_max) ? H5T_STD_I32LE : H5T_STD_I64LE;
  write_array(g, "data", value_type, H5T_NATIVE_DOUBLE, data.data(), {data.size()}, ctx);
  write_array(g, "indices", index_type, H5T_NATIVE_INT64, indices.data(), {indices.size()}, ctx);
  write_array(g, "indptr", index_type, H5T_NATIVE_INT64, indptr.data(), {indptr.size()}, ctx);
}

// Opens (creating with dict encoding as needed) the group holding uns key "a/b/c" -> uns/a/b.
Handle uns_parent(hid_t uns, const std::string& key, std::set<std::string>& made, std::string& leaf,
                  const std::string& ctx) {
  CELLOT_CHECK(!key.empty() && key.front() != '/' && key.back() != '/', "bad uns key '" + key + "'");
  std::string::size_type pos = 0;
  std::string prefix;
  while (true) {
    const auto slash = key.find('/', pos);
    if (slash == std::string::npos) break;
    prefix = key.substr(0, slash);
    if (made.insert(prefix).second) {
      CELLOT_CHECK(detail::object_type(uns, prefix) == H5I_BADID,
                   "uns key '" + prefix + "' is both a value and a group");
      dict_group(uns, prefix, ctx);
    }
    pos = slash + 1;
  }
  leaf = key.substr(pos);
  CELLOT_CHECK(!leaf.empty(), "bad uns key '" + key + "'");
  CELLOT_CHECK(detail::object_type(uns, key) == H5I_BADID, "uns key '" + key + "' written twice");
  return prefix.empty() ? h5::open_group(uns, ".", ctx) : h5::open_group(uns, prefix, ctx);
}

void write_uns(hid_t file, const AnnData& a, const std::string& ctx) {
  Handle uns = dict_group(file, "uns", ctx);
  std::set<std::string> made;
  std::string leaf;
  for (const auto& [key, value] : a.uns_strings) {
    Handle parent = uns_parent(uns, key, made, leaf, ctx);
    Handle type = h5::vlen_string_type();
    Handle d = h5::create_dataset(parent, leaf, type, {}, ctx);
    const char* p = value.c_str();
    CELLOT_H5_CHECK(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, &p), ctx + ":uns/" + key);
    detail::set_encoding(d, "string", "0.2.0", ctx);
  }
  for (const auto& [key, value] : a.uns_numbers) {
    Handle parent = uns_parent(uns, key, made, leaf, ctx);
    Handle d = h5::create_dataset(parent, leaf, H5T_IEEE_F64LE, {}, ctx);
    CELLOT_H5_CHECK(H5Dwrite(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), ctx + ":uns/" + key);
    detail::set_encoding(d, "numeric-scalar", "0.2.0", ctx);
  }
  for (const auto& [key, arr] : a.uns_arrays) {
    std::int64_t n = 1;
    std::vector<hsize_t> dims;
    for (auto s : arr.shape) {
      CELLOT_CHECK(s >= 0, "negative uns array dimension");
      dims.push_back(static_cast<hsize_t>(s));
      n *= s;
    }
    CELLOT_CHECK(!dims.empty() && n == static_cast<std::int64_t>(arr.data.size()),
                 "uns array '" + key + "' shape does not match its data");
    Handle parent = uns_parent(uns, key, made, leaf, ctx);
    write_array(parent, leaf, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, arr.data.data(), dims, ctx);
  }
  for (const auto& [key, values] : a.uns_string_arrays) {
    Handle parent = uns_parent(uns, key, made, leaf, ctx);
    write_string_array(parent, leaf, values, ctx);
  }
}

// Everything but X (and, when `layers_made`, the layers group, which the caller wrote).
void write_elements(hid_t file, const AnnData& a, std::int64_t n_obs, bool layers_made, const std::string& ctx) {
  write_dataframe(file, "obs", a.obs, ctx);
  write_dataframe(file, "var", a.var, ctx);
  {
    Handle obsm = dict_group(file, "obsm", ctx);
    for (const auto& [key, m] : a.obsm) {
      CELLOT_CHECK(m.rows == n_obs,
                   "obsm '" + key + "' has " + std::to_string(m.rows) + " rows, X has " + std::to_string(n_obs));
      write_array(obsm, key, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, m.data.data(),
                  {static_cast<hsize_t>(m.rows), static_cast<hsize_t>(m.cols)}, ctx);
    }
  }
  for (const char* empty : {"layers", "obsp", "varm", "varp"})
    if (!layers_made || std::string(empty) != "layers") dict_group(file, empty, ctx);
  write_uns(file, a, ctx);
}

void write_contents(hid_t file, const AnnData& a, const std::string& ctx) {
  Handle root = h5::open_group(file, "/", ctx);
  detail::set_encoding(root, "anndata", "0.1.0", ctx);
  write_x(file, a, ctx);
  write_elements(file, a, a.X.rows, false, ctx);
}

// Copies `n` values of a temporary file into a new contiguous dataset, in blocks.
template <class T>
void copy_part(const std::string& part, hid_t loc, const std::string& name, hid_t file_type, hid_t mem_type,
               std::int64_t n, const std::string& ctx) {
  Handle d = h5::create_dataset(loc, name, file_type, {static_cast<hsize_t>(n)}, ctx);
  std::FILE* in = std::fopen(part.c_str(), "rb");
  if (!in) throw RuntimeError(part + ": cannot open: " + std::strerror(errno));
  constexpr std::int64_t kBlock = std::int64_t{1} << 22;
  std::vector<T> buf(static_cast<std::size_t>(std::min(n, kBlock)));
  try {
    for (std::int64_t at = 0; at < n; at += kBlock) {
      const auto len = static_cast<hsize_t>(std::min(kBlock, n - at));
      if (std::fread(buf.data(), sizeof(T), len, in) != len) throw RuntimeError(part + ": short read");
      const hsize_t start = static_cast<hsize_t>(at);
      Handle fs(check_id(H5Dget_space(d), "H5Dget_space", ctx));
      CELLOT_H5_CHECK(H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, nullptr, &len, nullptr), ctx + ":" + name);
      Handle ms(check_id(H5Screate_simple(1, &len, nullptr), "H5Screate_simple", ctx));
      CELLOT_H5_CHECK(H5Dwrite(d, mem_type, ms, fs, H5P_DEFAULT, buf.data()), ctx + ":" + name);
    }
  } catch (...) {
    std::fclose(in);
    throw;
  }
  std::fclose(in);
  detail::set_encoding(d, "array", "0.2.0", ctx);
}

}  // namespace

void write_h5ad(const std::string& path, const AnnData& data) {
  CELLOT_CHECK(data.obs.rows() == data.X.rows,
               "obs has " + std::to_string(data.obs.rows()) + " rows, X has " + std::to_string(data.X.rows));
  CELLOT_CHECK(data.var.rows() == data.X.cols, "var has " + std::to_string(data.var.rows()) + " rows, X has " +
                                                   std::to_string(data.X.cols) + " columns");
  CELLOT_CHECK(static_cast<std::int64_t>(data.X.data.size()) == data.X.rows * data.X.cols, "X data size");
  const std::string tmp = path + ".tmp";
  try {
    Handle file = h5::create_file(tmp);
    write_contents(file, data, tmp);
    h5::close_file(file, tmp);
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw RuntimeError(path + ": cannot rename " + tmp + " into place: " + why);
  }
}


H5adCsrWriter::H5adCsrWriter(const std::string& path, std::int64_t n_vars, std::vector<std::string> int_layers)
    : path_(path), n_vars_(n_vars), layers_(std::move(int_layers)) {
  CELLOT_CHECK(n_vars_ > 0 && n_vars_ <= std::numeric_limits<std::int32_t>::max(), "H5adCsrWriter: bad n_vars");
  parts_.push_back(path_ + ".tmp.indices");
  parts_.push_back(path_ + ".tmp.data");
  for (const auto& l : layers_) parts_.push_back(path_ + ".tmp.layer." + l);
  for (const auto& p : parts_) {
    std::FILE* f = std::fopen(p.c_str(), "wb");
    if (!f) {
      close_parts();
      throw RuntimeError(p + ": cannot create: " + std::strerror(errno));
    }
    out_.push_back(f);
  }
}

H5adCsrWriter::~H5adCsrWriter() {
  close_parts();
  if (!done_) std::remove((path_ + ".tmp").c_str());
}

void H5adCsrWriter::close_parts() {
  for (std::FILE* f : out_) std::fclose(f);
  out_.clear();
  for (const auto& p : parts_) std::remove(p.c_str());
}

void H5adCsrWriter::append(const std::vector<std::int64_t>& row_nnz, const std::vector<std::int32_t>& indices,
                           const std::vector<float>& values,
                           const std::vector<std::vector<std::int32_t>>& layer_values) {
  CELLOT_CHECK(!done_ && !out_.empty(), "H5adCsrWriter: append after finish");
  CELLOT_CHECK(values.size() == indices.size() && layer_values.size() == layers_.size(),
               "H5adCsrWriter: value arrays do not match the indices");
  std::int64_t total = 0;
  for (std::int64_t k : row_nnz) {
    total += k;
    indptr_.push_back(indptr_.back() + k);
  }
  CELLOT_CHECK(total == static_cast<std::int64_t>(indices.size()), "H5adCsrWriter: row_nnz does not sum to nnz");
  auto put = [&](std::size_t part, const void* p, std::size_t size) {
    if (indices.empty()) return;
    if (std::fwrite(p, size, indices.size(), out_[part]) != indices.size())
      throw RuntimeError(parts_[part] + ": write failed: " + std::strerror(errno));
  };
  put(0, indices.data(), sizeof(std::int32_t));
  put(1, values.data(), sizeof(float));
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    CELLOT_CHECK(layer_values[l].size() == indices.size(), "H5adCsrWriter: layer values do not match the indices");
    put(2 + l, layer_values[l].data(), sizeof(std::int32_t));
  }
}

namespace {

Handle csr_group(hid_t file, const std::string& name, std::int64_t rows, std::int64_t cols, const std::string& ctx) {
  Handle g = h5::create_group(file, name, ctx);
  detail::set_encoding(g, "csr_matrix", "0.1.0", ctx);
  write_attr_int64s(g, "shape", {rows, cols}, ctx);
  return g;
}

}  // namespace

void H5adCsrWriter::finish(const AnnData& meta) {
  CELLOT_CHECK(!done_ && !out_.empty(), "H5adCsrWriter: finish twice");
  CELLOT_CHECK(meta.obs.rows() == rows(), "H5adCsrWriter: obs has " + std::to_string(meta.obs.rows()) +
                                              " rows, the matrix " + std::to_string(rows()));
  CELLOT_CHECK(meta.var.rows() == n_vars_, "H5adCsrWriter: var rows differ from the matrix columns");
  for (std::size_t i = 0; i < out_.size(); ++i)
    if (std::fflush(out_[i]) != 0) throw RuntimeError(parts_[i] + ": write failed: " + std::strerror(errno));
  const std::string tmp = path_ + ".tmp";
  {
    Handle file = h5::create_file(tmp);
    Handle root = h5::open_group(file, "/", tmp);
    detail::set_encoding(root, "anndata", "0.1.0", tmp);
    // scipy's choice: 32-bit indices while the non-zeros fit.
    const bool i32 = nnz() <= std::numeric_limits<std::int32_t>::max();
    const hid_t index_type = i32 ? H5T_STD_I32LE : H5T_STD_I64LE;
    {
      Handle x = csr_group(file, "X", rows(), n_vars_, tmp);
      copy_part<float>(parts_[1], x, "data", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, nnz(), tmp);
      copy_part<std::int32_t>(parts_[0], x, "indices", index_type, H5T_NATIVE_INT32, nnz(), tmp);
      write_array(x, "indptr", index_type, H5T_NATIVE_INT64, indptr_.data(), {indptr_.size()}, tmp);
    }
    Handle layers = dict_group(file, "layers", tmp);
    for (std::size_t l = 0; l < layers_.size(); ++l) {
      Handle g = csr_group(layers, layers_[l], rows(), n_vars_, tmp);
      copy_part<std::int32_t>(parts_[2 + l], g, "data", H5T_STD_I32LE, H5T_NATIVE_INT32, nnz(), tmp);
      for (const char* shared : {"indices", "indptr"})
        CELLOT_H5_CHECK(H5Lcreate_hard(file, (std::string("X/") + shared).c_str(), g, shared, H5P_DEFAULT, H5P_DEFAULT),
                        tmp + ":layers/" + layers_[l] + "/" + shared);
    }
    write_elements(file, meta, rows(), true, tmp);
    h5::close_file(file, tmp);
  }
  close_parts();
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    throw RuntimeError(path_ + ": cannot rename " + tmp + " into place: " + why);
  }
  done_ = true;
}

}  // namespace cellot::io

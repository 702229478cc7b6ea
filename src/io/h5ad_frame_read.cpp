// obs / var dataframes from every layout current anndata reads (see h5ad.hpp): 0.8+ groups with
// encoded columns, 0.7 groups with categories behind object references, 0.6 compound datasets
// with categories in uns.
#include <algorithm>
#include <cstdio>
#include <set>

#include "cellot/core/error.hpp"
#include "cellot/core/log.hpp"
#include "h5ad_detail.hpp"

namespace cellot::io::detail {

using h5::check_id;
using h5::Handle;

namespace {

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.15g", v);
  return buf;
}

// Categories of any stored type as text (numeric categories, e.g. plate numbers, too).
std::vector<std::string> read_categories(hid_t dset, const std::string& file, const std::string& key) {
  Handle ftype(check_id(H5Dget_type(dset), "H5Dget_type", file));
  if (H5Tget_class(ftype) == H5T_STRING) return read_strings(dset, file, key);
  std::vector<std::string> out;
  for (double v : read_doubles(dset, file, key)) out.push_back(format_number(v));
  return out;
}

void set_codes(Column& col, const std::vector<std::int64_t>& raw, const std::string& file, const std::string& key) {
  const auto ncat = static_cast<std::int64_t>(col.categories.size());
  col.kind = Column::Kind::categorical;
  col.codes.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] < -1 || raw[i] >= ncat)
      throw InputError(file, key, std::to_string(raw[i]) + " at row " + std::to_string(i),
                       "category code out of range [-1, " + std::to_string(ncat) + ")");
    col.codes.push_back(static_cast<std::int32_t>(raw[i]));
  }
}

// The hint for a column we cannot read: make it strings with anndata and write the file again.
std::string column_hint(const std::string& file, const std::string& frame, const std::string& name) {
  const std::string out = file + ".converted.h5ad";
  return "convert it with python3 -c \"import anndata; a = anndata.read_h5ad('" + file + "'); a." + frame + "['" +
         name + "'] = a." + frame + "['" + name + "'].astype(str); a.write_h5ad('" + out + "')\"";
}

// anndata >= 0.8 nullable columns: a group with values and an optional mask (True = missing).
void read_nullable(hid_t g, const std::string& enc, Column& col, const std::string& file, const std::string& key) {
  if (detail::object_type(g, "values") != H5I_DATASET)
    throw InputError(file, key + "/values", "", "missing values of a " + enc + " column");
  Handle values = h5::open_dataset(g, "values", file);
  col.nullable = true;
  if (enc == "nullable-integer") {
    col.kind = Column::Kind::int64;
    col.ints = read_int64s(values, file, key + "/values");
  } else if (enc == "nullable-boolean") {
    col.kind = Column::Kind::boolean;
    col.ints = read_int64s(values, file, key + "/values");
    for (auto& v : col.ints) v = v != 0;
  } else {
    col.kind = Column::Kind::string;
    col.strings = read_strings(values, file, key + "/values");
  }
  if (detail::object_type(g, "mask") == H5I_DATASET) {
    Handle mask = h5::open_dataset(g, "mask", file);
    const auto m = read_int64s(mask, file, key + "/mask");
    if (m.size() != static_cast<std::size_t>(col.size()))
      throw InputError(file, key + "/mask", std::to_string(m.size()) + " values",
                       "mask length differs from values (" + std::to_string(col.size()) + ")");
    col.missing.assign(m.size(), 0);
    for (std::size_t i = 0; i < m.size(); ++i) col.missing[i] = m[i] != 0;
  }
}

// One column; returns false (with `why`) for an element we do not read.
bool read_column(hid_t frame, const std::string& group, const std::string& name, const std::string& file,
                 Column& col, std::string& why) {
  const std::string key = group + "/" + name;
  col = Column{};
  col.name = name;
  const H5I_type_t type = detail::object_type(frame, name);
  if (type == H5I_GROUP) {
    Handle g = h5::open_group(frame, name, file);
    const std::string enc = encoding_type(g);
    if (enc == "nullable-integer" || enc == "nullable-boolean" || enc == "nullable-string-array") {
      read_nullable(g, enc, col, file, key);
      return true;
    }
    if (enc != "categorical") {
      why = "a column of encoding '" + (enc.empty() ? std::string("(none)") : enc) +
            "', which cellot does not read (categorical, string, numeric, bool and nullable columns): " +
            column_hint(file, group, name);
      return false;
    }
    if (detail::object_type(g, "categories") != H5I_DATASET || detail::object_type(g, "codes") != H5I_DATASET)
      throw InputError(file, key, "", "categorical column without categories/codes");
    Handle cats = h5::open_dataset(g, "categories", file);
    col.categories = read_categories(cats, file, key + "/categories");
    Handle codes = h5::open_dataset(g, "codes", file);
    set_codes(col, read_int64s(codes, file, key + "/codes"), file, key + "/codes");
    return true;
  }
  if (type != H5I_DATASET) throw InputError(file, key, "", "listed in column-order but missing");
  Handle d = h5::open_dataset(frame, name, file);
  if (h5::dataset_dims(d, file + ":" + key).size() > 1) {
    why = "a 2-d column, which cellot does not read: " + column_hint(file, group, name);
    return false;
  }
  if (h5::has_attr(d, "categories")) {  // anndata 0.7: codes, categories behind a reference
    Handle cats = open_attr_reference(d, "categories", file, key);
    if (H5Iget_type(cats) != H5I_DATASET) throw InputError(file, key + "@categories", "", "does not point to a dataset");
    col.categories = read_categories(cats, file, key + "@categories");
    set_codes(col, read_int64s(d, file, key), file, key);
    return true;
  }
  Handle ftype(check_id(H5Dget_type(d), "H5Dget_type", file));
  switch (H5Tget_class(ftype)) {
    case H5T_STRING:
      col.kind = Column::Kind::string;
      col.strings = read_strings(d, file, key);
      return true;
    case H5T_FLOAT:
      col.kind = Column::Kind::float64;
      col.floats = read_doubles(d, file, key);
      return true;
    case H5T_INTEGER:
      col.kind = Column::Kind::int64;
      col.ints = read_int64s(d, file, key);
      return true;
    case H5T_ENUM:
      col.kind = Column::Kind::boolean;
      col.ints = read_int64s(d, file, key);
      return true;
    default:
      why = "a column of type " + dtype_name(d, file) + ", which cellot does not read: " + column_hint(file, group, name);
      return false;
  }
}

// The index as text (a categorical index, as 0.7 may write, too).
std::vector<std::string> column_text(const Column& c) {
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(c.size()));
  for (std::int64_t r = 0; r < c.size(); ++r) out.push_back(c.value(r));
  return out;
}

void add_column(DataFrame& df, Column c, const std::string& file, const std::string& key) {
  if (c.size() != df.rows())
    throw InputError(file, key, std::to_string(c.size()) + " rows",
                     "column length differs from the index (" + std::to_string(df.rows()) + ")");
  df.columns.push_back(std::move(c));
}

DataFrame read_group_frame(hid_t file_id, const std::string& group, const std::string& file) {
  DataFrame df;
  Handle g = h5::open_group(file_id, group, file);
  const std::string index_name = h5::has_attr(g, "_index") ? h5::read_attr_string(g, "_index", file) : "_index";
  if (detail::object_type(g, index_name) != H5I_DATASET)
    throw InputError(file, group + "/" + index_name, "", "missing dataframe index (obs/var names)");
  {
    Column idx;
    std::string why;
    if (!read_column(g, group, index_name, file, idx, why)) throw InputError(file, group + "/" + index_name, "", why);
    df.index = column_text(idx);
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
  std::set<std::string> seen;
  for (const auto& name : order) {
    if (!seen.insert(name).second)
      throw InputError(file, group + "@column-order", name, "column listed twice (column names must be unique)");
    Column c;
    std::string why;
    if (read_column(g, group, name, file, c, why))
      add_column(df, std::move(c), file, group + "/" + name);
    else
      df.unread[name] = why;
  }
  return df;
}

// anndata 0.6: one record per row, the first field the index (whatever its name, as anndata's
// read_dataframe_legacy sets it).
DataFrame read_compound_frame(hid_t file_id, const std::string& element, const std::string& file) {
  DataFrame df;
  Handle d = h5::open_dataset(file_id, element, file);
  if (h5::dataset_dims(d, file + ":" + element).size() != 1)
    throw InputError(file, element, "", "a dataframe stored as a dataset must be a 1-d compound dataset");
  const auto members = compound_members(d, file + ":" + element);
  if (members.empty()) throw InputError(file, element, "", "a dataframe stored as a dataset must be compound");
  std::set<std::string> seen;
  for (std::size_t i = 0; i < members.size(); ++i) {
    const std::string& m = members[i];
    const std::string key = element + "/" + m;
    if (i > 0 && !seen.insert(m).second) throw InputError(file, element, m, "field listed twice");
    Column c;
    c.name = m;
    switch (compound_member_class(d, m, file)) {
      case H5T_STRING:
        c.kind = Column::Kind::string;
        c.strings = read_member_strings(d, m, file, key);
        break;
      case H5T_INTEGER:
        c.kind = Column::Kind::int64;
        c.ints = read_member_int64s(d, m, file, key);
        break;
      case H5T_FLOAT:
        c.kind = Column::Kind::float64;
        c.floats = read_member_doubles(d, m, file, key);
        break;
      case H5T_ENUM:
        c.kind = Column::Kind::boolean;
        c.ints = read_member_int64s(d, m, file, key);
        break;
      default:
        if (i == 0) throw InputError(file, key, "", "unsupported index type");
        df.unread[m] = "a field of a type cellot does not read: " + convert_hint(file);
        continue;
    }
    if (i == 0) {
      df.index = column_text(c);
      continue;
    }
    add_column(df, std::move(c), file, key);
  }
  return df;
}

// anndata's _clean_uns: uns/<name>_categories turns the integer column <name> of obs and of var
// into a categorical when every code is below the number of categories (else it stays integer).
void apply_uns_categories(DataFrame& df, const std::string& element, const UnsCategories& cats,
                          const std::string& file) {
  for (const auto& [name, categories] : cats) {
    for (auto& c : df.columns) {
      if (c.name != name || c.kind != Column::Kind::int64 || c.nullable) continue;
      const auto n = static_cast<std::int64_t>(categories.size());
      if (!std::all_of(c.ints.begin(), c.ints.end(), [n](std::int64_t v) { return v < n; })) {
        log::debug(file + ": " + element + "/" + name + ": codes reach beyond uns/" + name +
                   "_categories; kept as integers, as anndata does");
        continue;
      }
      Column cat;
      cat.name = c.name;
      cat.categories = categories;
      set_codes(cat, c.ints, file, element + "/" + name);
      c = std::move(cat);
    }
  }
}

}  // namespace

UnsCategories read_uns_categories(hid_t file_id, const std::string& file) {
  UnsCategories out;
  if (detail::object_type(file_id, "uns") != H5I_GROUP) return out;
  Handle uns = h5::open_group(file_id, "uns", file);
  const std::string suffix = "_categories";
  for (const auto& key : child_names(uns, file)) {
    if (key.size() <= suffix.size() || key.compare(key.size() - suffix.size(), suffix.size(), suffix) != 0) continue;
    if (detail::object_type(uns, key) != H5I_DATASET) continue;
    // Python's str.replace: every occurrence goes.
    std::string name = key;
    for (auto pos = name.find(suffix); pos != std::string::npos; pos = name.find(suffix)) name.erase(pos, suffix.size());
    Handle d = h5::open_dataset(uns, key, file);
    out[name] = read_categories(d, file, "uns/" + key);
  }
  return out;
}

DataFrame read_dataframe(hid_t file_id, const std::string& element, const std::string& file,
                         const UnsCategories& uns_categories) {
  DataFrame df = detail::object_type(file_id, element) == H5I_DATASET ? read_compound_frame(file_id, element, file)
                                                                      : read_group_frame(file_id, element, file);
  if (element == "obs" || element == "var") apply_uns_categories(df, element, uns_categories, file);
  return df;
}

}  // namespace cellot::io::detail

// Column and DataFrame: the in-memory form of anndata's obs/var dataframes.
#include <cmath>
#include <cstdio>
#include <unordered_map>

#include "cellot/core/error.hpp"
#include "cellot/io/h5ad.hpp"

namespace cellot::io {

std::int64_t Column::size() const {
  switch (kind) {
    case Kind::categorical: return static_cast<std::int64_t>(codes.size());
    case Kind::string: return static_cast<std::int64_t>(strings.size());
    case Kind::float64: return static_cast<std::int64_t>(floats.size());
    case Kind::int64:
    case Kind::boolean: return static_cast<std::int64_t>(ints.size());
  }
  return 0;
}

bool Column::is_missing(std::int64_t row) const {
  CELLOT_CHECK(row >= 0 && row < size(), "column '" + name + "' row out of range");
  const auto r = static_cast<std::size_t>(row);
  if (!missing.empty()) return missing[r] != 0;
  return kind == Kind::categorical && codes[r] < 0;
}

std::string Column::value(std::int64_t row) const {
  CELLOT_CHECK(row >= 0 && row < size(), "column '" + name + "' row out of range");
  const auto r = static_cast<std::size_t>(row);
  if (!missing.empty() && missing[r]) return {};
  switch (kind) {
    case Kind::categorical: {
      const std::int32_t c = codes[r];
      return c < 0 ? std::string() : categories[static_cast<std::size_t>(c)];
    }
    case Kind::string: return strings[r];
    case Kind::float64: {
      // %.15g: round-trips what a user types ("1", "0.5") without binary noise.
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.15g", floats[r]);
      return buf;
    }
    case Kind::int64: return std::to_string(ints[r]);
    case Kind::boolean: return ints[r] ? "True" : "False";  // as pandas prints them
  }
  return {};
}

Column Column::select_rows(const std::vector<std::int64_t>& rows) const {
  Column out;
  out.name = name;
  out.kind = kind;
  out.categories = categories;
  out.nullable = nullable;
  const std::int64_t n = size();
  auto pick = [&](const auto& src, auto& dst) {
    dst.reserve(rows.size());
    for (std::int64_t r : rows) {
      CELLOT_CHECK(r >= 0 && r < n, "column '" + name + "' row out of range");
      dst.push_back(src[static_cast<std::size_t>(r)]);
    }
  };
  switch (kind) {
    case Kind::categorical: pick(codes, out.codes); break;
    case Kind::string: pick(strings, out.strings); break;
    case Kind::float64: pick(floats, out.floats); break;
    case Kind::int64:
    case Kind::boolean: pick(ints, out.ints); break;
  }
  if (!missing.empty()) pick(missing, out.missing);
  return out;
}

Column Column::make_categorical(std::string name, const std::vector<std::string>& values) {
  std::vector<std::string> categories;
  std::unordered_map<std::string, std::int32_t> seen;
  for (const auto& v : values)
    if (seen.emplace(v, static_cast<std::int32_t>(categories.size())).second) categories.push_back(v);
  return make_categorical(std::move(name), values, std::move(categories));
}

Column Column::make_categorical(std::string name, const std::vector<std::string>& values,
                                std::vector<std::string> categories) {
  Column c;
  c.name = std::move(name);
  c.kind = Kind::categorical;
  std::unordered_map<std::string, std::int32_t> code_of;
  for (std::size_t i = 0; i < categories.size(); ++i) {
    const bool fresh = code_of.emplace(categories[i], static_cast<std::int32_t>(i)).second;
    CELLOT_CHECK(fresh, "duplicate category '" + categories[i] + "' in column '" + c.name + "'");
  }
  c.codes.reserve(values.size());
  for (const auto& v : values) {
    auto it = code_of.find(v);
    CELLOT_CHECK(it != code_of.end(), "value '" + v + "' is not a category of column '" + c.name + "'");
    c.codes.push_back(it->second);
  }
  c.categories = std::move(categories);
  return c;
}

Column Column::make_strings(std::string name, std::vector<std::string> values) {
  Column c;
  c.name = std::move(name);
  c.kind = Kind::string;
  c.strings = std::move(values);
  return c;
}

Column Column::make_floats(std::string name, std::vector<double> values) {
  Column c;
  c.name = std::move(name);
  c.kind = Kind::float64;
  c.floats = std::move(values);
  return c;
}

Column Column::make_ints(std::string name, std::vector<std::int64_t> values) {
  Column c;
  c.name = std::move(name);
  c.kind = Kind::int64;
  c.ints = std::move(values);
  return c;
}

Column Column::make_bools(std::string name, std::vector<std::int64_t> values) {
  Column c;
  c.name = std::move(name);
  c.kind = Kind::boolean;
  for (auto& v : values) v = v != 0;
  c.ints = std::move(values);
  return c;
}

const Column* DataFrame::find(const std::string& name) const {
  for (const auto& c : columns)
    if (c.name == name) return &c;
  return nullptr;
}

const Column& DataFrame::require(const std::string& name, const std::string& file, const std::string& key) const {
  if (const Column* c = find(name)) return *c;
  if (auto it = unread.find(name); it != unread.end()) throw InputError(file, key, name, "obs column not read: " + it->second);
  std::string have;
  for (std::size_t i = 0; i < columns.size() && i < 10; ++i) have += (i ? ", " : "") + columns[i].name;
  if (columns.size() > 10) have += ", ... (" + std::to_string(columns.size()) + " in all)";
  throw InputError(file, key, name, "no such obs column (have: " + (columns.empty() ? "none" : have) + ")");
}

void DataFrame::set(Column column) {
  for (auto& c : columns)
    if (c.name == column.name) {
      c = std::move(column);
      return;
    }
  columns.push_back(std::move(column));
}

DataFrame DataFrame::select_rows(const std::vector<std::int64_t>& rows) const {
  DataFrame out;
  out.index.reserve(rows.size());
  for (std::int64_t r : rows) {
    CELLOT_CHECK(r >= 0 && r < this->rows(), "dataframe row out of range");
    out.index.push_back(index[static_cast<std::size_t>(r)]);
  }
  for (const auto& c : columns) out.columns.push_back(c.select_rows(rows));
  return out;
}

}  // namespace cellot::io

// Helper for the anndata cross-check (h5ad_roundtrip.sh), printing JSON for python to compare:
//   h5ad_tool write OUT array|csr_matrix|csc_matrix [f64]   writes a sample with every element
//                                                          kind; prints what it wrote
//   h5ad_tool dump IN                                       prints what read_h5ad and the
//                                                          row-selective reader return
//   h5ad_tool truemap IN PERTURBATION N                     T*(x) of the first N control cells
//   h5ad_tool layer IN LAYER                                every row of a layer (X, raw,
//                                                          layers/<name>), its obs, var, the
//                                                          layers and obsm the file holds
#include <cmath>
#include <cstdio>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>

#include "cellot/models/kinds.hpp"
#include "cellot/core/error.hpp"
#include "cellot/data/synth.hpp"
#include "cellot/io/h5ad.hpp"

using namespace cellot;

namespace {

std::string q(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::string strings(const std::vector<std::string>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + q(v[i]);
  return s + "]";
}

template <class T>
std::string numbers(const std::vector<T>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + num(static_cast<double>(v[i]));
  return s + "]";
}

std::string matrix(const Matrix& m) {
  return "{\"shape\":[" + std::to_string(m.rows) + "," + std::to_string(m.cols) + "],\"data\":" + numbers(m.data) + "}";
}

std::string frame(const io::DataFrame& df) {
  std::string s = "{\"index\":" + strings(df.index) + ",\"columns\":[";
  for (std::size_t c = 0; c < df.columns.size(); ++c) {
    const auto& col = df.columns[c];
    s += c ? "," : "";
    s += "{\"name\":" + q(col.name) + ",\"kind\":";
    switch (col.kind) {
      case io::Column::Kind::categorical:
        s += "\"categorical\",\"categories\":" + strings(col.categories) + ",\"codes\":" + numbers(col.codes);
        break;
      case io::Column::Kind::string: s += "\"string\",\"values\":" + strings(col.strings); break;
      case io::Column::Kind::float64: s += "\"float\",\"values\":" + numbers(col.floats); break;
      case io::Column::Kind::int64: s += "\"int\",\"values\":" + numbers(col.ints); break;
      case io::Column::Kind::boolean: s += "\"bool\",\"values\":" + numbers(col.ints); break;
    }
    if (col.nullable) s += ",\"nullable\":true";
    if (!col.missing.empty()) s += ",\"missing\":" + numbers(col.missing);
    s += "}";
  }
  return s + "]}";
}

std::string anndata(const io::AnnData& a) {
  std::string s = "{\"X\":" + matrix(a.X) + ",\"x_encoding\":" + q(a.x_encoding) +
                  ",\"x_float64\":" + (a.x_float64 ? "true" : "false") + ",\"obs\":" + frame(a.obs) +
                  ",\"var\":" + frame(a.var) + ",\"obsm\":{";
  bool first = true;
  for (const auto& [k, m] : a.obsm) {
    s += (first ? "" : ",") + q(k) + ":" + matrix(m);
    first = false;
  }
  s += "},\"uns_strings\":{";
  first = true;
  for (const auto& [k, v] : a.uns_strings) {
    s += (first ? "" : ",") + q(k) + ":" + q(v);
    first = false;
  }
  s += "},\"uns_numbers\":{";
  first = true;
  for (const auto& [k, v] : a.uns_numbers) {
    s += (first ? "" : ",") + q(k) + ":" + num(v);
    first = false;
  }
  s += "},\"uns_arrays\":{";
  first = true;
  for (const auto& [k, v] : a.uns_arrays) {
    s += (first ? "" : ",") + q(k) + ":{\"shape\":" + numbers(v.shape) + ",\"data\":" + numbers(v.data) + "}";
    first = false;
  }
  s += "},\"uns_string_arrays\":{";
  first = true;
  for (const auto& [k, v] : a.uns_string_arrays) {
    s += (first ? "" : ",") + q(k) + ":" + strings(v);
    first = false;
  }
  return s + "}}";
}

io::AnnData sample(const std::string& encoding, bool f64) {
  io::AnnData a;
  const std::int64_t n = 23, d = 4;
  a.X = Matrix(n, d);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < d; ++j)
      a.X(i, j) = (i + j) % 3 == 0 ? 0.0
                                   : (f64 ? std::sin(static_cast<double>(i * d + j))
                                          : static_cast<double>(i) - 0.25 * static_cast<double>(j));
  a.x_encoding = encoding;
  a.x_float64 = f64;
  std::vector<std::string> cond, note;
  std::vector<double> dose;
  std::vector<std::int64_t> plate, flag;
  for (std::int64_t i = 0; i < n; ++i) {
    a.obs.index.push_back("cell_" + std::to_string(i));
    cond.push_back(i % 3 == 0 ? "control" : (i % 3 == 1 ? "drug A" : "Trametinib+Erlotinib"));
    note.push_back("n\xC3\xA9" + std::to_string(i));
    dose.push_back(0.5 * static_cast<double>(i));
    plate.push_back(i - 7);
    flag.push_back(i % 2);
  }
  a.obs.columns.push_back(
      io::Column::make_categorical("condition", cond, {"control", "drug A", "Trametinib+Erlotinib", "unused"}));
  a.obs.columns.push_back(io::Column::make_strings("note", note));
  a.obs.columns.push_back(io::Column::make_floats("dose", dose));
  a.obs.columns.push_back(io::Column::make_ints("plate", plate));
  a.obs.columns.push_back(io::Column::make_bools("flag", flag));
  for (std::int64_t j = 0; j < d; ++j) a.var.index.push_back("Intensity_Cell_m" + std::to_string(j));
  a.var.columns.push_back(io::Column::make_categorical("kind", {"a", "b", "a", "b"}));
  Matrix emb(n, 3);
  for (std::int64_t i = 0; i < n; ++i)
    for (std::int64_t j = 0; j < 3; ++j) emb(i, j) = static_cast<double>(i * 3 + j) / 7.0;
  a.obsm["X_emb"] = emb;
  a.uns_strings["title"] = "cross-check";
  a.uns_strings["nested/deeper/label"] = "inner";
  a.uns_numbers["nested/answer"] = 42.5;
  a.uns_arrays["nested/matrix"] = {{2, 3}, {1, 2, 3, 4, 5, 6.25}};
  a.uns_arrays["vector"] = {{3}, {-1, 0, 1}};
  a.uns_string_arrays["names"] = {"x", "y z"};
  return a;
}

int run(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "write" && argc >= 4) {
    const auto a = sample(argv[3], argc >= 5 && std::string(argv[4]) == "f64");
    io::write_h5ad(argv[2], a);
    std::cout << anndata(a) << "\n";
    return 0;
  }
  if (cmd == "dump" && argc == 3) {
    const auto a = io::read_h5ad(argv[2]);
    io::H5adReader r(argv[2]);
    // A scattered, unsorted selection with a repeat, through the row-selective path.
    std::vector<std::int64_t> rows;
    for (std::int64_t i = r.n_obs() - 1; i >= 0; i -= 3) rows.push_back(i);
    if (r.n_obs() > 0) rows.push_back(0);
    std::cout << "{\"anndata\":" << anndata(a) << ",\"x_dtype\":" << q(r.x_dtype()) << ",\"rows\":" << numbers(rows)
              << ",\"selected\":" << matrix(r.read_rows(rows)) << "}\n";
    return 0;
  }
  if (cmd == "truemap" && argc == 5) {
    io::H5adReader r(argv[2]);
    const auto* cond = r.obs().find("condition");
    std::vector<std::int64_t> rows;
    const auto n = std::stoll(argv[4]);
    for (std::int64_t i = 0; i < r.n_obs() && static_cast<std::int64_t>(rows.size()) < n; ++i)
      if (cond->value(i) == "control") rows.push_back(i);
    const Matrix x = r.read_rows(rows);
    std::cout << "{\"rows\":" << numbers(rows)
              << ",\"y\":" << matrix(data::SynthMaps::from_file(argv[2]).apply(argv[3], x)) << "}\n";
    return 0;
  }
  if (cmd == "layer" && argc == 4) {
    io::H5adReader r(argv[2], MPI_COMM_NULL, argv[3]);
    std::vector<std::int64_t> all(static_cast<std::size_t>(r.n_obs()));
    std::iota(all.begin(), all.end(), 0);
    std::string obsm = "{";
    for (const auto& k : r.obsm_keys()) obsm += (obsm.size() > 1 ? "," : "") + q(k) + ":" + matrix(r.read_obsm_rows(k, all));
    std::cout << "{\"X\":" << matrix(r.read_rows(all)) << ",\"element\":" << q(r.layer_element())
              << ",\"encoding\":" << q(r.x_encoding()) << ",\"dtype\":" << q(r.x_dtype())
              << ",\"layers\":" << strings(r.layers()) << ",\"obs\":" << frame(r.obs()) << ",\"var\":" << frame(r.var())
              << ",\"obsm\":" << obsm << "}}\n";
    return 0;
  }
  std::cerr << "usage: h5ad_tool write OUT ENC [f64] | dump IN | truemap IN P N | layer IN LAYER\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  cellot::register_model_kinds(cellot::models::kinds());
  try {
    return run(argc, argv);
  } catch (const InputError& e) {
    std::cerr << "h5ad_tool: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "h5ad_tool: " << e.what() << "\n";
    return 1;
  }
}

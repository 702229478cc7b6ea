#pragma once
// The results store's schema (docs/STORE.md) in one table: every dataset with its type, its
// rows and its value in a freshly created store, and every attribute of the plan that a
// StoreSpec carries. Store::create makes and initialises what the table lists, Store::open
// opens and reads it back, and layout checks (--resume, merge) compare two stores' tables.
#include <hdf5.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "cellot/io/h5.hpp"
#include "cellot/io/store.hpp"

namespace cellot::io::detail {

inline constexpr std::size_t kModelLen = 16, kMessageLen = 256, kHostLen = 64, kTimeLen = 32, kColumnsLen = 256,
                             kLayoutLen = 1024;

enum class Kind { i8, i32, i64, u8, u64, f32, f64, text };
// One element as the table deals with it (numbers widened; strings as text).
using Value = std::variant<std::int64_t, std::uint64_t, double, std::string>;

struct Column {
  std::string path;  // e.g. "/status/state", "/params/cellot/values"
  Kind kind = Kind::f64;
  // Rows first: the plan's tasks, one model's parameter rows, or every task's predicted cells.
  std::vector<hsize_t> dims;
  std::size_t width = 0;       // fixed string width (text)
  // Rank 0 writes row t's value at creation (nullptr: never written before its row is; the row
  // means something only once its done flag is set).
  std::function<Value(std::size_t t)> initial;
  // Plan columns: the value read back into the task's PlanRow on open.
  std::function<void(PlanRow&, const Value&)> to_plan;
};

// Everything a store of this spec holds, in creation order. `key_len` / `pert_len`: the widths
// of the task key and perturbation columns (from the spec on create, from the file on open).
std::vector<Column> store_schema(const StoreSpec& spec, const std::vector<std::int64_t>& params_row,
                                 const std::vector<std::int64_t>& pred_offset, std::size_t key_len,
                                 std::size_t pert_len);

// The /effects datasets of a spec (created when spec.effects): per-task mean changes from
// control, predicted and observed (and for a holdout screen the in-distribution pair), [T, d] f8.
std::vector<std::string> effect_datasets(const StoreSpec& spec);

// The HDF5 file type of a column (a fixed-length, NUL-padded string for text).
h5::Handle file_type(const Column& c, const std::string& ctx);
// The native memory type of a column's elements.
h5::Handle memory_type(const Column& c, const std::string& ctx);
std::size_t element_size(const Column& c);
// A buffer of `values` in the memory type of `c`.
std::vector<char> encode_values(const Column& c, const std::vector<Value>& values);
std::vector<Value> decode_values(const Column& c, const std::vector<char>& bytes);

// Attributes of /plan, /metrics and /curves that a StoreSpec carries, written by create and read
// by open from this one list.
struct SpecAttribute {
  const char* group;
  const char* name;
  std::string StoreSpec::*text = nullptr;
  std::vector<std::string> StoreSpec::*list = nullptr;
  int StoreSpec::*integer = nullptr;
};
const std::vector<SpecAttribute>& spec_attributes();

// Text lists as the store keeps them: joined by `sep`; split keeps empty parts ("" -> none).
std::string join(const std::vector<std::string>& v, char sep);
std::vector<std::string> split(const std::string& s, char sep);

// Where each task's row lives in the per-model and prediction datasets.
void compute_rows(const StoreSpec& spec, std::vector<std::int64_t>& params_row, std::vector<std::int64_t>& pred_offset,
                  std::map<std::string, std::int64_t>& per_model, std::int64_t& n_pred);

}  // namespace cellot::io::detail

#include "detail/store_schema.hpp"

#include <algorithm>
#include <cstring>

#include "cellot/core/error.hpp"

namespace cellot::io::detail {

using h5::check_id;
using h5::Handle;

void compute_rows(const StoreSpec& spec, std::vector<std::int64_t>& params_row, std::vector<std::int64_t>& pred_offset,
                  std::map<std::string, std::int64_t>& per_model, std::int64_t& n_pred) {
  params_row.assign(spec.tasks.size(), -1);
  pred_offset.assign(spec.tasks.size(), 0);
  n_pred = 0;
  for (std::size_t t = 0; t < spec.tasks.size(); ++t) {
    const auto& task = spec.tasks[t];
    if (spec.param_layout(task.model)) params_row[t] = per_model[task.model]++;
    pred_offset[t] = n_pred;
    n_pred += task.prediction_capacity;
  }
}

namespace {

// A plan column: written from and read back into a PlanRow field.
template <class F>
Column plan_column(const StoreSpec& spec, const char* name, Kind kind, F PlanRow::*field, std::size_t width = 0) {
  Column c;
  c.path = std::string("/plan/") + name;
  c.kind = kind;
  c.dims = {spec.tasks.size()};
  c.width = width;
  c.initial = [&spec, field](std::size_t t) -> Value {
    const F& v = spec.tasks[t].*field;
    if constexpr (std::is_same_v<F, std::string>)
      return v;
    else if constexpr (std::is_floating_point_v<F>)
      return static_cast<double>(v);
    else if constexpr (std::is_unsigned_v<F>)
      return static_cast<std::uint64_t>(v);
    else
      return static_cast<std::int64_t>(v);
  };
  c.to_plan = [field](PlanRow& r, const Value& v) {
    if constexpr (std::is_same_v<F, std::string>)
      r.*field = std::get<std::string>(v);
    else if constexpr (std::is_floating_point_v<F>)
      r.*field = static_cast<F>(std::get<double>(v));
    else if constexpr (std::is_unsigned_v<F>)
      r.*field = static_cast<F>(std::get<std::uint64_t>(v));
    else
      r.*field = static_cast<F>(std::get<std::int64_t>(v));
  };
  return c;
}

Column column(std::string path, Kind kind, std::vector<hsize_t> dims, std::function<Value(std::size_t)> initial = {},
              std::size_t width = 0) {
  Column c;
  c.path = std::move(path);
  c.kind = kind;
  c.dims = std::move(dims);
  c.width = width;
  c.initial = std::move(initial);
  return c;
}

std::function<Value(std::size_t)> constant(Value v) {
  return [v](std::size_t) { return v; };
}

}  // namespace

std::vector<Column> store_schema(const StoreSpec& spec, const std::vector<std::int64_t>& params_row,
                                 const std::vector<std::int64_t>& pred_offset, std::size_t key_len,
                                 std::size_t pert_len) {
  const hsize_t T = spec.tasks.size(), M = spec.metric_names.size();
  const Value zero_i = std::int64_t{0}, minus_one = std::int64_t{-1}, zero_u = std::uint64_t{0}, zero_d = 0.0,
              empty = std::string();
  std::vector<Column> s = {
      plan_column(spec, "key", Kind::text, &PlanRow::key, key_len),
      plan_column(spec, "perturbation", Kind::text, &PlanRow::perturbation, pert_len),
      plan_column(spec, "model", Kind::text, &PlanRow::model, kModelLen),
      plan_column(spec, "fold", Kind::i32, &PlanRow::fold),
      plan_column(spec, "seed", Kind::u64, &PlanRow::seed),
      plan_column(spec, "task_seed", Kind::u64, &PlanRow::task_seed),
      plan_column(spec, "cost", Kind::f64, &PlanRow::cost),
      plan_column(spec, "n_control", Kind::i64, &PlanRow::n_control),
      plan_column(spec, "n_treated", Kind::i64, &PlanRow::n_treated),
      column("/plan/owned", Kind::u8, {T},
             [&spec](std::size_t t) -> Value { return std::uint64_t{spec.owned.empty() ? 1u : spec.owned[t]}; }),
      column("/plan/params_row", Kind::i64, {T}, [&params_row](std::size_t t) -> Value { return params_row[t]; }),
      column("/status/state", Kind::i8, {T}, constant(zero_i)),
      column("/status/message", Kind::text, {T}, constant(empty), kMessageLen),
      column("/status/wall_time", Kind::f64, {T}, constant(zero_d)),
      column("/status/phase_time", Kind::f64, {T, static_cast<hsize_t>(kPhases)}, constant(zero_d)),
      column("/status/group", Kind::i32, {T}, constant(minus_one)),
      column("/status/rank", Kind::i32, {T}, constant(minus_one)),
      column("/status/host", Kind::text, {T}, constant(empty), kHostLen),
      column("/status/finished_at", Kind::text, {T}, constant(empty), kTimeLen),
      column("/status/checksum", Kind::u64, {T}, constant(zero_u)),
      column("/metrics/value", Kind::f64, {T, M}),
      column("/metrics/sd", Kind::f64, {T, M}),
      column("/metrics/iterations", Kind::i32, {T, M}),
      column("/curves/values", Kind::f64,
             {T, static_cast<hsize_t>(spec.curve_points), static_cast<hsize_t>(spec.curve_columns)}),
      column("/curves/count", Kind::i32, {T}, constant(zero_i)),
      column("/curves/columns", Kind::text, {T}, constant(empty), kColumnsLen),
  };
  for (auto& c : s)
    if (c.path == "/plan/owned" || c.path == "/plan/params_row") c.to_plan = nullptr;
  std::map<std::string, std::vector<std::int64_t>> tasks_of;  // model -> task of each params row
  for (std::size_t t = 0; t < spec.tasks.size(); ++t)
    if (params_row.size() == spec.tasks.size() && params_row[t] >= 0)
      tasks_of[spec.tasks[t].model].push_back(static_cast<std::int64_t>(t));
  for (const auto& p : spec.params) {
    const std::string g = "/params/" + p.model;
    const auto rows = static_cast<hsize_t>(tasks_of[p.model].size());
    const std::vector<std::int64_t>& task_of = tasks_of[p.model];
    s.push_back(column(g + "/values", Kind::f32, {rows, static_cast<hsize_t>(std::max<std::int64_t>(p.max_size, 1))}));
    s.push_back(column(g + "/count", Kind::i64, {rows}, constant(zero_i)));
    s.push_back(column(g + "/task", Kind::i64, {rows}, [task_of](std::size_t r) -> Value { return task_of[r]; }));
    s.push_back(column(g + "/layout", Kind::text, {rows}, constant(empty), kLayoutLen));
  }
  if (spec.save_predictions) {
    std::int64_t n_pred = 0;
    for (const auto& t : spec.tasks) n_pred += t.prediction_capacity;
    const auto n = static_cast<hsize_t>(std::max<std::int64_t>(n_pred, 1));
    const hsize_t d = std::max<hsize_t>(spec.features.size(), 1);
    s.push_back(column("/predictions/values", Kind::f32, {n, d}));
    s.push_back(column("/predictions/cell", Kind::i64, {n}));
    s.push_back(column("/predictions/offset", Kind::i64, {T},
                       [&pred_offset](std::size_t t) -> Value { return pred_offset[t]; }));
    Column cap = plan_column(spec, "capacity", Kind::i64, &PlanRow::prediction_capacity);
    cap.path = "/predictions/capacity";
    s.push_back(std::move(cap));
    s.push_back(column("/predictions/count", Kind::i64, {T}, constant(zero_i)));
  }
  if (spec.effects) {
    const hsize_t d = std::max<hsize_t>(spec.features.size(), 1);
    for (const auto& name : effect_datasets(spec)) s.push_back(column(name, Kind::f64, {T, d}));
  }
  return s;
}

std::string join(const std::vector<std::string>& v, char sep) {
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) out += (i ? std::string(1, sep) : "") + v[i];
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  if (s.empty()) return out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

std::vector<std::string> effect_datasets(const StoreSpec& spec) {
  std::vector<std::string> out{"/effects/predicted", "/effects/observed"};
  if (spec.iid) {
    out.push_back("/effects/iid_predicted");
    out.push_back("/effects/iid_observed");
  }
  return out;
}

const std::vector<SpecAttribute>& spec_attributes() {
  static const std::vector<SpecAttribute> attrs = {
      {"/plan", "config", &StoreSpec::config_ini},
      {"/plan", "plan_hash", &StoreSpec::plan_hash},
      {"/plan", "plan_text", &StoreSpec::plan_text},
      {"/plan", "perturbations", nullptr, &StoreSpec::perturbations},
      {"/plan", "models", nullptr, &StoreSpec::models},
      {"/plan", "folds", nullptr, &StoreSpec::folds},
      {"/plan", "seeds", nullptr, &StoreSpec::seeds},
      {"/plan", "features", nullptr, &StoreSpec::features},
      {"/plan", "shard", &StoreSpec::shard},
      {"/plan", "split_rule", &StoreSpec::split_rule},
      {"/metrics", "names", nullptr, &StoreSpec::metric_names},
      {"/curves", "max_points", nullptr, nullptr, &StoreSpec::curve_points},
      {"/curves", "max_columns", nullptr, nullptr, &StoreSpec::curve_columns},
  };
  return attrs;
}

Handle file_type(const Column& c, const std::string& ctx) {
  switch (c.kind) {
    case Kind::i8:
      return Handle(check_id(H5Tcopy(H5T_STD_I8LE), "H5Tcopy", ctx));
    case Kind::i32:
      return Handle(check_id(H5Tcopy(H5T_STD_I32LE), "H5Tcopy", ctx));
    case Kind::i64:
      return Handle(check_id(H5Tcopy(H5T_STD_I64LE), "H5Tcopy", ctx));
    case Kind::u8:
      return Handle(check_id(H5Tcopy(H5T_STD_U8LE), "H5Tcopy", ctx));
    case Kind::u64:
      return Handle(check_id(H5Tcopy(H5T_STD_U64LE), "H5Tcopy", ctx));
    case Kind::f32:
      return Handle(check_id(H5Tcopy(H5T_IEEE_F32LE), "H5Tcopy", ctx));
    case Kind::f64:
      return Handle(check_id(H5Tcopy(H5T_IEEE_F64LE), "H5Tcopy", ctx));
    case Kind::text:
      break;
  }
  return memory_type(c, ctx);
}

Handle memory_type(const Column& c, const std::string& ctx) {
  hid_t base = H5T_NATIVE_DOUBLE;
  switch (c.kind) {
    case Kind::i8:
      base = H5T_NATIVE_INT8;
      break;
    case Kind::i32:
      base = H5T_NATIVE_INT32;
      break;
    case Kind::i64:
      base = H5T_NATIVE_INT64;
      break;
    case Kind::u8:
      base = H5T_NATIVE_UINT8;
      break;
    case Kind::u64:
      base = H5T_NATIVE_UINT64;
      break;
    case Kind::f32:
      base = H5T_NATIVE_FLOAT;
      break;
    case Kind::f64:
      base = H5T_NATIVE_DOUBLE;
      break;
    case Kind::text: {
      Handle t(check_id(H5Tcopy(H5T_C_S1), "H5Tcopy", ctx));
      CELLOT_H5_CHECK(H5Tset_size(t, c.width), ctx);
      CELLOT_H5_CHECK(H5Tset_strpad(t, H5T_STR_NULLPAD), ctx);
      return t;
    }
  }
  return Handle(check_id(H5Tcopy(base), "H5Tcopy", ctx));
}

std::size_t element_size(const Column& c) {
  switch (c.kind) {
    case Kind::i8:
    case Kind::u8:
      return 1;
    case Kind::i32:
    case Kind::f32:
      return 4;
    case Kind::i64:
    case Kind::u64:
    case Kind::f64:
      return 8;
    case Kind::text:
      return c.width;
  }
  return 0;
}

namespace {

template <class T>
void put(char* out, const Value& v) {
  T x;
  if (const auto* i = std::get_if<std::int64_t>(&v))
    x = static_cast<T>(*i);
  else if (const auto* u = std::get_if<std::uint64_t>(&v))
    x = static_cast<T>(*u);
  else
    x = static_cast<T>(std::get<double>(v));
  std::memcpy(out, &x, sizeof x);
}

template <class T>
T get(const char* in) {
  T x;
  std::memcpy(&x, in, sizeof x);
  return x;
}

}  // namespace

std::vector<char> encode_values(const Column& c, const std::vector<Value>& values) {
  const std::size_t w = element_size(c);
  std::vector<char> out(values.size() * w, '\0');
  for (std::size_t i = 0; i < values.size(); ++i) {
    char* p = out.data() + i * w;
    switch (c.kind) {
      case Kind::i8:
        put<std::int8_t>(p, values[i]);
        break;
      case Kind::i32:
        put<std::int32_t>(p, values[i]);
        break;
      case Kind::i64:
        put<std::int64_t>(p, values[i]);
        break;
      case Kind::u8:
        put<std::uint8_t>(p, values[i]);
        break;
      case Kind::u64:
        put<std::uint64_t>(p, values[i]);
        break;
      case Kind::f32:
        put<float>(p, values[i]);
        break;
      case Kind::f64:
        put<double>(p, values[i]);
        break;
      case Kind::text: {
        const auto& s = std::get<std::string>(values[i]);
        std::memcpy(p, s.data(), std::min(s.size(), w));  // truncating, NUL-padded
        break;
      }
    }
  }
  return out;
}

std::vector<Value> decode_values(const Column& c, const std::vector<char>& bytes) {
  const std::size_t w = element_size(c);
  std::vector<Value> out;
  if (w == 0) return out;
  for (std::size_t i = 0; i < bytes.size() / w; ++i) {
    const char* p = bytes.data() + i * w;
    switch (c.kind) {
      case Kind::i8:
        out.emplace_back(std::int64_t{get<std::int8_t>(p)});
        break;
      case Kind::i32:
        out.emplace_back(std::int64_t{get<std::int32_t>(p)});
        break;
      case Kind::i64:
        out.emplace_back(get<std::int64_t>(p));
        break;
      case Kind::u8:
        out.emplace_back(std::uint64_t{get<std::uint8_t>(p)});
        break;
      case Kind::u64:
        out.emplace_back(get<std::uint64_t>(p));
        break;
      case Kind::f32:
        out.emplace_back(static_cast<double>(get<float>(p)));
        break;
      case Kind::f64:
        out.emplace_back(get<double>(p));
        break;
      case Kind::text:
        out.emplace_back(std::string(p, strnlen(p, w)));
        break;
    }
  }
  return out;
}

}  // namespace cellot::io::detail

namespace cellot::io {

namespace {

std::string describe(const detail::Column& c) {
  static const char* kinds[] = {"i1", "i4", "i8", "u1", "u8", "f4", "f8", "S"};
  std::string s = kinds[static_cast<int>(c.kind)];
  if (c.kind == detail::Kind::text) s += std::to_string(c.width);
  s += " [";
  for (std::size_t k = 0; k < c.dims.size(); ++k) s += (k ? " x " : "") + std::to_string(c.dims[k]);
  return s + "]";
}

std::vector<detail::Column> schema_of(const StoreSpec& spec) {
  std::vector<std::int64_t> params_row, pred_offset;
  std::map<std::string, std::int64_t> per_model;
  std::int64_t n_pred = 0;
  detail::compute_rows(spec, params_row, pred_offset, per_model, n_pred);
  // Key and perturbation widths follow the task table, which the plan hash already covers.
  auto cols = detail::store_schema(spec, params_row, pred_offset, 0, 0);
  for (auto& c : cols) c.initial = nullptr, c.to_plan = nullptr;  // they refer to locals
  return cols;
}

}  // namespace

std::string layout_difference(const StoreSpec& have, const StoreSpec& want) {
  const auto a = schema_of(have), b = schema_of(want);
  for (std::size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    const std::string pa = i < a.size() ? a[i].path : "(none)", pb = i < b.size() ? b[i].path : "(none)";
    if (pa != pb) return pa + " vs " + pb;
    const std::string da = describe(a[i]), db = describe(b[i]);
    if (da != db) return pa + " " + da + " vs " + db;
  }
  return "";
}

}  // namespace cellot::io

// CellOT checkpoints: one small HDF5 file (format "cellot-checkpoint-2"; format 1 sampled batches
// with replacement from one stream and is refused).
//   /f /g /best_f /best_g /f_m /f_v /g_m /g_v   float32 vectors (flat IcnnShape layout)
//   /rng                                        uint64[14], the source and target batch samplers
//   /curves                                     float64 (rows x columns), attribute columns
//   attributes on /: format, signature, step, f_t, g_t, best_metric, best_step, sum_g, sum_f,
//                    count_g, count_f
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include "cellot/core/error.hpp"
#include "cellot/core/fault.hpp"
#include "cellot/core/log.hpp"
#include "cellot/io/h5.hpp"
#include "cellot/models/cellot/cellot_trainer.hpp"
#include "cellot/nn/epoch_sampler.hpp"

namespace cellot::models {

namespace h5 = io::h5;

namespace {

constexpr const char* kFormat = "cellot-checkpoint-2";

template <class T>
hid_t native_type();
template <>
hid_t native_type<float>() { return H5T_NATIVE_FLOAT; }
template <>
hid_t native_type<double>() { return H5T_NATIVE_DOUBLE; }
template <>
hid_t native_type<std::uint64_t>() { return H5T_NATIVE_UINT64; }

template <class T>
hid_t file_type();
template <>
hid_t file_type<float>() { return H5T_IEEE_F32LE; }
template <>
hid_t file_type<double>() { return H5T_IEEE_F64LE; }
template <>
hid_t file_type<std::uint64_t>() { return H5T_STD_U64LE; }

template <class T>
void write_array(hid_t file, const std::string& name, const std::vector<T>& v, std::vector<hsize_t> dims,
                 const std::string& context) {
  h5::Handle ds = h5::create_dataset(file, name, file_type<T>(), dims, context);
  if (!v.empty()) CELLOT_H5_CHECK(H5Dwrite(ds, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), context + ":" + name);
}

template <class T>
std::vector<T> read_array(hid_t file, const std::string& name, const std::string& context) {
  if (!h5::exists(file, name)) throw InputError(context, name, "", "missing in checkpoint");
  h5::Handle ds = h5::open_dataset(file, name, context);
  hsize_t n = 1;
  for (auto dim : h5::dataset_dims(ds, context + ":" + name)) n *= dim;
  std::vector<T> v(static_cast<std::size_t>(n));
  if (n > 0) CELLOT_H5_CHECK(H5Dread(ds, native_type<T>(), H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), context + ":" + name);
  return v;
}

}  // namespace

namespace {

// Data reach the disk before the name does: after a node crash the renamed file is complete,
// not a name pointing at blocks that were never written.
void sync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

std::string previous_path(const std::string& path) { return path + ".prev"; }

void write_checkpoint(const std::string& path, const CellotState& st, const std::string& signature) {
  const std::string tmp = path + ".tmp";
  {
    h5::Handle file = h5::create_file(tmp);
    const auto flat = [&](const char* name, const std::vector<float>& v) {
      write_array(file, name, v, {static_cast<hsize_t>(v.size())}, tmp);
    };
    flat("f", st.f);
    flat("g", st.g);
    flat("best_f", st.best_f);
    flat("best_g", st.best_g);
    flat("f_m", st.f_m);
    flat("f_v", st.f_v);
    flat("g_m", st.g_m);
    flat("g_v", st.g_v);
    write_array(file, "rng", st.rng, {static_cast<hsize_t>(st.rng.size())}, tmp);
    std::vector<double> curves;
    for (const auto& row : st.curves.rows) {
      CELLOT_CHECK(row.size() == st.curves.columns.size(), "curve row width");
      curves.insert(curves.end(), row.begin(), row.end());
    }
    write_array(file, "curves", curves,
                {static_cast<hsize_t>(st.curves.rows.size()), static_cast<hsize_t>(st.curves.columns.size())}, tmp);
    {
      h5::Handle ds = h5::open_dataset(file, "curves", tmp);
      h5::write_attr_strings(ds, "columns", st.curves.columns, tmp);
    }
    h5::write_attr_string(file, "format", kFormat, tmp);
    h5::write_attr_string(file, "signature", signature, tmp);
    h5::write_attr_int(file, "step", st.step, tmp);
    h5::write_attr_int(file, "f_t", st.f_t, tmp);
    h5::write_attr_int(file, "g_t", st.g_t, tmp);
    h5::write_attr_double(file, "best_metric", st.best_metric, tmp);
    h5::write_attr_int(file, "best_step", st.best_step, tmp);
    h5::write_attr_double(file, "sum_g", st.sum_g, tmp);
    h5::write_attr_double(file, "sum_f", st.sum_f, tmp);
    h5::write_attr_int(file, "count_g", st.count_g, tmp);
    h5::write_attr_int(file, "count_f", st.count_f, tmp);
    h5::close_file(file, tmp);
  }
  sync_path(tmp);
  fault::kill_point("checkpoint_write");
  // The old checkpoint stays valid until the new one is complete, and is kept as .prev: a torn
  // newest file (a node lost before its blocks reached the disk) falls back to it.
  if (std::filesystem::exists(path)) std::rename(path.c_str(), previous_path(path).c_str());
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw RuntimeError(path + ": cannot replace checkpoint with " + tmp);
  sync_path(std::filesystem::path(path).parent_path().string());
}

bool read_checkpoint(const std::string& path, CellotState& st, const std::string& signature);

}  // namespace

void save_checkpoint(const std::string& path, const CellotState& st, const std::string& signature) {
  // Rank-local (the group root writes): a failed write (disk full) must not leave the group,
  // which is inside the training step; the task goes on without a newer checkpoint.
  try {
    write_checkpoint(path, st, signature);
  } catch (const std::exception& e) {
    log::warn(std::string("checkpoint not written (training continues; a resume restarts from the previous one): ") +
              e.what());
  }
}

bool load_checkpoint(const std::string& path, CellotState& st, const std::string& signature) {
  // The newest checkpoint, else the previous one, else none (from scratch). A checkpoint of
  // another training problem is refused (InputError), never skipped.
  for (const std::string& p : {path, previous_path(path)}) {
    try {
      if (read_checkpoint(p, st, signature)) return true;
    } catch (const InputError& e) {
      if (std::string(e.what()).find("signature") != std::string::npos) throw;
      log::warn("checkpoint " + p + " unreadable (" + e.what() + "); trying an older one or starting from scratch");
    } catch (const std::exception& e) {
      log::warn("checkpoint " + p + " unreadable (" + e.what() + "); trying an older one or starting from scratch");
    }
  }
  return false;
}

namespace {

bool read_checkpoint(const std::string& path, CellotState& st, const std::string& signature) {
  if (!std::filesystem::exists(path)) return false;
  if (!h5::is_hdf5(path)) throw InputError(path, "checkpoint", path, "not an HDF5 file");
  h5::Handle file = h5::open_file(path, H5F_ACC_RDONLY);
  if (!h5::has_attr(file, "format") || h5::read_attr_string(file, "format", path) != kFormat)
    throw InputError(path, "format", "", std::string("not a ") + kFormat + " file");
  const std::string found = h5::read_attr_string(file, "signature", path);
  if (found != signature)
    throw InputError(path, "signature", found, "checkpoint belongs to another training problem (expected '" +
                                                   signature + "'); remove it or train without --resume");
  CellotState s;
  s.f = read_array<float>(file, "f", path);
  s.g = read_array<float>(file, "g", path);
  s.best_f = read_array<float>(file, "best_f", path);
  s.best_g = read_array<float>(file, "best_g", path);
  s.f_m = read_array<float>(file, "f_m", path);
  s.f_v = read_array<float>(file, "f_v", path);
  s.g_m = read_array<float>(file, "g_m", path);
  s.g_v = read_array<float>(file, "g_v", path);
  s.rng = read_array<std::uint64_t>(file, "rng", path);
  const auto curves = read_array<double>(file, "curves", path);
  {
    h5::Handle ds = h5::open_dataset(file, "curves", path);
    s.curves.columns = h5::read_attr_strings(ds, "columns", path);
  }
  const std::size_t width = s.curves.columns.size();
  if (width == 0 || curves.size() % width != 0) throw InputError(path, "curves", "", "malformed curves");
  for (std::size_t r = 0; r < curves.size() / width; ++r)
    s.curves.rows.emplace_back(curves.begin() + static_cast<std::ptrdiff_t>(r * width),
                               curves.begin() + static_cast<std::ptrdiff_t>((r + 1) * width));
  s.step = h5::read_attr_int(file, "step", path);
  s.f_t = h5::read_attr_int(file, "f_t", path);
  s.g_t = h5::read_attr_int(file, "g_t", path);
  s.best_metric = h5::read_attr_double(file, "best_metric", path);
  s.best_step = h5::read_attr_int(file, "best_step", path);
  s.sum_g = h5::read_attr_double(file, "sum_g", path);
  s.sum_f = h5::read_attr_double(file, "sum_f", path);
  s.count_g = h5::read_attr_int(file, "count_g", path);
  s.count_f = h5::read_attr_int(file, "count_f", path);
  const std::size_t n = st.f.size();
  if (s.f.size() != n || s.g.size() != n || s.f_m.size() != n || s.f_v.size() != n || s.g_m.size() != n ||
      s.g_v.size() != n || (s.best_step >= 0 && (s.best_f.size() != n || s.best_g.size() != n)) || s.rng.size() != 2 * nn::EpochSampler::kStateSize)
    throw InputError(path, "parameters", "", "sizes do not match the model");
  st = std::move(s);
  return true;
}

}  // namespace

}  // namespace cellot::models

#pragma once
// The screen's wire format: what rank 0 alone reads (the plan, built from the data file, and the
// synthetic ground truth in uns) and every rank needs. One description per type, `transfer`,
// serves both directions, so the order of fields cannot differ between packing and unpacking.
#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "cellot/io/h5ad.hpp"
#include "cellot/screen/plan.hpp"

namespace cellot::screen::detail {

// A byte buffer that either appends (writing) or consumes (reading) the values passed to it.
class Wire {
 public:
  explicit Wire(bool writing) : writing_(writing) {}
  bool writing() const { return writing_; }

  template <class T>
  std::enable_if_t<std::is_trivially_copyable_v<T>, Wire&> operator()(T& v) {
    if (writing_) {
      const auto* p = reinterpret_cast<const char*>(&v);
      bytes_.insert(bytes_.end(), p, p + sizeof(T));
    } else {
      need(sizeof(T));
      std::memcpy(&v, bytes_.data() + pos_, sizeof(T));
      pos_ += sizeof(T);
    }
    return *this;
  }
  Wire& operator()(std::string& s);
  template <class T>
  Wire& operator()(std::vector<T>& v) {
    auto n = static_cast<std::int64_t>(v.size());
    (*this)(n);
    if (!writing_) v.resize(static_cast<std::size_t>(n));
    for (auto& x : v) transfer(*this, x);
    return *this;
  }
  template <class K, class V>
  Wire& operator()(std::map<K, V>& m) {
    auto n = static_cast<std::int64_t>(m.size());
    (*this)(n);
    if (writing_) {
      for (auto& [k, v] : m) {
        K key = k;
        (*this)(key);
        transfer(*this, v);
      }
    } else {
      for (std::int64_t i = 0; i < n; ++i) {
        K key{};
        (*this)(key);
        transfer(*this, m[key]);
      }
    }
    return *this;
  }

  // Collective over `comm`: the root's bytes to every rank, which then reads from the start.
  // Blocking: every rank of the world reaches this at start; a rank that dies makes the launcher
  // abort the job (mpirun / srun), so the wait is bounded by the job's life.
  void broadcast(MPI_Comm comm, int root);

 private:
  void need(std::size_t n) const;
  bool writing_;
  std::vector<char> bytes_;
  std::size_t pos_ = 0;
};

// Scalars go through Wire::operator() directly; compound types have a transfer overload.
template <class T>
std::enable_if_t<std::is_trivially_copyable_v<T>> transfer(Wire& w, T& v) { w(v); }
inline void transfer(Wire& w, std::string& s) { w(s); }
template <class T>
void transfer(Wire& w, std::vector<T>& v) { w(v); }
void transfer(Wire& w, Task& t);
void transfer(Wire& w, Plan& p);
void transfer(Wire& w, io::AnnData::Array& a);

// Rank `root`'s plan on every rank of `comm` (collective).
void broadcast_plan(Plan& plan, MPI_Comm comm, int root);
// Rank `root`'s uns dictionaries (strings, numbers, string arrays, arrays) on every rank.
void broadcast_uns(io::AnnData& uns, MPI_Comm comm, int root);

}  // namespace cellot::screen::detail

#include "detail/run_records.hpp"

#include <algorithm>
#include <cstring>

#include "cellot/core/error.hpp"
#include "cellot/core/hash.hpp"
#include "cellot/io/h5.hpp"

namespace cellot::io::detail {

using h5::check_id;
using h5::Handle;

namespace {

constexpr const char* kMagic = "cellot-run 1 ";

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c != '\0')
      out += c;
  }
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[i + 1] == 'n' ? '\n' : s[i + 1];
      ++i;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool all_zero(const char* p, std::size_t n) {
  return std::all_of(p, p + n, [](char c) { return c == '\0'; });
}

// The fields of a body, or false when a line is not "key=value".
bool parse_body(const std::string& body, RunFields& fields) {
  std::size_t pos = 0;
  while (pos < body.size()) {
    const std::size_t eol = body.find('\n', pos);
    if (eol == std::string::npos) return false;
    const std::string line = body.substr(pos, eol - pos);
    const std::size_t eq = line.find('=');
    if (eq == std::string::npos) return false;
    fields.emplace_back(unescape(line.substr(0, eq)), unescape(line.substr(eq + 1)));
    pos = eol + 1;
  }
  return true;
}

// Parses the record whose header starts at `p` (with `avail` bytes to the dataset's end): its
// length in bytes (header and body), or 0 when the header is not a record header.
std::size_t parse_header(const char* p, std::size_t avail, std::size_t& body_len, std::string& hash) {
  const std::size_t magic = std::strlen(kMagic);
  const std::size_t scan = std::min<std::size_t>(avail, 64);
  const char* eol = static_cast<const char*>(std::memchr(p, '\n', scan));
  if (!eol || static_cast<std::size_t>(eol - p) <= magic || std::strncmp(p, kMagic, magic) != 0) return 0;
  const std::string rest(p + magic, eol);
  const std::size_t sp = rest.find(' ');
  // At most 9 digits: a body never exceeds the dataset (2 MiB), and stoull cannot overflow.
  if (sp == std::string::npos || sp == 0 || sp > 9 || rest.size() - sp - 1 != 16) return 0;
  if (!std::all_of(rest.begin(), rest.begin() + static_cast<std::ptrdiff_t>(sp), [](char c) { return c >= '0' && c <= '9'; }))
    return 0;
  body_len = std::stoull(rest.substr(0, sp));
  hash = rest.substr(sp + 1);
  const std::size_t header = static_cast<std::size_t>(eol - p) + 1;
  if (body_len > avail - header) return 0;
  return header + body_len;
}

std::string slot_range(std::int64_t first, std::int64_t n) {
  return n <= 1 ? "slot " + std::to_string(first)
                : "slots " + std::to_string(first) + "-" + std::to_string(first + n - 1);
}

}  // namespace

std::string RunRecord::get(const std::string& key) const {
  for (const auto& [k, v] : fields)
    if (k == key) return v;
  return "";
}

std::vector<std::string> RunRecord::all(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields)
    if (k == key) out.push_back(v);
  return out;
}

void create_run_records(hid_t file, const std::string& ctx) {
  const std::string where = ctx + ":" + kRunsDataset;
  const hsize_t dims[2] = {kRunSlots, kRunSlotBytes};
  Handle space(check_id(H5Screate_simple(2, dims, nullptr), "H5Screate_simple", where));
  Handle dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "H5Pcreate", where));
  CELLOT_H5_CHECK(H5Pset_layout(dcpl, H5D_CONTIGUOUS), where);
  CELLOT_H5_CHECK(H5Pset_alloc_time(dcpl, H5D_ALLOC_TIME_EARLY), where);
  // Zero-filled when allocated (collectively, with the MPI-IO driver): an empty slot reads as zeros.
  CELLOT_H5_CHECK(H5Pset_fill_time(dcpl, H5D_FILL_TIME_ALLOC), where);
  const unsigned char zero = 0;
  CELLOT_H5_CHECK(H5Pset_fill_value(dcpl, H5T_NATIVE_UCHAR, &zero), where);
  Handle dset(check_id(H5Dcreate2(file, kRunsDataset, H5T_STD_U8LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT),
                       "H5Dcreate2", where));
}

std::vector<char> encode_run_record(const RunFields& fields) {
  std::string body;
  for (const auto& [k, v] : fields) body += escape(k) + "=" + escape(v) + "\n";
  std::string text = std::string(kMagic) + std::to_string(body.size()) + " " + hex16(xxh3_64(body.data(), body.size())) +
                     "\n" + body;
  const std::size_t slots = (text.size() + kRunSlotBytes - 1) / kRunSlotBytes;
  std::vector<char> out(slots * kRunSlotBytes, '\0');
  std::memcpy(out.data(), text.data(), text.size());
  return out;
}

RunRecords decode_run_records(const std::vector<char>& bytes) {
  RunRecords out;
  const auto n_slots = static_cast<std::int64_t>(bytes.size() / kRunSlotBytes);
  std::int64_t i = 0;
  while (i < n_slots) {
    const char* p = bytes.data() + static_cast<std::size_t>(i) * kRunSlotBytes;
    if (all_zero(p, kRunSlotBytes)) {
      ++i;
      continue;
    }
    const std::size_t avail = bytes.size() - static_cast<std::size_t>(i) * kRunSlotBytes;
    std::size_t body_len = 0;
    std::string hash;
    const std::size_t len = parse_header(p, avail, body_len, hash);
    if (len == 0) {
      out.problems.push_back(slot_range(i, 1) + ": not a run record (torn write or damage); skipped");
      out.next_free = ++i;
      continue;
    }
    const auto used = static_cast<std::int64_t>((len + kRunSlotBytes - 1) / kRunSlotBytes);
    const std::string body(p + (len - body_len), body_len);
    RunRecord rec;
    rec.slot = i;
    if (hex16(xxh3_64(body.data(), body.size())) != hash || !parse_body(body, rec.fields))
      out.problems.push_back(slot_range(i, used) + ": run record fails its checksum (torn write or damage); skipped");
    else
      out.records.push_back(std::move(rec));
    i += used;
    out.next_free = i;
  }
  return out;
}

RunRecords read_run_records(hid_t dset, const std::string& ctx) {
  std::vector<char> bytes(kRunSlots * kRunSlotBytes);
  Handle space(check_id(H5Dget_space(dset), "H5Dget_space", ctx));
  hsize_t dims[2] = {0, 0};
  if (H5Sget_simple_extent_ndims(space) != 2) h5::fail("run records: not a 2-d dataset", ctx);
  CELLOT_H5_CHECK(H5Sget_simple_extent_dims(space, dims, nullptr), ctx);
  if (dims[1] != kRunSlotBytes) h5::fail("run records: slots of " + std::to_string(dims[1]) + " bytes", ctx);
  bytes.resize(static_cast<std::size_t>(dims[0] * dims[1]));
  if (!bytes.empty()) CELLOT_H5_CHECK(H5Dread(dset, H5T_NATIVE_UCHAR, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), ctx);
  return decode_run_records(bytes);
}

void write_run_record(hid_t dset, std::int64_t slot, const std::vector<char>& bytes, const std::string& ctx) {
  const hsize_t start[2] = {static_cast<hsize_t>(slot), 0};
  const hsize_t count[2] = {bytes.size() / kRunSlotBytes, kRunSlotBytes};
  Handle file_space(check_id(H5Dget_space(dset), "H5Dget_space", ctx));
  CELLOT_H5_CHECK(H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, nullptr, count, nullptr), ctx);
  Handle mem_space(check_id(H5Screate_simple(2, count, nullptr), "H5Screate_simple", ctx));
  CELLOT_H5_CHECK(H5Dwrite(dset, H5T_NATIVE_UCHAR, mem_space, file_space, H5P_DEFAULT, bytes.data()), ctx);
}

}  // namespace cellot::io::detail

#pragma once
// The run records of a store's provenance (docs/STORE.md, 'Provenance'): one record when a run
// starts and one when it ends, appended to /provenance/runs, a preallocated contiguous dataset of
// kRunSlots slots of kRunSlotBytes bytes created (zero-filled) with the store. A record is raw
// data written by one rank into slots no record has used: after the store is created no run
// changes HDF5 metadata for its provenance, so a kill at any moment tears at most the record
// being written, which readers detect by its checksum and skip (HDF5 keeps no journal: attributes
// rewritten in place, as stores of earlier versions did, could tear the group's object header).
//
// A record: the header "cellot-run 1 <body bytes> <XXH3-64 of the body, 16 hex>\n" and the body,
// one "key=value\n" per field (backslash and line break escaped), zero-padded to whole slots.
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace cellot::io::detail {

inline constexpr std::size_t kRunSlots = 1024, kRunSlotBytes = 2048;
inline constexpr const char* kRunsDataset = "/provenance/runs";

// Fields in order; a key may repeat (e.g. one "host" per host).
using RunFields = std::vector<std::pair<std::string, std::string>>;

struct RunRecord {
  std::int64_t slot = 0;  // its first slot
  RunFields fields;
  // The first value of `key` ("" when absent) and every value of it.
  std::string get(const std::string& key) const;
  std::vector<std::string> all(const std::string& key) const;
};

struct RunRecords {
  std::vector<RunRecord> records;     // readable records, in slot order
  std::vector<std::string> problems;  // one line per slot range that is not a readable record
  std::int64_t next_free = 0;         // the first slot after the last one in use
};

// Collective over the file's communicator: the zero-filled dataset.
void create_run_records(hid_t file, const std::string& ctx);

// The bytes of a record, a whole number of slots.
std::vector<char> encode_run_record(const RunFields& fields);
// The records in an image of the whole dataset (never throws on its content).
RunRecords decode_run_records(const std::vector<char>& bytes);

RunRecords read_run_records(hid_t dset, const std::string& ctx);
// Raw write of `bytes` (from encode_run_record) at `slot`, by the calling rank alone.
void write_run_record(hid_t dset, std::int64_t slot, const std::vector<char>& bytes, const std::string& ctx);

}  // namespace cellot::io::detail

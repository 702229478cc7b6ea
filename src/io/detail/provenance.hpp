#pragma once
// A store's provenance (docs/STORE.md, 'Provenance'). Runs that write a published store append
// run records (detail/run_records.hpp: raw data, never a metadata change). Attributes of
// /provenance hold only what is written before a store is published: a merge's inherited history,
// hosts and sources, written into its temporary file; and the provenance of stores written by
// earlier versions, which rewrote attributes in place at every run (still read).
#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

#include "cellot/io/store.hpp"
#include "run_records.hpp"

namespace cellot::io::detail {

// Line lists as one text attribute, lines joined by '\n' (stores of earlier versions may hold a
// list attribute; both read back as lines).
void write_lines(hid_t obj, const std::string& name, const std::vector<std::string>& lines, const std::string& ctx);
std::vector<std::string> read_lines(hid_t obj, const std::string& name, const std::string& ctx);

// The fields of a run's start record and of its end record (`run`: the start record's slot).
RunFields start_fields(const Provenance& p, const std::string& launcher, const std::string& slurm);
RunFields end_fields(std::int64_t run, const std::string& end_time, const std::string& outcome);
// The record of `fields` in at most `max_bytes`: when it does not fit, hosts are dropped from the
// end (their number kept as hosts_total) and then the command line is shortened; empty when
// even that does not fit.
std::vector<char> fit_record(RunFields fields, std::size_t max_bytes);

// Fills s.provenance, s.history, s.hostnames, s.merged_from and s.git_hashes. Never throws: a
// part that cannot be read (a torn record, a damaged attribute) becomes a history line saying
// which, and everything else is read.
void read_provenance(hid_t file, const std::string& ctx, StoreSummary& s);

}  // namespace cellot::io::detail

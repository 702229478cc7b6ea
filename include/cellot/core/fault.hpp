#pragma once
// Fault injection for the tests of crash consistency and failure handling (docs/STORE.md
// 'Failures'). CELLOT_FAULT lists points as `name` or `name@rank` (world rank), comma-separated;
// e.g. CELLOT_FAULT=kill:checksum or CELLOT_FAULT=train_throw@1. Unset in production: a lookup
// is one getenv at the first call and a flag test afterwards.
#include <string>

namespace cellot::fault {

// True when `name` is armed for this process (every rank, or the world rank after '@').
bool armed(const std::string& name);

// SIGKILLs this process when `kill:<phase>` is armed: what a node loss or the time limit does
// at that point. Phases: store_create, row_write, checksum, done_flag, provenance,
// checkpoint_write, checkpoint_cleanup (a done task's checkpoint files not yet removed), merge.
void kill_point(const char* phase);

}  // namespace cellot::fault

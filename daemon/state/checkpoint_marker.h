// The checkpoint marker: a small file beside the RocksDB files naming the last committed
// checkpoint, written (and fsynced) after each commit. RocksDB's point-in-time recovery stops
// silently at a damaged WAL record, and a MANIFEST that lost edits opens older files without
// complaint: either way the store would open at an older checkpoint than was committed (or
// empty). The marker is written after the commit is durable, so a store behind its marker can
// only be damaged, never just interrupted: StateStore::Open refuses it.
#ifndef ABUSEWATCH_DAEMON_STATE_CHECKPOINT_MARKER_H_
#define ABUSEWATCH_DAEMON_STATE_CHECKPOINT_MARKER_H_

#include <cstdint>
#include <string>

#include "detectors/status.h"

namespace abusewatch {

// Replaces the marker of `dir` atomically (temp file, fsync, rename).
Status WriteCheckpointMarker(const std::string& dir, uint64_t checkpoint);
// *checkpoint = the marker's checkpoint, 0 when there is no marker. Corruption when the file
// exists but does not check out.
Status ReadCheckpointMarker(const std::string& dir, uint64_t* checkpoint);
void RemoveCheckpointMarker(const std::string& dir);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_STATE_CHECKPOINT_MARKER_H_

// StateStore: the daemon's durable state in a RocksDB database under the configured state
// directory (spec/daemon.md "Guarantees"; the pattern of Kafka Streams KIP-1035: the input
// offsets live inside the state store, written in the same atomic batch as the state).
//
// Contents (column families):
//   "keys"  group key → the engine's per-key record (detectors/checkpoint.h), opaque.
//   "meta"  name → the engine's meta records (opaque).
//   "store" the store's own records, apart so that no meta name can clash with them: the
//           format version, the checkpoint sequence number and wall time, the sources'
//           cursors, and the rules fingerprint given by the caller (layout: README.md here).
// Every value is stored with an XXH3-64 checksum over (column family, key, value) appended, checked
// on every read: a flipped byte anywhere is reported as Corruption, never handed out as state.
// RocksDB's own block checksums and paranoid checks are on; the WAL is synced on commit, so a
// commit either happened entirely or (after a crash) not at all. Open() also refuses a store
// whose checkpoints have a gap (a damaged MANIFEST makes RocksDB silently drop flushed files).
//
// Thread safety: one thread uses a StateStore at a time (the daemon's loop), except that
// reads (Get*, ForEachKey) may run concurrently with each other.
#ifndef ABUSEWATCH_DAEMON_STATE_STATE_STORE_H_
#define ABUSEWATCH_DAEMON_STATE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "daemon/sources/source.h"
#include "detectors/checkpoint.h"
#include "detectors/status.h"

namespace abusewatch {

// The format this build writes; a store with another version is refused at Open().
constexpr uint32_t kStateFormatVersion = 1;

struct StateStoreInfo {
  uint32_t format_version = 0;
  uint64_t checkpoints = 0;        // sequence number of the last committed checkpoint; 0: none
  int64_t written_unix_ms = 0;     // wall time of the last commit (for operators only)
  std::string rules_fingerprint;   // as given to the last Batch
  uint64_t approximate_bytes = 0;  // on disk (RocksDB's estimate)
  uint64_t approximate_keys = 0;   // in "keys" (RocksDB's estimate)
};

class StateStore {
 public:
  // One checkpoint's changes; nothing is visible until Commit().
  class Batch : public CheckpointWriter {
   public:
    virtual void SetCursors(const std::vector<SourceCursor>& cursors) = 0;
    virtual void SetRulesFingerprint(std::string_view fingerprint) = 0;
    // Bytes buffered so far (keys + values).
    virtual size_t ApproximateBytes() const = 0;
  };

  // Opens (creating when missing, with `create_if_missing`) the store in `dir`. Fails with a
  // message naming the directory when: it is not a state directory of abusewatch; its format
  // version differs from kStateFormatVersion ("written by an incompatible version"); RocksDB
  // reports corruption (torn or damaged files), or with `verify` a full checksum pass over
  // every file and value finds one. NotFound when there is no store and not
  // `create_if_missing`. On failure *out is null.
  static Status Open(const std::string& dir, bool create_if_missing, bool verify,
                     std::unique_ptr<StateStore>* out);
  // Removes every file of the store in `dir` (for a rebuild); the directory itself stays.
  static Status Destroy(const std::string& dir);

  virtual ~StateStore() = default;

  // The batch refers to this store: commit or drop it before the store is destroyed.
  virtual std::unique_ptr<Batch> NewBatch() = 0;
  // Applies the batch atomically (one RocksDB WriteBatch, WAL synced) and bumps the checkpoint
  // sequence number. The batch is spent afterwards, whether or not the commit succeeded.
  // `batch` must come from this store's NewBatch().
  virtual Status Commit(Batch* batch) = 0;

  virtual StateStoreInfo Info() const = 0;
  // False until the first Commit() of this store's life (a fresh directory).
  virtual bool HasCheckpoint() const = 0;
  virtual Status GetCursors(std::vector<SourceCursor>* out) const = 0;
  // NotFound when the record does not exist.
  virtual Status GetMeta(std::string_view name, std::string* value) const = 0;
  virtual Status GetKey(std::string_view key, std::string* value) const = 0;
  // Calls fn for every key record in key byte order; stops at (and returns) the first non-ok
  // status fn returns, or a Corruption found on the way.
  virtual Status ForEachKey(
      const std::function<Status(std::string_view key, std::string_view value)>& fn) const = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_STATE_STATE_STORE_H_

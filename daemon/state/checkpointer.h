// Checkpointer: the daemon's durable state (spec/daemon.md "Guarantees"), between the engine,
// the source and the StateStore.
//
// At start, Open() restores a fresh engine from the state directory and returns the source
// cursors saved with it (the source must start exactly there). A directory with no checkpoint
// yet, or a rebuild, gives no cursors and asks the source to read its inputs from their start,
// so the state covers the retained history. Checkpoint() writes the engine's changes since the
// previous checkpoint together with the source's cursors in one atomic batch.
//
// Transitions: a checkpoint must only be taken when every transition the engine handed out so
// far has been delivered by the sinks (and every dead letter written), since the restored engine
// resumes after them. Those emitted after the last checkpoint are emitted again after a crash,
// with the same transition ids (at-least-once, deduplicable).
//
// Metrics (one probe, on the daemon's registry):
//   counter abusewatch_checkpoints_total{result}          ok | failed
//   gauge   abusewatch_checkpoint_duration_seconds        the last checkpoint, batch to commit
//   gauge   abusewatch_checkpoint_bytes                   the last batch, keys and values
//   gauge   abusewatch_checkpoint_timestamp_seconds       wall time of the last success
//   gauge   abusewatch_state_store_bytes                  on disk, RocksDB's estimate
//   gauge   abusewatch_state_hot_keys                     keys whose state is in memory
//   counter abusewatch_state_evictions_total              keys moved out of memory
//   counter abusewatch_state_loads_total                  evicted keys read back
//   gauge   abusewatch_resident_memory_bytes              the process's resident set (VmRSS)
//
// Bounded memory (state.max_hot_keys > 0): the engine reads evicted keys back from the store
// (Engine::ColdStore over StateStore::GetKey); after each committed checkpoint the least
// recently used keys beyond the budget are evicted; a restore then loads no key up front.
//
// Thread safety: used by the daemon's loop thread only.
#ifndef ABUSEWATCH_DAEMON_STATE_CHECKPOINTER_H_
#define ABUSEWATCH_DAEMON_STATE_CHECKPOINTER_H_

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/daemon_config.h"
#include "daemon/log.h"
#include "daemon/metrics/metrics.h"
#include "daemon/sources/source.h"
#include "daemon/state/state_store.h"
#include "detectors/engine.h"

namespace abusewatch {

class Checkpointer {
 public:
  struct Options {
    StateConfig state;
    // Command-line overrides of state.on_rules_change: --state-rebuild, --state-keep-unchanged.
    bool rebuild = false;
    bool keep_unchanged = false;
  };
  struct Restored {
    std::vector<SourceCursor> cursors;  // where the source starts
    bool from_start = false;            // no state to resume: read the inputs from their start
    uint64_t checkpoint = 0;            // sequence number restored (0: none)
    Engine::RestoreReport report;
  };

  // Opens the store in options.state.dir (created if missing) and sets *engine to a new engine
  // (from make_engine) restored from it, with checkpoints on. Errors name the directory and
  // what to do: another format version, corruption, or a state written with other rules while
  // on_rules_change is "refuse".
  static Status Open(const Options& options, Metrics* metrics, Logger* log,
                     const std::function<std::unique_ptr<Engine>()>& make_engine,
                     std::unique_ptr<Engine>* engine, std::unique_ptr<Checkpointer>* out,
                     Restored* restored);

  ~Checkpointer();

  // Sets up a new engine (a reload with new rules) like Open() did: checkpoints on, and the
  // cold store when memory is bounded. Call before restoring it from store().
  void PrepareEngine(Engine* engine) const;
  // Whether checkpoint_interval has passed since the last attempt.
  bool Due(std::chrono::steady_clock::time_point now) const;
  // Writes the engine's changes and the source's cursors atomically (see the file comment for
  // when it may be called). A failed commit keeps its changes for the next attempt.
  Status Checkpoint(Engine* engine, const Source& source);
  const StateStore& store() const { return *store_; }

 private:
  struct Probe;
  struct Cold;
  Checkpointer(Options options, std::unique_ptr<StateStore> store, std::unique_ptr<Probe> probe,
               std::unique_ptr<Cold> cold);

  const Options options_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<Probe> probe_;
  std::unique_ptr<Cold> cold_;                  // the engine's cold store, when bounded
  std::unique_ptr<StateStore::Batch> pending_;  // a batch whose commit failed
  std::chrono::steady_clock::time_point last_attempt_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_STATE_CHECKPOINTER_H_

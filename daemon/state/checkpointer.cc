#include "daemon/state/checkpointer.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <unistd.h>

#include <fstream>

namespace abusewatch {

using Clock = std::chrono::steady_clock;

namespace {

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<int64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

// Evicted keys are read back from the committed store.
struct Checkpointer::Cold final : Engine::ColdStore {
  explicit Cold(const StateStore* s) : store(s) {}
  Status GetKey(std::string_view key, std::string* value) override {
    return store->GetKey(key, value);
  }
  const StateStore* store;
};

struct Checkpointer::Probe {
  explicit Probe(prometheus::Registry& r)
      : results(prometheus::BuildCounter()
                    .Name("abusewatch_checkpoints_total")
                    .Help("Checkpoints of the durable state, by result (ok | failed)")
                    .Register(r)),
        ok(results.Add({{"result", "ok"}})),
        failed(results.Add({{"result", "failed"}})),
        duration(prometheus::BuildGauge()
                     .Name("abusewatch_checkpoint_duration_seconds")
                     .Help("Time the last checkpoint took, from collecting changes to commit")
                     .Register(r)
                     .Add({})),
        bytes(prometheus::BuildGauge()
                  .Name("abusewatch_checkpoint_bytes")
                  .Help("Bytes of keys and values written by the last checkpoint")
                  .Register(r)
                  .Add({})),
        timestamp(prometheus::BuildGauge()
                      .Name("abusewatch_checkpoint_timestamp_seconds")
                      .Help("Unix time of the last successful checkpoint")
                      .Register(r)
                      .Add({})),
        store_bytes(prometheus::BuildGauge()
                        .Name("abusewatch_state_store_bytes")
                        .Help("Size of the state store on disk (RocksDB estimate)")
                        .Register(r)
                        .Add({})),
        hot_keys(prometheus::BuildGauge()
                     .Name("abusewatch_state_hot_keys")
                     .Help("Group keys whose state is in memory (the rest is in the store)")
                     .Register(r)
                     .Add({})),
        evictions(prometheus::BuildCounter()
                      .Name("abusewatch_state_evictions_total")
                      .Help("Keys whose state moved out of memory (state.max_hot_keys)")
                      .Register(r)
                      .Add({})),
        loads(prometheus::BuildCounter()
                  .Name("abusewatch_state_loads_total")
                  .Help("Evicted keys read back from the store when touched")
                  .Register(r)
                  .Add({})),
        resident(prometheus::BuildGauge()
                     .Name("abusewatch_resident_memory_bytes")
                     .Help("Resident memory of the process (VmRSS), at the last checkpoint")
                     .Register(r)
                     .Add({})) {}
  prometheus::Family<prometheus::Counter>& results;
  prometheus::Counter& ok;
  prometheus::Counter& failed;
  prometheus::Gauge& duration;
  prometheus::Gauge& bytes;
  prometheus::Gauge& timestamp;
  prometheus::Gauge& store_bytes;
  prometheus::Gauge& hot_keys;
  prometheus::Counter& evictions;
  prometheus::Counter& loads;
  prometheus::Gauge& resident;
  uint64_t loads_seen = 0;
};

Checkpointer::Checkpointer(Options options, std::unique_ptr<StateStore> store,
                           std::unique_ptr<Probe> probe, std::unique_ptr<Cold> cold)
    : options_(std::move(options)),
      store_(std::move(store)),
      probe_(std::move(probe)),
      cold_(std::move(cold)),
      last_attempt_(Clock::now()) {}

Checkpointer::~Checkpointer() = default;

Status Checkpointer::Open(const Options& options, Metrics* metrics, Logger* log,
                          const std::function<std::unique_ptr<Engine>()>& make_engine,
                          std::unique_ptr<Engine>* engine, std::unique_ptr<Checkpointer>* out,
                          Restored* restored) {
  *restored = Restored();
  *engine = make_engine();
  const std::string& dir = options.state.dir;
  std::string policy = options.state.on_rules_change;
  if (options.keep_unchanged) policy = "keep_unchanged";
  if (options.rebuild) policy = "rebuild";
  std::unique_ptr<StateStore> store;
  if (options.rebuild) {
    // An explicit rebuild also recovers from a damaged directory: remove it first.
    log->Warn("state " + dir + ": rebuilding (--state-rebuild): the saved state is dropped");
    if (Status s = StateStore::Destroy(dir); !s.ok()) return s;
  }
  if (Status s = StateStore::Open(dir, /*create_if_missing=*/true, /*verify=*/true, &store);
      !s.ok()) {
    return s;
  }
  const bool bounded = options.state.max_hot_keys > 0;
  std::unique_ptr<Cold> cold;
  if (bounded) {
    cold = std::make_unique<Cold>(store.get());
    (*engine)->EnableCheckpoints();
    (*engine)->SetColdStore(cold.get());
  }
  if (store->HasCheckpoint()) {
    const StateStoreInfo info = store->Info();
    Engine::RestoreOptions ro;
    ro.keep_unchanged_rules = policy == "keep_unchanged";
    ro.lazy = bounded;
    const StateStore* st = store.get();
    Status s = (*engine)->Restore(
        [st](std::string_view name, std::string* value) { return st->GetMeta(name, value); },
        [st](const Engine::KeyVisitor& visit) { return st->ForEachKey(visit); }, ro,
        &restored->report);
    if (s.code() == Status::Code::kInvalidArgument && policy == "rebuild") {
      log->Warn("state " + dir + ": " + s.message() + "; rebuilding (on_rules_change: rebuild)");
      store.reset();
      if (Status d = StateStore::Destroy(dir); !d.ok()) return d;
      if (Status o = StateStore::Open(dir, true, true, &store); !o.ok()) return o;
      restored->report = Engine::RestoreReport();
      *engine = make_engine();  // the failed restore may have loaded part of the state
      if (bounded) {
        cold = std::make_unique<Cold>(store.get());
        (*engine)->EnableCheckpoints();
        (*engine)->SetColdStore(cold.get());
      }
    } else if (!s.ok()) {
      std::string hint = s.code() == Status::Code::kInvalidArgument
                             ? " (start with --state-keep-unchanged or --state-rebuild, or set "
                               "state.on_rules_change)"
                             : " (move the directory away, or start with --state-rebuild to "
                               "rebuild it from the inputs)";
      if (s.code() == Status::Code::kCorruption) {
        return Status::Corruption("state " + dir + ": " + s.message() + hint);
      }
      return Status::InvalidArgument("state " + dir + ": " + s.message() + hint);
    } else {
      if (Status c = store->GetCursors(&restored->cursors); !c.ok()) {
        return Status::Corruption("state " + dir + ": cursors: " + c.message());
      }
      restored->checkpoint = info.checkpoints;
      std::string changed;
      for (const std::string& c : restored->report.changed_rules) changed += " " + c;
      log->Info("state " + dir + ": restored checkpoint " + std::to_string(info.checkpoints) +
                " (" + std::to_string(restored->report.keys) + " keys, " +
                std::to_string(restored->cursors.size()) + " input positions)" +
                (changed.empty() ? "" : "; rules started empty:" + changed));
    }
  }
  if (restored->checkpoint == 0) {
    (*engine)->EnableCheckpoints();
    restored->from_start = true;
    log->Info("state " + dir + ": no saved state; reading the inputs from their start");
  }
  auto probe = std::make_unique<Probe>(*metrics->registry());
  out->reset(new Checkpointer(options, std::move(store), std::move(probe), std::move(cold)));
  return Status::Ok();
}

void Checkpointer::PrepareEngine(Engine* engine) const {
  engine->EnableCheckpoints();
  if (cold_) engine->SetColdStore(cold_.get());
}

bool Checkpointer::Due(Clock::time_point now) const {
  return now - last_attempt_ >= std::chrono::milliseconds(options_.state.checkpoint_interval_ms);
}

Status Checkpointer::Checkpoint(Engine* engine, const Source& source) {
  const auto t0 = Clock::now();
  last_attempt_ = t0;
  if (!pending_) pending_ = store_->NewBatch();
  engine->Checkpoint(pending_.get());
  pending_->SetCursors(source.Cursors());
  pending_->SetRulesFingerprint(engine->RulesFingerprint());
  const size_t bytes = pending_->ApproximateBytes();
  Status s = store_->Commit(pending_.get());
  if (!s.ok()) {
    probe_->failed.Increment();
    return s;  // pending_ is kept: the next attempt commits it with the new changes
  }
  pending_.reset();
  engine->CheckpointCommitted();
  if (cold_) engine->EvictColdKeys(static_cast<size_t>(options_.state.max_hot_keys));
  probe_->ok.Increment();
  probe_->duration.Set(std::chrono::duration<double>(Clock::now() - t0).count());
  probe_->bytes.Set(static_cast<double>(bytes));
  probe_->timestamp.SetToCurrentTime();
  probe_->store_bytes.Set(static_cast<double>(store_->Info().approximate_bytes));
  probe_->resident.Set(static_cast<double>(ResidentBytes()));
  if (cold_) {
    const Engine::ColdStats cs = engine->cold_stats();
    probe_->hot_keys.Set(static_cast<double>(cs.hot_keys));
    probe_->evictions.Increment(static_cast<double>(cs.evictions) - probe_->evictions.Value());
    probe_->loads.Increment(static_cast<double>(cs.loads - probe_->loads_seen));
    probe_->loads_seen = cs.loads;
  }
  return Status::Ok();
}

}  // namespace abusewatch

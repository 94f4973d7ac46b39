// StateStore on RocksDB (see state_store.h and README.md in this directory).
#include "daemon/state/state_store.h"

#include "daemon/state/checkpoint_marker.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/wal_filter.h>
#include <rocksdb/write_batch.h>
#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <system_error>

namespace abusewatch {
namespace {

namespace fs = std::filesystem;

// Column families, in handle order. The store's own records live in "store", apart from the
// engine's meta names in "meta"; "default" (which RocksDB requires) stays empty.
enum Cf { kDefault = 0, kKeys, kMeta, kStore, kNumCf };
constexpr std::string_view kCfNames[kNumCf] = {"default", "keys", "meta", "store"};

// Records in "store".
constexpr std::string_view kFormatRecord = "format";          // fixed32 version
constexpr std::string_view kCheckpointRecord = "checkpoint";  // fixed64 sequence, fixed64 ms
constexpr std::string_view kCursorsRecord = "cursors";        // EncodeCursors()
constexpr std::string_view kRulesRecord = "rules";            // the fingerprint as given

constexpr size_t kChecksumBytes = 8;
constexpr std::string_view kRebuildHint = "; move it away or start with --state-rebuild";

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
std::string_view ToView(const rocksdb::Slice& s) { return std::string_view(s.data(), s.size()); }

void PutFixed(std::string* out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetFixed(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= uint64_t{static_cast<uint8_t>(in[i])} << (8 * i);
  return v;
}
void PutVarint(std::string* out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>(v | 0x80));
  out->push_back(static_cast<char>(v));
}
bool GetVarint(std::string_view* in, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && !in->empty(); shift += 7) {
    const uint8_t byte = static_cast<uint8_t>(in->front());
    in->remove_prefix(1);
    *v |= uint64_t{byte & 0x7fu} << shift;
    if (byte < 0x80) return shift < 63 || byte <= 1;
  }
  return false;
}
void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}
bool GetString(std::string_view* in, std::string* s) {
  uint64_t n = 0;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  s->assign(in->substr(0, n));
  in->remove_prefix(n);
  return true;
}

// XXH3-64 over (column family name, key, value), lengths framed so that no two distinct
// triples hash the same input.
uint64_t Checksum(Cf cf, std::string_view key, std::string_view value) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  std::string frame;
  PutFixed(&frame, kCfNames[cf].size(), 4);
  frame.append(kCfNames[cf]);
  PutFixed(&frame, key.size(), 8);
  XXH3_64bits_update(&state, frame.data(), frame.size());
  XXH3_64bits_update(&state, key.data(), key.size());
  XXH3_64bits_update(&state, value.data(), value.size());
  return XXH3_64bits_digest(&state);
}

std::string Seal(Cf cf, std::string_view key, std::string_view value) {
  std::string out;
  out.reserve(value.size() + kChecksumBytes);
  out.append(value);
  PutFixed(&out, Checksum(cf, key, value), kChecksumBytes);
  return out;
}

// Printable ASCII as is, everything else as \xNN; long keys cut.
std::string Escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < s.size() && i < 80; ++i) {
    const auto c = static_cast<uint8_t>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  if (s.size() > 80) out += "...";
  return out;
}

std::string Quoted(const std::string& dir) { return "state directory '" + dir + "'"; }

Status Damaged(const std::string& dir, std::string_view what) {
  return Status::Corruption(Quoted(dir) + " is damaged: " + std::string(what) +
                            std::string(kRebuildHint));
}

// Maps a RocksDB error: Corruption stays Corruption, everything else is an I/O error.
Status FromRocks(const std::string& dir, std::string_view doing, const rocksdb::Status& s) {
  if (s.IsCorruption()) return Damaged(dir, std::string(doing) + ": " + s.ToString());
  std::string msg = Quoted(dir) + ": " + std::string(doing) + " failed: " + s.ToString();
  if (s.ToString().find("lock") != std::string::npos) {
    msg += " (is another abusewatch using this state directory?)";
  }
  return Status::IoError(msg);
}

// Checks and strips the checksum of `stored`, the value of `key` in `cf`.
Status Unseal(const std::string& dir, Cf cf, std::string_view key, std::string_view stored,
              std::string_view* value) {
  if (stored.size() >= kChecksumBytes) {
    *value = stored.substr(0, stored.size() - kChecksumBytes);
    if (GetFixed(stored.substr(value->size()), kChecksumBytes) == Checksum(cf, key, *value)) {
      return Status::Ok();
    }
  }
  return Damaged(dir, "checksum mismatch in column family '" + std::string(kCfNames[cf]) +
                          "', key \"" + Escape(key) + "\"");
}

rocksdb::Options MakeOptions() {
  rocksdb::Options o;
  o.create_missing_column_families = true;
  o.paranoid_checks = true;
  // A commit is one WriteBatch: recovery of a torn WAL tail lands on a checkpoint boundary.
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Reports a synced WAL that the MANIFEST tracks but that is missing.
  o.track_and_verify_wals_in_manifest = true;
  // Flushes land in the MANIFEST as one atomic group for all column families; recovery keeps
  // the WAL instead of flushing each column family on its own.
  o.atomic_flush = true;
  o.avoid_flush_during_recovery = true;
  o.keep_log_file_num = 4;
  o.max_log_file_size = 8 << 20;
  rocksdb::BlockBasedTableOptions t;
  t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  t.block_cache = rocksdb::NewLRUCache(64 << 20);
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  const auto supported = rocksdb::GetSupportedCompressions();
  const auto has = [&](rocksdb::CompressionType c) {
    return std::find(supported.begin(), supported.end(), c) != supported.end();
  };
  o.compression = has(rocksdb::kLZ4Compression)      ? rocksdb::kLZ4Compression
                  : has(rocksdb::kZSTD)              ? rocksdb::kZSTD
                  : has(rocksdb::kSnappyCompression) ? rocksdb::kSnappyCompression
                                                     : rocksdb::kNoCompression;
  return o;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Descriptors(const rocksdb::Options& o) {
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (std::string_view name : kCfNames) cfs.emplace_back(std::string(name), o);
  return cfs;
}

std::string EncodeCursors(const std::vector<SourceCursor>& cursors) {
  std::string out;
  PutVarint(&out, cursors.size());
  for (const SourceCursor& c : cursors) {
    PutString(&out, c.input);
    PutVarint(&out, c.lane);
    PutVarint(&out, c.next);
    PutVarint(&out, c.count);
    PutString(&out, c.identity);
  }
  return out;
}

bool DecodeCursors(std::string_view in, std::vector<SourceCursor>* out) {
  out->clear();
  uint64_t n = 0;
  if (!GetVarint(&in, &n) || n > in.size() / 5) return false;  // a cursor takes >= 5 bytes
  out->resize(n);
  for (SourceCursor& c : *out) {
    uint64_t lane = 0;
    if (!GetString(&in, &c.input) || !GetVarint(&in, &lane) || lane > UINT32_MAX ||
        !GetVarint(&in, &c.next) || !GetVarint(&in, &c.count) || !GetString(&in, &c.identity)) {
      return false;
    }
    c.lane = static_cast<uint32_t>(lane);
  }
  return in.empty();
}

// A WAL filter that replays nothing and collects the checkpoint numbers of the commits found.
class WalCheckpoints final : public rocksdb::WalFilter, public rocksdb::WriteBatch::Handler {
 public:
  std::vector<uint64_t> found;

  const char* Name() const override { return "abusewatch.WalCheckpoints"; }
  void ColumnFamilyLogNumberMap(const std::map<uint32_t, uint64_t>& /*log_numbers*/,
                                const std::map<std::string, uint32_t>& ids) override {
    auto it = ids.find(std::string(kCfNames[kStore]));
    if (it != ids.end()) store_id_ = it->second;
  }
  WalProcessingOption LogRecordFound(unsigned long long /*log_number*/,
                                     const std::string& /*log_file_name*/,
                                     const rocksdb::WriteBatch& batch,
                                     rocksdb::WriteBatch* /*new_batch*/,
                                     bool* /*batch_changed*/) override {
    (void)batch.Iterate(this);
    return WalProcessingOption::kIgnoreCurrentRecord;
  }
  rocksdb::Status PutCF(uint32_t cf, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    std::string_view v;
    if (cf == store_id_ && ToView(key) == kCheckpointRecord &&
        Unseal("", kStore, kCheckpointRecord, ToView(value), &v).ok() && v.size() == 16) {
      found.push_back(GetFixed(v, 8));
    }
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice&) override { return {}; }
  rocksdb::Status SingleDeleteCF(uint32_t, const rocksdb::Slice&) override { return {}; }
  rocksdb::Status DeleteRangeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return {};
  }
  rocksdb::Status MergeCF(uint32_t, const rocksdb::Slice&, const rocksdb::Slice&) override {
    return {};
  }

 private:
  uint32_t store_id_ = UINT32_MAX;
};

// RocksDB opens a database whose MANIFEST lost its last edits (a flush) without complaint,
// replaying the WAL written after that flush over older files: the checkpoints in between
// vanish. So first open it read-only without replaying the WAL, read the last checkpoint in
// the files, and check that the checkpoints in the WAL continue it without a gap.
Status CheckContinuity(const std::string& dir, rocksdb::Options options) {
  WalCheckpoints wal;
  options.wal_filter = &wal;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto rs = rocksdb::DB::OpenForReadOnly(options, dir, Descriptors(options), &handles, &db);
  if (!rs.ok()) return FromRocks(dir, "opening the state store", rs);
  rocksdb::PinnableSlice stored;
  rs = db->Get(rocksdb::ReadOptions(), handles[kStore], ToSlice(kCheckpointRecord), &stored);
  uint64_t last = 0;
  std::string_view v;
  Status s;
  if (rs.ok()) {
    s = Unseal(dir, kStore, kCheckpointRecord, ToView(stored), &v);
    if (s.ok()) last = v.size() == 16 ? GetFixed(v, 8) : 0;
  } else if (!rs.IsNotFound()) {
    s = FromRocks(dir, "reading the checkpoint record", rs);
  }
  stored.Reset();
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
  for (size_t i = 0; s.ok() && i < wal.found.size(); ++i) {
    if (wal.found[i] <= last) continue;
    if (wal.found[i] != last + 1) {
      s = Damaged(dir, "checkpoints " + std::to_string(last + 1) + " to " +
                           std::to_string(wal.found[i] - 1) +
                           " are missing (the MANIFEST lost records, or WAL files were removed)");
    }
    last = wal.found[i];
  }
  return s;
}

class StateStoreImpl;

class BatchImpl final : public StateStore::Batch {
 public:
  explicit BatchImpl(const StateStoreImpl* owner) : owner_(owner) {}
  void PutKey(std::string_view key, std::string_view value) override { Put(kKeys, key, value); }
  void DeleteKey(std::string_view key) override {
    bytes_ += key.size();
    Check(wb_.Delete(handle(kKeys), ToSlice(key)));
  }
  void PutMeta(std::string_view name, std::string_view value) override { Put(kMeta, name, value); }
  void DeleteMeta(std::string_view name) override {
    bytes_ += name.size();
    Check(wb_.Delete(handle(kMeta), ToSlice(name)));
  }
  void SetCursors(const std::vector<SourceCursor>& cursors) override {
    Put(kStore, kCursorsRecord, EncodeCursors(cursors));
  }
  void SetRulesFingerprint(std::string_view fingerprint) override {
    Put(kStore, kRulesRecord, fingerprint);
    rules_ = std::string(fingerprint);
  }
  size_t ApproximateBytes() const override { return bytes_; }

 private:
  friend class StateStoreImpl;
  rocksdb::ColumnFamilyHandle* handle(Cf cf) const;
  void Put(Cf cf, std::string_view key, std::string_view value) {
    bytes_ += key.size() + value.size();
    Check(wb_.Put(handle(cf), ToSlice(key), ToSlice(Seal(cf, key, value))));
  }
  void Check(const rocksdb::Status& s) {
    if (!s.ok() && error_.ok()) error_ = s;
  }

  const StateStoreImpl* owner_;
  rocksdb::WriteBatch wb_;
  rocksdb::Status error_;  // the first failed Put/Delete (e.g. a record over 4 GiB)
  size_t bytes_ = 0;
  bool spent_ = false;
  std::optional<std::string> rules_;
};

class StateStoreImpl final : public StateStore {
 public:
  StateStoreImpl(std::string dir, rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> cfs)
      : dir_(std::move(dir)), db_(db), cfs_(std::move(cfs)) {}
  ~StateStoreImpl() override {
    for (auto* h : cfs_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  rocksdb::ColumnFamilyHandle* handle(Cf cf) const { return cfs_[cf]; }

  // Reads the store's own records; writes the format record into a store just created.
  Status Load(bool created) {
    std::string v;
    Status s = Get(kStore, kFormatRecord, &v);
    if (s.code() == Status::Code::kNotFound) {
      // Also what a MANIFEST that lost its tail looks like: RocksDB then opens an older (even
      // empty) version of the database without complaint.
      if (!created) {
        return Damaged(dir_,
                       "the format version record is missing (its MANIFEST lost records, or "
                       "its creation was interrupted)");
      }
      std::string rec;
      PutFixed(&rec, kStateFormatVersion, 4);
      rocksdb::WriteOptions wo;
      wo.sync = true;
      auto rs = db_->Put(wo, handle(kStore), ToSlice(kFormatRecord),
                         ToSlice(Seal(kStore, kFormatRecord, rec)));
      if (!rs.ok()) return FromRocks(dir_, "writing the format version", rs);
      v = rec;
    } else if (!s.ok()) {
      return s;
    }
    if (v.size() != 4) return Damaged(dir_, "the format version record is malformed");
    format_ = static_cast<uint32_t>(GetFixed(v, 4));
    if (format_ != kStateFormatVersion) {
      return Status::InvalidArgument(
          Quoted(dir_) + " was written by an incompatible version (format " +
          std::to_string(format_) + ", this build reads " + std::to_string(kStateFormatVersion) +
          ")" + std::string(kRebuildHint));
    }
    s = Get(kStore, kCheckpointRecord, &v);
    if (s.ok()) {
      if (v.size() != 16) return Damaged(dir_, "the checkpoint record is malformed");
      checkpoints_ = GetFixed(v, 8);
      written_ms_ = static_cast<int64_t>(GetFixed(std::string_view(v).substr(8), 8));
    } else if (s.code() != Status::Code::kNotFound) {
      return s;
    }
    s = Get(kStore, kRulesRecord, &rules_);
    return s.code() == Status::Code::kNotFound ? Status::Ok() : s;
  }

  // RocksDB's checksums of every block of every file, then ours of every record.
  Status Verify() {
    auto rs = db_->VerifyChecksum();
    if (!rs.ok()) return FromRocks(dir_, "verifying file checksums", rs);
    for (Cf cf : {kDefault, kKeys, kMeta, kStore}) {
      rocksdb::ReadOptions ro;
      ro.fill_cache = false;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, handle(cf)));
      std::string_view value;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        Status s = Unseal(dir_, cf, ToView(it->key()), ToView(it->value()), &value);
        if (!s.ok()) return s;
      }
      if (!it->status().ok()) return FromRocks(dir_, "verifying records", it->status());
    }
    std::vector<SourceCursor> cursors;
    return GetCursors(&cursors);
  }

  std::unique_ptr<Batch> NewBatch() override { return std::make_unique<BatchImpl>(this); }

  Status Commit(Batch* batch) override {
    auto* b = dynamic_cast<BatchImpl*>(batch);
    if (b == nullptr || b->owner_ != this) {
      return Status::InvalidArgument("StateStore::Commit: the batch belongs to another store");
    }
    if (b->spent_) return Status::InvalidArgument("StateStore::Commit: the batch is spent");
    b->spent_ = true;
    const uint64_t seq = checkpoints_ + 1;
    if (!b->error_.ok()) {
      return FromRocks(dir_, "building checkpoint " + std::to_string(seq), b->error_);
    }
    const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    std::string rec;
    PutFixed(&rec, seq, 8);
    PutFixed(&rec, static_cast<uint64_t>(ms), 8);
    auto rs = b->wb_.Put(handle(kStore), ToSlice(kCheckpointRecord),
                         ToSlice(Seal(kStore, kCheckpointRecord, rec)));
    if (rs.ok()) {
      rocksdb::WriteOptions wo;
      wo.sync = true;
      rs = db_->Write(wo, &b->wb_);
    }
    b->wb_.Clear();
    if (!rs.ok()) return FromRocks(dir_, "committing checkpoint " + std::to_string(seq), rs);
    checkpoints_ = seq;
    written_ms_ = ms;
    if (b->rules_) rules_ = *b->rules_;
    // Committed (WAL synced): now the marker. If it cannot be written it stays behind, which
    // Open() accepts; the next commit tries again.
    WriteCheckpointMarker(dir_, seq);
    return Status::Ok();
  }

  StateStoreInfo Info() const override {
    StateStoreInfo info;
    info.format_version = format_;
    info.checkpoints = checkpoints_;
    info.written_unix_ms = written_ms_;
    info.rules_fingerprint = rules_;
    uint64_t v = 0;
    if (db_->GetIntProperty(handle(kKeys), "rocksdb.estimate-num-keys", &v)) {
      info.approximate_keys = v;
    }
    for (auto* h : cfs_) {
      if (db_->GetIntProperty(h, "rocksdb.total-sst-files-size", &v)) info.approximate_bytes += v;
    }
    rocksdb::VectorLogPtr wals;
    if (db_->GetSortedWalFiles(wals).ok()) {
      for (const auto& w : wals) {
        if (w->Type() == rocksdb::kAliveLogFile) info.approximate_bytes += w->SizeFileBytes();
      }
    }
    return info;
  }

  bool HasCheckpoint() const override { return checkpoints_ > 0; }

  Status GetCursors(std::vector<SourceCursor>* out) const override {
    out->clear();
    std::string v;
    Status s = Get(kStore, kCursorsRecord, &v);
    if (s.code() == Status::Code::kNotFound) return Status::Ok();
    if (!s.ok()) return s;
    if (!DecodeCursors(v, out)) {
      out->clear();
      return Damaged(dir_, "the cursors record is malformed");
    }
    return Status::Ok();
  }

  Status GetMeta(std::string_view name, std::string* value) const override {
    return Get(kMeta, name, value);
  }
  Status GetKey(std::string_view key, std::string* value) const override {
    return Get(kKeys, key, value);
  }

  Status ForEachKey(const std::function<Status(std::string_view key, std::string_view value)>& fn)
      const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), handle(kKeys)));
    std::string_view value;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      Status s = Unseal(dir_, kKeys, ToView(it->key()), ToView(it->value()), &value);
      if (s.ok()) s = fn(ToView(it->key()), value);
      if (!s.ok()) return s;
    }
    return it->status().ok() ? Status::Ok() : FromRocks(dir_, "reading keys", it->status());
  }

 private:
  Status Get(Cf cf, std::string_view key, std::string* value) const {
    rocksdb::PinnableSlice stored;
    auto rs = db_->Get(rocksdb::ReadOptions(), handle(cf), ToSlice(key), &stored);
    if (rs.IsNotFound()) {
      return Status::NotFound("no record \"" + Escape(key) + "\" in column family '" +
                              std::string(kCfNames[cf]) + "'");
    }
    if (!rs.ok()) return FromRocks(dir_, "reading \"" + Escape(key) + "\"", rs);
    std::string_view v;
    Status s = Unseal(dir_, cf, key, ToView(stored), &v);
    if (s.ok()) value->assign(v);
    return s;
  }

  const std::string dir_;
  const std::unique_ptr<rocksdb::DB> db_;
  const std::vector<rocksdb::ColumnFamilyHandle*> cfs_;  // indexed by Cf
  uint32_t format_ = 0;
  uint64_t checkpoints_ = 0;
  int64_t written_ms_ = 0;
  std::string rules_;
};

rocksdb::ColumnFamilyHandle* BatchImpl::handle(Cf cf) const { return owner_->handle(cf); }

}  // namespace

Status StateStore::Open(const std::string& dir, bool create_if_missing, bool verify,
                        std::unique_ptr<StateStore>* out) {
  out->reset();
  std::error_code ec;
  const bool exists = fs::exists(dir, ec);
  if (ec) return Status::IoError(Quoted(dir) + ": " + ec.message());
  bool fresh = !exists;
  if (exists) {
    if (!fs::is_directory(dir, ec)) {
      return Status::InvalidArgument(Quoted(dir) + " is not a directory");
    }
    if (!fs::exists(fs::path(dir) / "CURRENT", ec)) {
      if (!fs::is_empty(dir, ec)) {
        return Status::InvalidArgument(
            Quoted(dir) +
            " is not an abusewatch state directory: it is not empty and holds no state store; "
            "point the state directory at an empty or missing directory");
      }
      fresh = true;
    }
  }
  if (fresh && !create_if_missing) return Status::NotFound(Quoted(dir) + " holds no state store");
  if (fresh && !fs::create_directories(dir, ec) && ec) {
    return Status::IoError(Quoted(dir) + ": cannot create it: " + ec.message());
  }
  rocksdb::Options options = MakeOptions();
  if (!fresh) {
    std::vector<std::string> names;
    auto rs = rocksdb::DB::ListColumnFamilies(options, dir, &names);
    if (!rs.ok()) return FromRocks(dir, "reading the list of column families", rs);
    if (std::find(names.begin(), names.end(), kCfNames[kStore]) == names.end()) {
      // A MANIFEST cut short also lists "default" only: tell the two apart by opening it.
      rocksdb::DB* probe = nullptr;
      rs = rocksdb::DB::OpenForReadOnly(options, dir, &probe);
      delete probe;
      if (!rs.ok()) return FromRocks(dir, "reading the list of column families", rs);
      return Status::InvalidArgument(
          Quoted(dir) +
          " is not an abusewatch state directory: it holds a RocksDB database without the "
          "store's column families" +
          std::string(kRebuildHint));
    }
  }
  if (!fresh) {
    // Under RocksDB's lock, so that no other process writes while the check reads.
    rocksdb::FileLock* lock = nullptr;
    auto rs = options.env->LockFile(dir + "/LOCK", &lock);
    if (!rs.ok()) return FromRocks(dir, "locking it", rs);
    Status s = CheckContinuity(dir, options);
    options.env->UnlockFile(lock).PermitUncheckedError();
    if (!s.ok()) return s;
  }
  options.create_if_missing = fresh;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  auto rs = rocksdb::DB::Open(options, dir, Descriptors(options), &handles, &db);
  if (!rs.ok()) return FromRocks(dir, "opening the state store", rs);
  auto store = std::make_unique<StateStoreImpl>(dir, db, std::move(handles));
  Status s = store->Load(/*created=*/fresh);
  if (s.ok()) {
    uint64_t marked = 0;
    s = ReadCheckpointMarker(dir, &marked);
    if (s.ok() && marked > store->Info().checkpoints) {
      s = Damaged(dir, "it holds checkpoint " + std::to_string(store->Info().checkpoints) +
                           " but checkpoint " + std::to_string(marked) +
                           " was committed (a damaged WAL or MANIFEST)");
    } else if (!s.ok()) {
      s = Damaged(dir, s.message());
    }
  }
  if (s.ok() && verify) s = store->Verify();
  if (s.ok()) *out = std::move(store);
  return s;
}

Status StateStore::Destroy(const std::string& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::Ok();
  const fs::perms perms = fs::status(dir, ec).permissions();
  const rocksdb::Options options = MakeOptions();
  RemoveCheckpointMarker(dir);
  auto rs = rocksdb::DestroyDB(dir, options, Descriptors(options));
  if (!rs.ok()) return FromRocks(dir, "removing the state store", rs);
  // DestroyDB removes the directory when it ends up empty; the contract keeps it.
  if (!fs::exists(dir, ec) && fs::create_directories(dir, ec)) fs::permissions(dir, perms, ec);
  return Status::Ok();
}

}  // namespace abusewatch

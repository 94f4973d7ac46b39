// StateStore: round trip of every kind of record, atomicity of a commit, refusal of foreign,
// incompatible and damaged directories (damaged SST files, MANIFEST, values, a torn WAL tail).
#include "daemon/state/state_store.h"

#include "daemon/state/checkpoint_marker.h"

#define XXH_STATIC_LINKING_ONLY
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <stdlib.h>
#include <xxhash.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <tuple>

namespace abusewatch {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::path(testing::TempDir()) / "state_store_test.XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
    dir_ = path_ + "/state";
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  // A state directory inside the temporary one (not yet existing).
  const std::string& dir() const { return dir_; }

 private:
  std::string path_;
  std::string dir_;
};

using CursorTuple = std::tuple<std::string, uint32_t, uint64_t, uint64_t, std::string>;
std::vector<CursorTuple> Tuples(const std::vector<SourceCursor>& cursors) {
  std::vector<CursorTuple> out;
  for (const auto& c : cursors) out.emplace_back(c.input, c.lane, c.next, c.count, c.identity);
  return out;
}

std::unique_ptr<StateStore> MustOpen(const std::string& dir, bool verify = true) {
  std::unique_ptr<StateStore> store;
  Status s = StateStore::Open(dir, /*create_if_missing=*/true, verify, &store);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return store;
}

Status Commit(StateStore* store, const std::map<std::string, std::string>& keys,
              std::string_view meta = "", std::vector<SourceCursor> cursors = {}) {
  auto batch = store->NewBatch();
  for (const auto& [k, v] : keys) batch->PutKey(k, v);
  if (!meta.empty()) batch->PutMeta("engine", meta);
  if (!cursors.empty()) batch->SetCursors(cursors);
  return store->Commit(batch.get());
}

std::map<std::string, std::string> AllKeys(const StateStore& store) {
  std::map<std::string, std::string> out;
  Status s = store.ForEachKey([&](std::string_view k, std::string_view v) {
    out.emplace(k, v);
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

// The store's on-disk value format (README.md): value, then XXH3-64 over (column family name
// length as fixed32, name, key length as fixed64, key, value) as fixed64, little-endian.
std::string Seal(std::string_view cf, std::string_view key, std::string_view value) {
  auto fixed = [](uint64_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
    return s;
  };
  const std::string input = fixed(cf.size(), 4) + std::string(cf) + fixed(key.size(), 8) +
                            std::string(key) + std::string(value);
  return std::string(value) + fixed(XXH3_64bits(input.data(), input.size()), 8);
}

// The store's database opened directly, to flush it or to tamper with it.
class RawDb {
 public:
  explicit RawDb(const std::string& dir) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
    for (const char* name : {"default", "keys", "meta", "store"}) {
      cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
    }
    rocksdb::DB* db = nullptr;
    rocksdb::DBOptions options;
    options.atomic_flush = true;  // as the store flushes
    auto s = rocksdb::DB::Open(options, dir, cfs, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }
  void Put(int cf, std::string_view key, std::string_view value) {
    auto s = db_->Put(rocksdb::WriteOptions(), handles_[cf], rocksdb::Slice(key.data(), key.size()),
                      rocksdb::Slice(value.data(), value.size()));
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string Get(int cf, std::string_view key) {
    std::string v;
    auto s =
        db_->Get(rocksdb::ReadOptions(), handles_[cf], rocksdb::Slice(key.data(), key.size()), &v);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return v;
  }
  void Flush() {
    auto s = db_->Flush(rocksdb::FlushOptions(), handles_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};
constexpr int kKeysCf = 1;
constexpr int kStoreCf = 3;

std::vector<fs::path> FilesEndingIn(const std::string& dir, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.ends_with(suffix)) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void FlipByte(const fs::path& file, uint64_t at) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  ASSERT_TRUE(f.good()) << file;
  f.seekg(at);
  char c = 0;
  f.read(&c, 1);
  c ^= 0x5a;
  f.seekp(at);
  f.write(&c, 1);
}

TEST(StateStoreTest, RoundTrip) {
  TempDir tmp;
  std::map<std::string, std::string> keys = {
      {"alice", "state-a"},
      {std::string("n\0ul", 4), std::string("v\0\0x", 4)},
      {"empty-value", ""},
      {"\xff\xfe", "high bytes"},
      {"big", std::string(1 << 20, 'z')},
  };
  const std::vector<SourceCursor> cursors = {
      {"events/0", 3, 12345, 0, ""},
      {"/var/log/a b.jsonl", 0, 99, 7, "2049:1234"},
      {"", 0, 0, 0, std::string("\0id", 3)},
  };
  {
    std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
    ASSERT_NE(store, nullptr);
    EXPECT_FALSE(store->HasCheckpoint());
    EXPECT_EQ(store->Info().checkpoints, 0u);
    std::vector<SourceCursor> got = {{"x"}};
    ASSERT_TRUE(store->GetCursors(&got).ok());
    EXPECT_TRUE(got.empty());
    std::string v;
    EXPECT_EQ(store->GetKey("alice", &v).code(), Status::Code::kNotFound);
    EXPECT_EQ(store->GetMeta("engine", &v).code(), Status::Code::kNotFound);

    auto batch = store->NewBatch();
    for (const auto& [k, val] : keys) batch->PutKey(k, val);
    batch->PutKey("doomed", "x");
    batch->PutMeta("engine", std::string("e\0ngine", 7));
    batch->PutMeta("dedup", "d");
    batch->PutMeta("empty", "");
    batch->SetCursors(cursors);
    batch->SetRulesFingerprint("sha256:abc");
    EXPECT_GT(batch->ApproximateBytes(), size_t{1} << 20);
    ASSERT_TRUE(store->Commit(batch.get()).ok());
    EXPECT_FALSE(store->Commit(batch.get()).ok());  // spent
    EXPECT_TRUE(store->HasCheckpoint());
    EXPECT_EQ(store->Info().checkpoints, 1u);

    auto second = store->NewBatch();
    second->DeleteKey("doomed");
    second->DeleteKey("never-existed");
    second->PutMeta("engine", "e2");
    second->DeleteMeta("dedup");
    second->DeleteMeta("never-existed");
    ASSERT_TRUE(store->Commit(second.get()).ok());
    EXPECT_EQ(store->Info().checkpoints, 2u);
  }
  std::unique_ptr<StateStore> store = MustOpen(tmp.dir(), /*verify=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->HasCheckpoint());
  const StateStoreInfo info = store->Info();
  EXPECT_EQ(info.format_version, kStateFormatVersion);
  EXPECT_EQ(info.checkpoints, 2u);
  EXPECT_EQ(info.rules_fingerprint, "sha256:abc");  // kept from the first batch
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  EXPECT_LE(info.written_unix_ms, now_ms);
  EXPECT_GT(info.written_unix_ms, now_ms - 60'000);
  EXPECT_GT(info.approximate_keys, 0u);
  EXPECT_GT(info.approximate_bytes, 0u);

  EXPECT_EQ(AllKeys(*store), keys);
  for (const auto& [k, val] : keys) {
    std::string v = "junk";
    ASSERT_TRUE(store->GetKey(k, &v).ok());
    EXPECT_EQ(v, val);
  }
  std::string v;
  EXPECT_EQ(store->GetKey("doomed", &v).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store->GetMeta("engine", &v).ok());
  EXPECT_EQ(v, "e2");
  EXPECT_EQ(store->GetMeta("dedup", &v).code(), Status::Code::kNotFound);
  ASSERT_TRUE(store->GetMeta("empty", &v).ok());
  EXPECT_EQ(v, "");
  // The store's own records do not show through the engine's meta names.
  EXPECT_EQ(store->GetMeta("format", &v).code(), Status::Code::kNotFound);
  EXPECT_EQ(store->GetMeta("cursors", &v).code(), Status::Code::kNotFound);
  std::vector<SourceCursor> got;
  ASSERT_TRUE(store->GetCursors(&got).ok());
  EXPECT_EQ(Tuples(got), Tuples(cursors));

  // Key byte order, and an early stop returns fn's status.
  std::vector<std::string> order;
  int calls = 0;
  Status s = store->ForEachKey([&](std::string_view k, std::string_view) {
    order.emplace_back(k);
    return ++calls == 3 ? Status::Internal("stop") : Status::Ok();
  });
  EXPECT_EQ(s.code(), Status::Code::kInternal);
  EXPECT_EQ(s.message(), "stop");
  ASSERT_EQ(order.size(), 3u);
  std::vector<std::string> expected;
  for (const auto& [k, val] : keys) expected.push_back(k);
  expected.resize(3);
  EXPECT_EQ(order, expected);

  auto third = store->NewBatch();
  ASSERT_TRUE(store->Commit(third.get()).ok());
  EXPECT_EQ(store->Info().checkpoints, 3u);
}

TEST(StateStoreTest, UncommittedBatchLeavesNothing) {
  TempDir tmp;
  {
    std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
    ASSERT_TRUE(Commit(store.get(), {{"a", "1"}, {"b", "1"}}, "m1", {{"f", 0, 1}}).ok());
    auto batch = store->NewBatch();
    batch->PutKey("a", "2");
    batch->PutKey("c", "2");
    batch->DeleteKey("b");
    batch->PutMeta("engine", "m2");
    batch->SetCursors({{"f", 0, 2}});
    batch->SetRulesFingerprint("r2");
    std::string v;
    ASSERT_TRUE(store->GetKey("a", &v).ok());
    EXPECT_EQ(v, "1");
    EXPECT_EQ(store->GetKey("c", &v).code(), Status::Code::kNotFound);
    EXPECT_EQ(store->Info().checkpoints, 1u);
    EXPECT_EQ(store->Info().rules_fingerprint, "");
    // `batch` is dropped here without Commit().
  }
  std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
  EXPECT_EQ(AllKeys(*store), (std::map<std::string, std::string>{{"a", "1"}, {"b", "1"}}));
  std::string v;
  ASSERT_TRUE(store->GetMeta("engine", &v).ok());
  EXPECT_EQ(v, "m1");
  std::vector<SourceCursor> got;
  ASSERT_TRUE(store->GetCursors(&got).ok());
  EXPECT_EQ(Tuples(got), Tuples({{"f", 0, 1}}));
  EXPECT_EQ(store->Info().checkpoints, 1u);
}

TEST(StateStoreTest, RefusesForeignAndMissingDirectories) {
  TempDir tmp;
  // Missing, without create_if_missing: NotFound, and nothing created.
  std::unique_ptr<StateStore> store;
  Status s = StateStore::Open(tmp.dir(), false, false, &store);
  EXPECT_EQ(s.code(), Status::Code::kNotFound) << s.ToString();
  EXPECT_FALSE(fs::exists(tmp.dir()));

  // A non-empty directory that is no RocksDB database: refused and left alone.
  fs::create_directories(tmp.dir());
  std::ofstream(tmp.dir() + "/notes.txt") << "mine";
  s = StateStore::Open(tmp.dir(), true, false, &store);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("is not an abusewatch state directory"), std::string::npos);
  EXPECT_NE(s.message().find(tmp.dir()), std::string::npos);
  EXPECT_EQ(store, nullptr);
  EXPECT_FALSE(fs::exists(tmp.dir() + "/CURRENT"));

  // Another program's RocksDB database: refused, not converted.
  const std::string other = tmp.dir() + "-rocks";
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* db = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, other, &db).ok());
    delete db;
  }
  s = StateStore::Open(other, true, true, &store);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("is not an abusewatch state directory"), std::string::npos);
  std::vector<std::string> cfs;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), other, &cfs).ok());
  EXPECT_EQ(cfs, std::vector<std::string>{"default"});
}

TEST(StateStoreTest, SecondOpenOfTheSameDirectoryFails) {
  TempDir tmp;
  std::unique_ptr<StateStore> first = MustOpen(tmp.dir());
  std::unique_ptr<StateStore> second;
  Status s = StateStore::Open(tmp.dir(), true, false, &second);
  EXPECT_EQ(s.code(), Status::Code::kIoError) << s.ToString();
  EXPECT_NE(s.message().find(tmp.dir()), std::string::npos);
}

TEST(StateStoreTest, IncompatibleFormatVersion) {
  TempDir tmp;
  { MustOpen(tmp.dir()); }
  {
    RawDb raw(tmp.dir());
    ASSERT_EQ(raw.Get(kStoreCf, "format"), Seal("store", "format", std::string("\1\0\0\0", 4)));
    raw.Put(kStoreCf, "format", Seal("store", "format", std::string("\7\0\0\0", 4)));
  }
  for (bool verify : {false, true}) {
    std::unique_ptr<StateStore> store;
    Status s = StateStore::Open(tmp.dir(), true, verify, &store);
    EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
    EXPECT_NE(s.message().find("written by an incompatible version (format 7, this build reads 1)"),
              std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find(tmp.dir()), std::string::npos);
    EXPECT_NE(s.message().find("--state-rebuild"), std::string::npos);
    EXPECT_EQ(store, nullptr);
  }
}

TEST(StateStoreTest, DestroyEmptiesTheDirectory) {
  TempDir tmp;
  {
    std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
    ASSERT_TRUE(Commit(store.get(), {{"a", "1"}}).ok());
  }
  ASSERT_TRUE(StateStore::Destroy(tmp.dir()).ok());
  EXPECT_TRUE(fs::is_directory(tmp.dir()));
  EXPECT_FALSE(fs::exists(tmp.dir() + "/CURRENT"));
  std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
  ASSERT_NE(store, nullptr);
  EXPECT_FALSE(store->HasCheckpoint());
  EXPECT_TRUE(AllKeys(*store).empty());
  EXPECT_TRUE(StateStore::Destroy(tmp.dir() + "-never").ok());
}

// A store of 5000 keys with 200-byte values in SST files.
class StateStoreCorruptionTest : public testing::Test {
 protected:
  void SetUp() override {
    std::mt19937_64 rng(20240521);
    std::uniform_int_distribution<int> byte(0, 255);
    {
      std::unique_ptr<StateStore> store = MustOpen(tmp_.dir());
      ASSERT_NE(store, nullptr);
      for (int b = 0; b < 5; ++b) {
        std::map<std::string, std::string> batch;
        for (int i = 0; i < 1000; ++i) {
          std::string value(200, '\0');
          for (char& c : value) c = static_cast<char>(byte(rng));
          batch["key" + std::to_string(b * 1000 + i)] = value;
        }
        ASSERT_TRUE(Commit(store.get(), batch, "meta", {{"f", 0, uint64_t(b)}}).ok());
        keys_.insert(batch.begin(), batch.end());
      }
    }
    RawDb(tmp_.dir()).Flush();
    ssts_ = FilesEndingIn(tmp_.dir(), ".sst");
    ASSERT_FALSE(ssts_.empty());
  }

  // Open(verify=true) must fail, naming the directory, with one of `codes`.
  void ExpectOpenFails(std::vector<Status::Code> codes) {
    std::unique_ptr<StateStore> store;
    Status s = StateStore::Open(tmp_.dir(), true, /*verify=*/true, &store);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(store, nullptr);
    EXPECT_NE(std::find(codes.begin(), codes.end(), s.code()), codes.end()) << s.ToString();
    EXPECT_NE(s.message().find(tmp_.dir()), std::string::npos) << s.ToString();
  }

  TempDir tmp_;
  std::map<std::string, std::string> keys_;
  std::vector<fs::path> ssts_;
};

TEST_F(StateStoreCorruptionTest, IntactStoreVerifies) {
  std::unique_ptr<StateStore> store = MustOpen(tmp_.dir(), /*verify=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(AllKeys(*store), keys_);
  EXPECT_EQ(store->Info().checkpoints, 5u);
  EXPECT_GT(store->Info().approximate_bytes, 5000u * 200 / 2);
}

TEST_F(StateStoreCorruptionTest, FlippedByteInEachSstFile) {
  for (const fs::path& sst : ssts_) {
    SCOPED_TRACE(sst.string());
    const uint64_t size = fs::file_size(sst);
    FlipByte(sst, size / 2);
    ExpectOpenFails({Status::Code::kCorruption});
    FlipByte(sst, size / 2);  // repaired: the next file is tested alone
  }
}

TEST_F(StateStoreCorruptionTest, TruncatedSstFile) {
  fs::resize_file(ssts_.back(), fs::file_size(ssts_.back()) / 2);
  ExpectOpenFails({Status::Code::kCorruption, Status::Code::kIoError});
}

// A MANIFEST cut short at several points: RocksDB itself reads a cut tail as the end of the
// log and opens an older version; the store must refuse rather than hand that out.
TEST_F(StateStoreCorruptionTest, TruncatedManifest) {
  const std::string pristine = tmp_.dir() + "-pristine";
  fs::copy(tmp_.dir(), pristine, fs::copy_options::recursive);
  fs::path manifest;
  for (const auto& p : FilesEndingIn(tmp_.dir(), "")) {
    if (p.filename().string().starts_with("MANIFEST-")) manifest = p.filename();
  }
  ASSERT_FALSE(manifest.empty());
  const uint64_t size = fs::file_size(fs::path(tmp_.dir()) / manifest);
  for (uint64_t keep : {size / 2, size / 10, size / 4, size * 3 / 4, size * 9 / 10, size - 1}) {
    SCOPED_TRACE(keep);
    fs::remove_all(tmp_.dir());
    fs::copy(pristine, tmp_.dir(), fs::copy_options::recursive);
    fs::resize_file(fs::path(tmp_.dir()) / manifest, keep);
    std::unique_ptr<StateStore> store;
    Status s = StateStore::Open(tmp_.dir(), true, /*verify=*/true, &store);
    if (keep == size / 2) {
      ExpectOpenFails({Status::Code::kCorruption, Status::Code::kIoError});
    } else if (s.ok()) {  // never different data
      EXPECT_EQ(store->Info().checkpoints, 5u);
      EXPECT_EQ(AllKeys(*store), keys_);
    } else {
      EXPECT_NE(s.message().find(tmp_.dir()), std::string::npos) << s.ToString();
    }
  }
}

TEST_F(StateStoreCorruptionTest, FlippedValue) {
  const std::string key = "key1234";
  {
    RawDb raw(tmp_.dir());
    std::string stored = raw.Get(kKeysCf, key);
    ASSERT_EQ(stored.size(), 208u);
    stored[17] ^= 1;  // the checksum (the last 8 bytes) is left as it was
    raw.Put(kKeysCf, key, stored);
  }
  ExpectOpenFails({Status::Code::kCorruption});
  {
    std::unique_ptr<StateStore> store;
    Status s = StateStore::Open(tmp_.dir(), true, true, &store);
    EXPECT_NE(s.message().find("\"key1234\""), std::string::npos) << s.message();
  }
  // Without the verification pass, reads catch it.
  std::unique_ptr<StateStore> store = MustOpen(tmp_.dir(), /*verify=*/false);
  ASSERT_NE(store, nullptr);
  std::string v;
  Status s = store->GetKey(key, &v);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find(tmp_.dir()), std::string::npos);
  EXPECT_NE(s.message().find("key1234"), std::string::npos);
  ASSERT_TRUE(store->GetKey("key1233", &v).ok());
  EXPECT_EQ(v, keys_["key1233"]);
  size_t seen = 0;
  s = store->ForEachKey([&](std::string_view, std::string_view) {
    ++seen;
    return Status::Ok();
  });
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_LT(seen, keys_.size());
}

TEST_F(StateStoreCorruptionTest, NonPrintableKeyIsEscapedInMessages) {
  const std::string key("k\0\n\xff", 4);
  {
    RawDb raw(tmp_.dir());
    raw.Put(kKeysCf, key, Seal("keys", key, "value") + "x");
  }
  std::unique_ptr<StateStore> store = MustOpen(tmp_.dir(), /*verify=*/false);
  ASSERT_NE(store, nullptr);
  std::string v;
  Status s = store->GetKey(key, &v);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("k\\x00\\x0a\\xff"), std::string::npos) << s.message();
}

TEST_F(StateStoreCorruptionTest, MalformedCursorsWithValidChecksum) {
  std::string good = RawDb(tmp_.dir()).Get(kStoreCf, "cursors");
  good.resize(good.size() - 8);
  // A cut record, a count larger than the record could hold, trailing bytes.
  for (const std::string& bad :
       {good.substr(0, good.size() - 1), std::string("\xff\xff\xff\xff\x0f", 5), good + "x"}) {
    SCOPED_TRACE(bad.size());
    RawDb(tmp_.dir()).Put(kStoreCf, "cursors", Seal("store", "cursors", bad));
    ExpectOpenFails({Status::Code::kCorruption});
    std::unique_ptr<StateStore> store = MustOpen(tmp_.dir(), /*verify=*/false);
    ASSERT_NE(store, nullptr);
    std::vector<SourceCursor> got;
    EXPECT_EQ(store->GetCursors(&got).code(), Status::Code::kCorruption);
    EXPECT_TRUE(got.empty());
  }
}

// A store flushed after each of two commits (editing the MANIFEST), a third commit left in the
// WAL, its MANIFEST then cut at many points: every open fails or returns exactly the same state.
TEST(StateStoreTest, ManifestCutAnywhere) {
  TempDir tmp;
  std::map<std::string, std::string> all;
  for (int round = 1; round <= 3; ++round) {
    std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
    ASSERT_NE(store, nullptr);
    auto batch = store->NewBatch();
    for (int i = 0; i < 100; ++i) {
      const std::string key = "r" + std::to_string(round) + "-" + std::to_string(i);
      batch->PutKey(key, "v");
      all[key] = "v";
    }
    if (round == 1) batch->SetRulesFingerprint("rules-1");
    if (round == 2) batch->PutMeta("engine", "meta-2");
    batch->SetCursors({{"f", 0, uint64_t(round)}});
    ASSERT_TRUE(store->Commit(batch.get()).ok());
    store.reset();
    if (round < 3) RawDb(tmp.dir()).Flush();
  }
  const std::string pristine = tmp.dir() + "-pristine";
  fs::copy(tmp.dir(), pristine, fs::copy_options::recursive);
  fs::path manifest;
  for (const auto& p : FilesEndingIn(tmp.dir(), "")) {
    if (p.filename().string().starts_with("MANIFEST-")) manifest = p.filename();
  }
  ASSERT_FALSE(manifest.empty());
  const uint64_t size = fs::file_size(fs::path(tmp.dir()) / manifest);
  int failed = 0;
  for (uint64_t keep = 0; keep <= size; keep = keep < size ? std::min(keep + 11, size) : size + 1) {
    SCOPED_TRACE(keep);
    fs::remove_all(tmp.dir());
    fs::copy(pristine, tmp.dir(), fs::copy_options::recursive);
    fs::resize_file(fs::path(tmp.dir()) / manifest, keep);
    std::unique_ptr<StateStore> store;
    Status s = StateStore::Open(tmp.dir(), true, /*verify=*/true, &store);
    if (!s.ok()) {
      ++failed;
      EXPECT_TRUE(s.code() == Status::Code::kCorruption || s.code() == Status::Code::kIoError)
          << s.ToString();
      EXPECT_NE(s.message().find(tmp.dir()), std::string::npos) << s.ToString();
      EXPECT_NE(s.message().find("--state-rebuild"), std::string::npos) << s.ToString();
      continue;
    }
    EXPECT_EQ(store->Info().checkpoints, 3u);
    EXPECT_EQ(store->Info().rules_fingerprint, "rules-1");
    EXPECT_EQ(AllKeys(*store), all);
    std::string meta;
    ASSERT_TRUE(store->GetMeta("engine", &meta).ok());
    EXPECT_EQ(meta, "meta-2");
    std::vector<SourceCursor> got;
    ASSERT_TRUE(store->GetCursors(&got).ok());
    EXPECT_EQ(Tuples(got), Tuples({{"f", 0, 3}}));
  }
  EXPECT_GT(failed, 0);
  // The uncut copy opens.
  EXPECT_NE(MustOpen(pristine), nullptr);
}

// Three commits left in the WAL, its tail torn: recovery ends on a checkpoint boundary.
// A flipped byte in the middle of the WAL: RocksDB's point-in-time recovery stops there
// without an error; the checkpoint marker catches it.
TEST(StateStoreTest, DamagedWalIsDetected) {
  TempDir tmp;
  {
    std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
    for (int b = 1; b <= 4; ++b) {
      std::map<std::string, std::string> keys;
      for (int i = 0; i < 50; ++i) keys["k" + std::to_string(b) + "-" + std::to_string(i)] = "v";
      ASSERT_TRUE(Commit(store.get(), keys, "m", {{"f", 0, uint64_t(b)}}).ok());
    }
  }
  const auto logs = FilesEndingIn(tmp.dir(), ".log");
  ASSERT_FALSE(logs.empty());
  const uint64_t size = fs::file_size(logs.back());
  {
    std::fstream f(logs.back(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(size / 3));
    f.write("\xff\x00\xff\x00\xff\x00\xff\x00", 8);
  }
  std::unique_ptr<StateStore> store;
  Status s = StateStore::Open(tmp.dir(), true, /*verify=*/true, &store);
  ASSERT_FALSE(s.ok()) << "opened at checkpoint " << store->Info().checkpoints;
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_NE(s.message().find("checkpoint 4 was committed"), std::string::npos) << s.ToString();
  // A damaged marker is refused too.
  { std::ofstream(tmp.dir() + "/ABUSEWATCH-CHECKPOINT") << "abusewatch state checkpoint 1\nxx\n"; }
  s = StateStore::Open(tmp.dir(), true, true, &store);
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
}

TEST(StateStoreTest, TornWalTail) {
  for (uint64_t cut : {1, 3, 8, 40, 300, 3000}) {
    SCOPED_TRACE(cut);
    TempDir tmp;
    auto batch_keys = [](int b) {
      std::map<std::string, std::string> keys;
      for (int i = 0; i < 50; ++i) {
        keys["b" + std::to_string(b) + "-" + std::to_string(i)] = std::string(20, char('a' + b));
      }
      return keys;
    };
    {
      std::unique_ptr<StateStore> store = MustOpen(tmp.dir());
      for (int b = 1; b <= 3; ++b) {
        ASSERT_TRUE(
            Commit(store.get(), batch_keys(b), "m" + std::to_string(b), {{"f", 0, uint64_t(b)}})
                .ok());
      }
    }
    const auto logs = FilesEndingIn(tmp.dir(), ".log");
    ASSERT_FALSE(logs.empty());
    const uint64_t size = fs::file_size(logs.back());
    ASSERT_GT(size, cut);
    fs::resize_file(logs.back(), size - cut);

    std::unique_ptr<StateStore> store;
    // The marker says checkpoint 3 was committed: a store that lost it is damaged.
    Status s = StateStore::Open(tmp.dir(), true, /*verify=*/true, &store);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Status::Code::kCorruption);
    EXPECT_NE(s.message().find(tmp.dir()), std::string::npos) << s.ToString();
    EXPECT_NE(s.message().find("checkpoint 3 was committed"), std::string::npos) << s.ToString();
    // A torn tail from a crash inside the last commit: its marker was never written.
    ASSERT_TRUE(WriteCheckpointMarker(tmp.dir(), 2).ok());
    s = StateStore::Open(tmp.dir(), true, /*verify=*/true, &store);
    if (!s.ok()) {
      EXPECT_NE(s.message().find(tmp.dir()), std::string::npos) << s.ToString();
      continue;
    }
    const uint64_t n = store->Info().checkpoints;
    EXPECT_GE(n, 1u);
    EXPECT_LE(n, 3u);
    if (cut <= 40) {
      EXPECT_EQ(n, 2u);  // only the last commit is torn
    }
    std::map<std::string, std::string> expected;
    for (uint64_t b = 1; b <= n; ++b) expected.merge(batch_keys(int(b)));
    EXPECT_EQ(AllKeys(*store), expected);
    std::string v;
    ASSERT_TRUE(store->GetMeta("engine", &v).ok());
    EXPECT_EQ(v, "m" + std::to_string(n));
    std::vector<SourceCursor> got;
    ASSERT_TRUE(store->GetCursors(&got).ok());
    EXPECT_EQ(Tuples(got), Tuples({{"f", 0, n}}));
  }
}

}  // namespace
}  // namespace abusewatch

// FileSource (daemon/sources/file_source.h): cursors and resuming from them, with and without
// follow, on hermetic temporary files.
#include "daemon/sources/file_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "daemon/line_reader.h"
#include "daemon/log.h"

namespace abusewatch {
namespace {

using std::chrono::milliseconds;

struct Rec {
  std::string text;
  uint64_t position;
  bool operator==(const Rec& o) const { return text == o.text && position == o.position; }
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << r.position << ":" << r.text;
}

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "aw-file-source-XXXXXX").string();
    char* d = mkdtemp(tmpl.data());
    EXPECT_NE(d, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void Write(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

void Append(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary | std::ios::app) << content;
}

std::string Identity(const std::string& path) {
  struct stat st;
  EXPECT_EQ(stat(path.c_str(), &st), 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// Ten records: a blank line and a CRLF one among them.
std::string Content() {
  std::string s;
  for (int i = 0; i < 10; ++i) {
    if (i == 3) {
      s += "\n";
    } else if (i == 6) {
      s += "{\"n\":6}\r\n";
    } else {
      s += "{\"n\":" + std::to_string(i) + "}\n";
    }
  }
  return s;
}

// Up to `records` records (all when 0) in polls of at most `max`: without follow until the end,
// with follow until a poll returns nothing.
std::vector<Rec> Take(FileSource* source, size_t records = 0, size_t max = 3) {
  std::vector<Rec> got;
  std::vector<SourceRecord> batch;
  while (records == 0 || got.size() < records) {
    const size_t want = records == 0 ? max : std::min(max, records - got.size());
    if (!source->Poll(want, milliseconds(150), &batch)) break;
    if (batch.empty()) break;  // follow: nothing more for now
    for (const SourceRecord& r : batch) {
      EXPECT_EQ(r.lane, 0u);
      got.push_back({std::string(r.payload), r.position});
    }
  }
  return got;
}

std::vector<Rec> Tail(const std::vector<Rec>& all, size_t from) {
  return std::vector<Rec>(all.begin() + static_cast<std::ptrdiff_t>(from), all.end());
}

class FileSourceResumeTest : public ::testing::TestWithParam<bool> {
 protected:
  bool follow() const { return GetParam(); }
};

INSTANTIATE_TEST_SUITE_P(FileSourceModes, FileSourceResumeTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Follow" : "NoFollow"; });

TEST_P(FileSourceResumeTest, MiddleGivesExactlyTheRestWithContinuingPositions) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  const std::string content = Content();
  Write(path, content);

  std::vector<Rec> all;
  std::vector<SourceCursor> end_cursors;
  {
    FileSource whole(path, follow(), 1 << 20);
    all = Take(&whole);
    end_cursors = whole.Cursors();
  }
  ASSERT_EQ(all.size(), 10u);
  for (size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].position, i + 1);
  ASSERT_EQ(end_cursors.size(), 1u);
  EXPECT_EQ(end_cursors[0].next, content.size());
  EXPECT_EQ(end_cursors[0].count, 10u);

  for (size_t cut : {1u, 3u, 4u, 7u}) {
    SCOPED_TRACE("cut after " + std::to_string(cut));
    std::vector<SourceCursor> cursors;
    {
      FileSource first(path, follow(), 1 << 20);
      ASSERT_EQ(Take(&first, cut), std::vector<Rec>(all.begin(), all.begin() + cut));
      cursors = first.Cursors();
    }
    ASSERT_EQ(cursors.size(), 1u);
    const SourceCursor& c = cursors[0];
    EXPECT_EQ(c.input, path);
    EXPECT_EQ(c.lane, 0u);
    EXPECT_EQ(c.count, cut);
    EXPECT_EQ(c.identity, Identity(path));
    // Just after the cut-th line, its newline included.
    size_t expected_next = 0;
    for (size_t i = 0; i < cut; ++i) expected_next = content.find('\n', expected_next) + 1;
    EXPECT_EQ(c.next, expected_next);

    FileSource second(path, follow(), 1 << 20);
    ASSERT_TRUE(second.SetStartCursors(cursors).ok());
    EXPECT_EQ(second.Cursors().size(), 1u);
    EXPECT_EQ(Take(&second), Tail(all, cut));
    EXPECT_TRUE(second.start_warning().empty()) << second.start_warning();
    ASSERT_EQ(second.Cursors().size(), 1u);
    EXPECT_EQ(second.Cursors()[0].next, end_cursors[0].next);
    EXPECT_EQ(second.Cursors()[0].count, end_cursors[0].count);
    EXPECT_EQ(second.Cursors()[0].identity, end_cursors[0].identity);
  }
}

TEST_P(FileSourceResumeTest, AfterTheLastLineGivesNothingThenWhatIsAppended) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  Write(path, Content());
  std::vector<SourceCursor> cursors;
  {
    FileSource first(path, follow(), 1 << 20);
    ASSERT_EQ(Take(&first).size(), 10u);
    cursors = first.Cursors();
  }
  FileSource second(path, follow(), 1 << 20);
  ASSERT_TRUE(second.SetStartCursors(cursors).ok());
  std::vector<SourceRecord> batch;
  const bool more = second.Poll(10, milliseconds(100), &batch);
  EXPECT_EQ(more, follow());
  EXPECT_TRUE(batch.empty());
  if (follow()) {
    Append(path, "{\"n\":10}\n{\"n\":11}\n");
    EXPECT_EQ(Take(&second), (std::vector<Rec>{{"{\"n\":10}", 11}, {"{\"n\":11}", 12}}));
  }
  EXPECT_TRUE(second.start_warning().empty()) << second.start_warning();
}

TEST_P(FileSourceResumeTest, ReplacedFileIsReadFromItsStart) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  Write(path, Content());
  std::vector<SourceCursor> cursors;
  {
    FileSource first(path, follow(), 1 << 20);
    ASSERT_EQ(Take(&first, 4).size(), 4u);
    cursors = first.Cursors();
  }
  // Rotated: the old file moved away (kept, so its inode is not reused), a new one, longer than
  // the cursor's offset, in its place.
  std::filesystem::rename(path, dir.File("events.jsonl.1"));
  Write(path, "{\"new\":1}\n{\"new\":2}\n" + std::string(200, ' ') + "\n{\"new\":4}\n");
  ASSERT_NE(Identity(path), cursors[0].identity);

  std::ostringstream log_text;
  Logger log(&log_text, /*json=*/false);
  FileSource second(path, follow(), 1 << 20, &log);
  ASSERT_TRUE(second.SetStartCursors(cursors).ok());
  const std::vector<Rec> got = Take(&second);
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0], (Rec{"{\"new\":1}", 5}));  // positions go on from the cursor's count
  EXPECT_EQ(got[3], (Rec{"{\"new\":4}", 8}));
  EXPECT_NE(second.start_warning().find("names another file"), std::string::npos)
      << second.start_warning();
  EXPECT_NE(log_text.str().find(" warn state cursor for " + path), std::string::npos)
      << log_text.str();
  ASSERT_EQ(second.Cursors().size(), 1u);
  EXPECT_EQ(second.Cursors()[0].identity, Identity(path));
  EXPECT_EQ(second.Cursors()[0].count, 8u);
}

TEST_P(FileSourceResumeTest, TruncatedFileIsReadFromItsStart) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  Write(path, Content());
  std::vector<SourceCursor> cursors;
  {
    FileSource first(path, follow(), 1 << 20);
    ASSERT_EQ(Take(&first, 7).size(), 7u);
    cursors = first.Cursors();
  }
  // Same inode, now shorter than the cursor's offset.
  const std::string identity = Identity(path);
  Write(path, "{\"t\":1}\n{\"t\":2}\n");
  ASSERT_EQ(Identity(path), identity);
  ASSERT_LT(std::filesystem::file_size(path), cursors[0].next);

  FileSource second(path, follow(), 1 << 20);
  ASSERT_TRUE(second.SetStartCursors(cursors).ok());
  EXPECT_EQ(Take(&second), (std::vector<Rec>{{"{\"t\":1}", 8}, {"{\"t\":2}", 9}}));
  EXPECT_NE(second.start_warning().find("truncated"), std::string::npos) << second.start_warning();
}

// A last line without a newline: with follow it is not handed out, so not in the cursor; once
// completed it comes after a resume. Without follow it is handed out at the end and counted;
// what completes it later is skipped after a resume.
TEST_P(FileSourceResumeTest, LastLineWithoutNewline) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  Write(path, "{\"a\":1}\n{\"a\":2}\n{\"a\":");
  std::vector<SourceCursor> cursors;
  {
    FileSource first(path, follow(), 1 << 20);
    const std::vector<Rec> got = Take(&first);
    cursors = first.Cursors();
    ASSERT_EQ(cursors.size(), 1u);
    if (follow()) {
      EXPECT_EQ(got, (std::vector<Rec>{{"{\"a\":1}", 1}, {"{\"a\":2}", 2}}));
      EXPECT_EQ(cursors[0].next, 16u);
      EXPECT_EQ(cursors[0].count, 2u);
    } else {
      EXPECT_EQ(got, (std::vector<Rec>{{"{\"a\":1}", 1}, {"{\"a\":2}", 2}, {"{\"a\":", 3}}));
      EXPECT_EQ(cursors[0].next, 21u);
      EXPECT_EQ(cursors[0].count, 3u);
    }
  }
  {  // Resumed before the line is completed: nothing (yet).
    FileSource second(path, follow(), 1 << 20);
    ASSERT_TRUE(second.SetStartCursors(cursors).ok());
    EXPECT_TRUE(Take(&second).empty());
  }
  Append(path, "3}\n{\"a\":4}\n");
  FileSource third(path, follow(), 1 << 20);
  ASSERT_TRUE(third.SetStartCursors(cursors).ok());
  if (follow()) {
    EXPECT_EQ(Take(&third), (std::vector<Rec>{{"{\"a\":3}", 3}, {"{\"a\":4}", 4}}));
  } else {
    EXPECT_EQ(Take(&third), (std::vector<Rec>{{"{\"a\":4}", 4}}));
  }
  EXPECT_TRUE(third.start_warning().empty()) << third.start_warning();
  ASSERT_EQ(third.Cursors().size(), 1u);
  EXPECT_EQ(third.Cursors()[0].next, std::filesystem::file_size(path));
  EXPECT_EQ(third.Cursors()[0].count, 4u);
}

TEST_P(FileSourceResumeTest, OversizedLinesKeepCursorsExact) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  const std::string content =
      "{\"a\":1}\n" + std::string(5000, 'x') + "\n{\"a\":3}\n" + std::string(7000, 'y') + "\n";
  Write(path, content);
  std::vector<SourceCursor> cursors;
  {
    FileSource first(path, follow(), 100);
    std::vector<SourceRecord> batch;
    std::vector<SourceRecord> got;
    while (got.size() < 2 && first.Poll(2 - got.size(), milliseconds(150), &batch)) {
      got.insert(got.end(), batch.begin(), batch.end());
    }
    ASSERT_EQ(got.size(), 2u);
    EXPECT_TRUE(got[1].oversized);
    EXPECT_EQ(got[1].length, 5000u);
    cursors = first.Cursors();
  }
  ASSERT_EQ(cursors.size(), 1u);
  EXPECT_EQ(cursors[0].next, 8u + 5001u);
  FileSource second(path, follow(), 100);
  ASSERT_TRUE(second.SetStartCursors(cursors).ok());
  std::vector<SourceRecord> batch;
  std::vector<SourceRecord> got;
  while (second.Poll(10, milliseconds(150), &batch) && !batch.empty()) {
    got.insert(got.end(), batch.begin(), batch.end());
    if (got.size() >= 2) break;
  }
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FALSE(got[0].oversized);
  EXPECT_EQ(got[0].position, 3u);
  EXPECT_TRUE(got[1].oversized);
  EXPECT_EQ(got[1].position, 4u);
  EXPECT_EQ(second.Cursors()[0].next, content.size());
}

TEST(FileSourceTest, CursorsBeforeReadingAndForAMissingFile) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  Write(path, Content());
  {
    FileSource s(path, /*follow=*/false, 1 << 20);
    ASSERT_EQ(s.Cursors().size(), 1u);
    EXPECT_EQ(s.Cursors()[0].next, 0u);
    EXPECT_EQ(s.Cursors()[0].count, 0u);
    EXPECT_EQ(s.Cursors()[0].identity, Identity(path));
  }
  // Followed, not there yet: no cursor; with a start cursor, that one until the file appears.
  const std::string later = dir.File("later.jsonl");
  {
    FileSource s(later, /*follow=*/true, 1 << 20);
    EXPECT_TRUE(s.Cursors().empty());
  }
  FileSource s(later, /*follow=*/true, 1 << 20);
  SourceCursor c{later, 0, 4, 9, "1:2"};
  ASSERT_TRUE(s.SetStartCursors({c}).ok());
  std::vector<SourceRecord> batch;
  EXPECT_TRUE(s.Poll(10, milliseconds(50), &batch));
  EXPECT_TRUE(batch.empty());
  ASSERT_EQ(s.Cursors().size(), 1u);
  EXPECT_EQ(s.Cursors()[0].next, 4u);
  EXPECT_EQ(s.Cursors()[0].count, 9u);
  EXPECT_EQ(s.Cursors()[0].identity, "1:2");
  Write(later, "{\"x\":1}\n");
  EXPECT_EQ(Take(&s), (std::vector<Rec>{{"{\"x\":1}", 10}}));  // another file: from its start
  EXPECT_FALSE(s.start_warning().empty());
}

TEST(FileSourceTest, SetStartCursorsErrors) {
  TempDir dir;
  const std::string path = dir.File("events.jsonl");
  Write(path, Content());
  for (bool follow : {false, true}) {
    FileSource s(path, follow, 1 << 20);
    SourceCursor other{dir.File("other.jsonl"), 0, 0, 0, Identity(path)};
    Status st = s.SetStartCursors({other});
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.message();
    SourceCursor mine{path, 0, 0, 0, Identity(path)};
    EXPECT_EQ(s.SetStartCursors({mine, mine}).code(), Status::Code::kInvalidArgument);
    EXPECT_TRUE(s.SetStartCursors({}).ok());
    std::vector<SourceRecord> batch;
    s.Poll(1, milliseconds(50), &batch);
    EXPECT_EQ(s.SetStartCursors({mine}).code(), Status::Code::kInvalidArgument);
  }
  // Standard input cannot resume: its cursor is ignored, and it has none.
  FileSource in("-", false, 1 << 20);
  EXPECT_TRUE(in.SetStartCursors({SourceCursor{"-", 0, 10, 2, ""}}).ok());
  EXPECT_TRUE(in.Cursors().empty());
  EXPECT_EQ(in.SetStartCursors({SourceCursor{path, 0, 10, 2, ""}}).code(),
            Status::Code::kInvalidArgument);
}

// LineReader::offset() and StartAt(), on the mapped path and the read() path.
TEST(FileSourceTest, LineReaderOffsetsAndStartAt) {
  TempDir dir;
  const std::string path = dir.File("lines");
  const std::string content = "a\r\n\nbcd\nlast";
  Write(path, content);
  std::unique_ptr<LineReader> r;
  ASSERT_TRUE(LineReader::Open(path, 100, &r).ok());
  LineReader::Line l;
  const uint64_t ends[] = {3, 4, 8, 12};
  for (uint64_t end : ends) {
    ASSERT_TRUE(r->Next(&l));
    EXPECT_EQ(r->offset(), end);
  }
  EXPECT_FALSE(r->Next(&l));

  ASSERT_TRUE(LineReader::Open(path, 100, &r).ok());
  ASSERT_TRUE(r->StartAt(4, 2));
  ASSERT_TRUE(r->Next(&l));
  EXPECT_EQ(l.text, "bcd");
  EXPECT_EQ(l.number, 3u);
  EXPECT_EQ(r->offset(), 8u);
  ASSERT_TRUE(LineReader::Open(path, 100, &r).ok());
  EXPECT_FALSE(r->StartAt(13, 0));

  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  ASSERT_EQ(write(fds[1], content.data(), content.size()), static_cast<ssize_t>(content.size()));
  close(fds[1]);
  LineReader piped(fds[0], true, 100);
  EXPECT_FALSE(piped.StartAt(4, 2));
  for (uint64_t end : ends) {
    ASSERT_TRUE(piped.Next(&l));
    EXPECT_EQ(piped.offset(), end);
  }
}

}  // namespace
}  // namespace abusewatch

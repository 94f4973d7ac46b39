// LineReader: the memory-mapped path (regular files) and the read() path (pipes) give the same
// lines: numbering, CRLF, blank lines, a last line without newline, oversized lines.
#include "daemon/line_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace abusewatch {
namespace {

struct Got {
  uint64_t number;
  std::string text;
  size_t length;
  bool oversized;
  bool operator==(const Got& o) const {
    return number == o.number && text == o.text && length == o.length && oversized == o.oversized;
  }
};

std::vector<Got> Drain(LineReader* r, bool batches) {
  std::vector<Got> out;
  if (batches) {
    std::vector<LineReader::Line> b;
    while (r->NextBatch(&b, 7)) {
      for (const auto& l : b) out.push_back({l.number, std::string(l.text), l.length, l.oversized});
    }
  } else {
    LineReader::Line l;
    while (r->Next(&l)) out.push_back({l.number, std::string(l.text), l.length, l.oversized});
  }
  EXPECT_TRUE(r->status().ok());
  return out;
}

std::string Content() {
  std::string s;
  for (int i = 0; i < 5000; ++i) {
    s += "{\"n\":" + std::to_string(i) + "}";
    s += i % 17 == 0 ? "\r\n" : "\n";
    if (i % 101 == 0) s += "\n";
    if (i % 997 == 0) s += std::string(3'000'000 + static_cast<size_t>(i), 'x') + "\n";
  }
  return s + "{\"last\":true}";  // no trailing newline
}

TEST(LineReaderTest, MappedFileAndPipeAgree) {
  const std::string content = Content();
  auto path = std::filesystem::temp_directory_path() / ("aw-lr-" + std::to_string(getpid()));
  std::ofstream(path, std::ios::binary) << content;
  constexpr size_t kMax = 65536;
  for (bool batches : {false, true}) {
    std::unique_ptr<LineReader> file;
    ASSERT_TRUE(LineReader::Open(path.string(), kMax, &file).ok());
    std::vector<Got> from_file = Drain(file.get(), batches);

    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    std::thread writer([&] {
      size_t off = 0;
      while (off < content.size()) {
        ssize_t n =
            write(fds[1], content.data() + off, std::min<size_t>(content.size() - off, 4093));
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      close(fds[1]);
    });
    LineReader pipe_reader(fds[0], true, kMax);
    std::vector<Got> from_pipe = Drain(&pipe_reader, batches);
    writer.join();

    ASSERT_EQ(from_file.size(), from_pipe.size());
    EXPECT_TRUE(from_file == from_pipe);
    EXPECT_EQ(from_file.front().text, "{\"n\":0}");
    EXPECT_EQ(from_file.back().text, "{\"last\":true}");
    size_t oversized = 0;
    for (const Got& g : from_file) {
      if (g.oversized) {
        ++oversized;
        EXPECT_GE(g.length, 3'000'000u);
        EXPECT_TRUE(g.text.empty());
      } else {
        EXPECT_EQ(g.text.find('\r'), std::string::npos);
      }
    }
    EXPECT_EQ(oversized, 6u);
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace abusewatch

// LineReader: reads a JSON Lines stream and hands out lines without copying. A regular file is
// memory-mapped (no copy through read()); stdin and pipes are read in large blocks. Lines longer
// than `max_line` are reported as oversized with their true length and never buffered, so one
// huge line cannot exhaust memory. Not thread-safe.
#ifndef ABUSEWATCH_DAEMON_LINE_READER_H_
#define ABUSEWATCH_DAEMON_LINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

class LineReader {
 public:
  // Takes ownership of `fd` when `owns_fd`.
  LineReader(int fd, bool owns_fd, size_t max_line);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Opens `path` ("-" = standard input).
  static Status Open(const std::string& path, size_t max_line, std::unique_ptr<LineReader>* out);

  struct Line {
    std::string_view text;  // without the newline (and a trailing '\r'); empty when oversized
    uint64_t number = 0;    // 1-based
    size_t length = 0;      // true length in bytes
    bool oversized = false;
  };
  // Next line; false at end of input (check status() for a read error). The view stays valid
  // until the next call.
  bool Next(Line* line);
  // Up to `max` lines (at least one unless at end of input), all valid until the next call.
  // False at end of input.
  bool NextBatch(std::vector<Line>* lines, size_t max);
  const Status& status() const { return status_; }

  // Resuming: before the first Next()/NextBatch(), starts reading at byte `offset` of a regular
  // file (mapped or seekable), numbering the lines from `lines_before` + 1. False (and nothing
  // changed) when the input cannot seek there (a pipe, or `offset` beyond a mapped file's end).
  bool StartAt(uint64_t offset, uint64_t lines_before);
  // The byte offset just after the last line returned (its newline included; the input's
  // length after a last line without one), counted from the start of the input.
  uint64_t offset() const {
    return map_ != nullptr ? map_pos_ : read_pos_ - static_cast<uint64_t>(end_ - begin_);
  }

 private:
  bool Fill();
  bool NextMapped(Line* line);

  const char* map_ = nullptr;  // the whole file when memory-mapped
  size_t map_size_ = 0;
  size_t map_pos_ = 0;
  size_t map_released_ = 0;  // pages before this offset were handed back (MADV_DONTNEED)
  int fd_;
  bool owns_fd_;
  size_t max_line_;
  std::string buf_;
  size_t begin_ = 0, end_ = 0;
  uint64_t read_pos_ = 0;  // input offset of buf_[end_] (read() path)
  bool eof_ = false;
  uint64_t number_ = 0;
  Status status_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_LINE_READER_H_

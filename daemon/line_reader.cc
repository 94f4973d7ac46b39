#include "daemon/line_reader.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace abusewatch {
namespace {
constexpr size_t kBlock = 1 << 20;
// Consumed pages of a mapped file are handed back in steps of this (a multiple of the page size).
constexpr size_t kRelease = size_t{64} << 20;
}  // namespace

LineReader::LineReader(int fd, bool owns_fd, size_t max_line)
    : fd_(fd), owns_fd_(owns_fd), max_line_(max_line) {
  struct stat st;
  if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
    void* p = mmap(nullptr, static_cast<size_t>(st.st_size), PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      madvise(p, static_cast<size_t>(st.st_size), MADV_SEQUENTIAL);
      map_ = static_cast<const char*>(p);
      map_size_ = static_cast<size_t>(st.st_size);
      return;
    }
  }
  buf_.resize(std::max(kBlock, max_line + 2) * 2);
}

LineReader::~LineReader() {
  if (map_ != nullptr) munmap(const_cast<char*>(map_), map_size_);
  if (owns_fd_) close(fd_);
}

bool LineReader::NextMapped(Line* line) {
  if (map_pos_ >= map_size_) return false;
  // Hand consumed pages back now and then so a big file does not stay resident.
  if (map_pos_ - map_released_ >= 2 * kRelease) {
    madvise(const_cast<char*>(map_) + map_released_, kRelease, MADV_DONTNEED);
    map_released_ += kRelease;
  }
  const char* start = map_ + map_pos_;
  size_t rest = map_size_ - map_pos_;
  const void* nl = std::memchr(start, '\n', rest);
  size_t len = nl ? static_cast<size_t>(static_cast<const char*>(nl) - start) : rest;
  map_pos_ += len + (nl ? 1 : 0);
  if (len > 0 && start[len - 1] == '\r') --len;
  line->number = ++number_;
  line->length = len;
  line->oversized = len > max_line_;
  line->text = line->oversized ? std::string_view() : std::string_view(start, len);
  return true;
}

bool LineReader::StartAt(uint64_t offset, uint64_t lines_before) {
  if (map_ != nullptr) {
    if (offset > map_size_) return false;
    map_pos_ = static_cast<size_t>(offset);
    map_released_ = map_pos_ / kRelease * kRelease;
  } else {
    if (lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0) return false;
    begin_ = end_ = 0;
    eof_ = false;
    read_pos_ = offset;
  }
  number_ = lines_before;
  return true;
}

Status LineReader::Open(const std::string& path, size_t max_line,
                        std::unique_ptr<LineReader>* out) {
  if (path == "-") {
    *out = std::make_unique<LineReader>(0, false, max_line);
    return Status::Ok();
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot open " + path + ": " + std::strerror(errno));
  *out = std::make_unique<LineReader>(fd, true, max_line);
  return Status::Ok();
}

// Moves unread bytes to the front and reads more. False at EOF or error with nothing new.
bool LineReader::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) return false;
  for (;;) {
    ssize_t n = read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status_ = Status::IoError(std::string("read failed: ") + std::strerror(errno));
      eof_ = true;
      return false;
    }
    if (n == 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<size_t>(n);
    read_pos_ += static_cast<uint64_t>(n);
    return true;
  }
}

bool LineReader::NextBatch(std::vector<Line>* lines, size_t max) {
  lines->clear();
  Line line;
  if (!Next(&line)) return false;
  lines->push_back(line);
  // More lines only while no refill is needed (a refill would move the buffered bytes).
  while (lines->size() < max) {
    if (map_ != nullptr) {
      if (!NextMapped(&line)) break;
    } else {
      if (std::memchr(buf_.data() + begin_, '\n', end_ - begin_) == nullptr) break;
      if (!Next(&line)) break;
    }
    lines->push_back(line);
  }
  return true;
}

bool LineReader::Next(Line* line) {
  if (map_ != nullptr) return NextMapped(line);
  size_t skipped = 0;  // bytes of an oversized line already discarded
  for (;;) {
    const char* start = buf_.data() + begin_;
    const void* nl = std::memchr(start, '\n', end_ - begin_);
    if (nl != nullptr) {
      size_t len = static_cast<const char*>(nl) - start;
      size_t total = skipped + len;
      ++number_;
      line->number = number_;
      line->length = total;
      size_t text_len = len;
      if (text_len > 0 && start[text_len - 1] == '\r') {
        --text_len;
        --line->length;
      }
      line->oversized = skipped > 0 || len > max_line_ + 1;
      line->text = line->oversized ? std::string_view() : std::string_view(start, text_len);
      begin_ += len + 1;
      return true;
    }
    size_t pending = end_ - begin_;
    if (pending > max_line_ + 1) {
      // Too long to be a valid record: drop what we have and keep scanning for the newline.
      skipped += pending;
      begin_ = end_;
    }
    if (!Fill()) {
      pending = end_ - begin_;
      if (pending == 0 && skipped == 0) return false;
      ++number_;
      line->number = number_;
      line->length = skipped + pending;
      size_t text_len = pending;
      if (text_len > 0 && buf_[begin_ + text_len - 1] == '\r') --text_len;
      line->oversized = skipped > 0;
      line->text =
          line->oversized ? std::string_view() : std::string_view(buf_.data() + begin_, text_len);
      begin_ = end_;
      return true;
    }
  }
}

}  // namespace abusewatch

#include "daemon/sources/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace abusewatch {

FileSource::FileSource(std::string path, bool follow, size_t max_record_bytes)
    : path_(std::move(path)),
      name_("file:" + path_),
      follow_(follow || path_ == "-"),
      max_(max_record_bytes),
      stdin_(path_ == "-") {
  if (stdin_) {
    fd_ = 0;
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  } else if (!follow_) {
    status_ = LineReader::Open(path_, max_, &reader_);
    if (!status_.ok()) ended_ = true;
  }
}

FileSource::~FileSource() {
  if (fd_ > 0) close(fd_);
}

bool FileSource::Reopen() {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;  // not there (yet): waited for
  struct stat st;
  fstat(fd, &st);
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  inode_ = st.st_ino;
  offset_ = 0;
  return true;
}

void FileSource::ReadAvailable() {
  if (begin_ > 0) {
    buf_.erase(0, begin_);
    begin_ = 0;
  }
  char block[1 << 16];
  for (int i = 0; i < 64; ++i) {  // at most 4 MiB per poll
    ssize_t n = read(fd_, block, sizeof(block));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno != EAGAIN && status_.ok()) {
        status_ = Status::IoError("read " + path_ + ": " + std::strerror(errno));
      }
      return;
    }
    if (n == 0) {
      eof_ = stdin_;
      return;
    }
    offset_ += static_cast<uint64_t>(n);
    buf_.append(block, static_cast<size_t>(n));
  }
}

bool FileSource::PollOnce(size_t max, std::vector<SourceRecord>* out) {
  if (fd_ < 0 && !Reopen()) return false;
  ReadAvailable();
  auto take_lines = [&] {
    while (out->size() < max) {
      const char* start = buf_.data() + begin_;
      const size_t avail = buf_.size() - begin_;
      const void* nl = std::memchr(start, '\n', avail);
      if (nl == nullptr) {
        if (avail > max_ + 1) {  // an oversized line: drop what we have, keep its length
          skipping_ += avail;
          begin_ = buf_.size();
        }
        return;
      }
      size_t len = static_cast<size_t>(static_cast<const char*>(nl) - start);
      begin_ += len + 1;
      SourceRecord r;
      r.position = ++line_;
      r.length = skipping_ + len;
      r.oversized = skipping_ > 0 || len > max_ + 1;
      if (!r.oversized) {
        if (len > 0 && start[len - 1] == '\r') --len;
        r.payload = std::string_view(start, len);
        r.length = len;
      }
      skipping_ = 0;
      out->push_back(r);
    }
  };
  take_lines();
  if (out->empty() && eof_ && begin_ < buf_.size()) {  // stdin's last line, without newline
    buf_.push_back('\n');
    take_lines();
  }
  if (out->empty() && !stdin_) {
    // At the end of the current file: has it been replaced or truncated?
    struct stat st;
    if (stat(path_.c_str(), &st) == 0 && (static_cast<uint64_t>(st.st_ino) != inode_ ||
                                          static_cast<uint64_t>(st.st_size) < offset_)) {
      ReadAvailable();  // the rest of the old file first
      take_lines();
      if (out->empty() && Reopen()) {
        buf_.clear();
        begin_ = 0;
        skipping_ = 0;
      }
    }
  }
  return !out->empty();
}

bool FileSource::Poll(size_t max, std::chrono::milliseconds timeout,
                      std::vector<SourceRecord>* out) {
  out->clear();
  if (!follow_) {
    if (ended_ || !reader_->NextBatch(&lines_, max)) {
      if (reader_ && !reader_->status().ok() && status_.ok()) status_ = reader_->status();
      ended_ = true;
      return false;
    }
    for (const LineReader::Line& l : lines_) {
      out->push_back(SourceRecord{l.text, l.number, l.length, l.oversized});
    }
    return true;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!PollOnce(max, out)) {
    if (eof_) return false;  // standard input ended
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

}  // namespace abusewatch

#include "daemon/sources/file_source.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <utility>

#include "daemon/log.h"

namespace abusewatch {
namespace {

std::string Identity(uint64_t dev, uint64_t inode) {
  return std::to_string(dev) + ":" + std::to_string(inode);
}

// The offset just after the first newline at or after `from` in `fd`; `size` if none before it.
uint64_t AfterNextNewline(int fd, uint64_t from, uint64_t size) {
  char block[1 << 16];
  while (from < size) {
    const ssize_t n = pread(fd, block, sizeof(block), static_cast<off_t>(from));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return size;
    const void* nl = std::memchr(block, '\n', static_cast<size_t>(n));
    if (nl != nullptr)
      return from + static_cast<uint64_t>(static_cast<const char*>(nl) - block) + 1;
    from += static_cast<uint64_t>(n);
  }
  return size;
}

}  // namespace

FileSource::FileSource(std::string path, bool follow, size_t max_record_bytes, Logger* log)
    : path_(std::move(path)),
      name_("file:" + path_),
      follow_(follow || path_ == "-"),
      max_(max_record_bytes),
      log_(log),
      stdin_(path_ == "-") {
  if (stdin_) {
    fd_ = 0;
    fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  } else if (!follow_) {
    const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      status_ = Status::IoError("cannot open " + path_ + ": " + std::strerror(errno));
      ended_ = true;
      return;
    }
    struct stat st;
    if (fstat(fd, &st) == 0) {
      opened_ = true;
      dev_ = static_cast<uint64_t>(st.st_dev);
      inode_ = static_cast<uint64_t>(st.st_ino);
      file_size_ = static_cast<uint64_t>(st.st_size);
    }
    file_fd_ = fd;
    reader_ = std::make_unique<LineReader>(fd, /*owns_fd=*/false, max_);
  }
}

FileSource::~FileSource() {
  reader_.reset();
  if (file_fd_ >= 0) close(file_fd_);
  if (fd_ > 0) close(fd_);
}

std::vector<SourceCursor> FileSource::Cursors() const {
  if (stdin_) return {};
  if (!opened_) {
    if (have_start_) return {start_};
    return {};
  }
  SourceCursor c;
  c.input = path_;
  c.lane = 0;
  c.count = line_;
  c.identity = Identity(dev_, inode_);
  if (follow_) {
    // What was read but not handed out: the buffered rest, and the dropped part of an oversized
    // line still without its newline.
    c.next = offset_ - static_cast<uint64_t>(buf_.size() - begin_) - skipping_;
  } else {
    c.next = consumed_;
  }
  return {c};
}

Status FileSource::SetStartCursors(const std::vector<SourceCursor>& cursors) {
  if (polled_) {
    return Status::InvalidArgument("file " + path_ + ": start cursors given after the first poll");
  }
  const SourceCursor* mine = nullptr;
  for (const SourceCursor& c : cursors) {
    if (c.input != path_) {
      return Status::InvalidArgument("file " + path_ + ": cursor for another input \"" + c.input +
                                     "\"");
    }
    if (mine != nullptr) return Status::InvalidArgument("file " + path_ + ": two cursors");
    mine = &c;
  }
  if (mine == nullptr || stdin_) return Status::Ok();  // standard input cannot resume
  have_start_ = true;
  start_ = *mine;
  start_.lane = 0;
  if (!follow_ && reader_ != nullptr) {  // already open: apply now
    bool partial = false;
    uint64_t at = ApplyStart(file_fd_, file_size_, &partial);
    if (partial) at = AfterNextNewline(file_fd_, at, file_size_);
    if (!reader_->StartAt(at, line_)) {  // not seekable (a pipe): from the start
      reader_->StartAt(0, line_);
      at = 0;
    }
    consumed_ = at;
  }
  return Status::Ok();
}

uint64_t FileSource::ApplyStart(int fd, uint64_t size, bool* partial) {
  *partial = false;
  have_start_ = false;
  line_ = start_.count;
  const std::string identity = Identity(dev_, inode_);
  if (start_.identity == identity && size >= start_.next) {
    if (start_.next > 0 && fd >= 0) {
      char before = '\n';
      if (pread(fd, &before, 1, static_cast<off_t>(start_.next - 1)) == 1 && before != '\n') {
        *partial = true;
      }
    }
    return start_.next;
  }
  if (start_.identity != identity) {
    start_warning_ = "state cursor for " + path_ + " names another file (" + start_.identity +
                     ", now " + identity + "; rotated?); reading it from the start";
  } else {
    start_warning_ = "state cursor for " + path_ + " is beyond the end of the file (" +
                     std::to_string(start_.next) + " > " + std::to_string(size) +
                     " bytes; truncated?); reading it from the start";
  }
  if (log_ != nullptr) log_->Warn(start_warning_);
  return 0;
}

bool FileSource::Reopen() {
  int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return false;  // not there (yet): waited for
  struct stat st;
  fstat(fd, &st);
  if (fd_ >= 0) close(fd_);
  fd_ = fd;
  opened_ = true;
  dev_ = static_cast<uint64_t>(st.st_dev);
  inode_ = static_cast<uint64_t>(st.st_ino);
  offset_ = 0;
  skip_line_ = false;
  if (have_start_) {
    const uint64_t at = ApplyStart(fd, static_cast<uint64_t>(st.st_size), &skip_line_);
    if (at > 0 && lseek(fd, static_cast<off_t>(at), SEEK_SET) >= 0) offset_ = at;
    if (offset_ == 0) skip_line_ = false;
  }
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
      if (skip_line_) {  // the rest of a line handed out before the resume: consumed
        if (nl == nullptr) {
          begin_ = buf_.size();
          return;
        }
        begin_ += static_cast<size_t>(static_cast<const char*>(nl) - start) + 1;
        skip_line_ = false;
        continue;
      }
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
  polled_ = true;
  if (!follow_) {
    if (ended_ || !reader_->NextBatch(&lines_, max)) {
      if (reader_ && !reader_->status().ok() && status_.ok()) status_ = reader_->status();
      ended_ = true;
      return false;
    }
    for (const LineReader::Line& l : lines_) {
      out->push_back(SourceRecord{l.text, l.number, l.length, l.oversized});
    }
    line_ = lines_.back().number;
    consumed_ = reader_->offset();
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

#include "daemon/output_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace abusewatch {
namespace {
constexpr size_t kFlushAt = 1 << 20;
}

OutputFile::~OutputFile() { Close(); }

Status OutputFile::Open(const std::string& path, std::unique_ptr<OutputFile>* out, bool append) {
  if (path == "-") {
    out->reset(new OutputFile(1, false, "standard output"));
    return Status::Ok();
  }
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (append ? O_APPEND : O_TRUNC), 0644);
  if (fd < 0) return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
  out->reset(new OutputFile(fd, true, path));
  return Status::Ok();
}

void OutputFile::Write(std::string_view data) {
  buf_.append(data);
  if (buf_.size() >= kFlushAt) Flush();
}

Status OutputFile::Flush() {
  size_t off = 0;
  while (status_.ok() && off < buf_.size()) {
    ssize_t n = write(fd_, buf_.data() + off, buf_.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status_ = Status::IoError("cannot write " + name_ + ": " + std::strerror(errno));
      break;
    }
    off += static_cast<size_t>(n);
  }
  buf_.clear();
  return status_;
}

Status OutputFile::Close() {
  Flush();
  if (owns_ && fd_ >= 0) {
    if (close(fd_) != 0 && status_.ok()) {
      status_ = Status::IoError("cannot close " + name_ + ": " + std::strerror(errno));
    }
    fd_ = -1;
  }
  return status_;
}

}  // namespace abusewatch

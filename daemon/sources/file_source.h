// FileSource: a JSON Lines file or standard input ("-"). Standard input is read without
// blocking (so a stop signal is seen at once) and ends at its end of file. Without follow a file
// is read to its end and ends. With follow it behaves like `tail -F`: it waits for more lines, and
// when the file is replaced (another inode) or truncated it finishes the old file and reopens the
// path; a file that does not exist yet is waited for. A last line without a newline is only taken
// once the newline arrives (or, without follow, at the end). Not thread-safe.
#ifndef ABUSEWATCH_DAEMON_SOURCES_FILE_SOURCE_H_
#define ABUSEWATCH_DAEMON_SOURCES_FILE_SOURCE_H_

#include <memory>

#include "daemon/line_reader.h"
#include "daemon/sources/source.h"

namespace abusewatch {

class FileSource final : public Source {
 public:
  FileSource(std::string path, bool follow, size_t max_record_bytes);
  ~FileSource() override;

  const std::string& name() const override { return name_; }
  bool Poll(size_t max, std::chrono::milliseconds timeout, std::vector<SourceRecord>* out) override;
  Status status() const override { return status_; }

 private:
  bool PollOnce(size_t max, std::vector<SourceRecord>* out);  // what is readable now
  bool Reopen();
  void ReadAvailable();

  const std::string path_;
  const std::string name_;
  const bool follow_;
  const size_t max_;
  Status status_;
  // Without follow: the block/mapped reader.
  std::unique_ptr<LineReader> reader_;
  std::vector<LineReader::Line> lines_;
  bool ended_ = false;
  const bool stdin_;
  bool eof_ = false;  // standard input reached its end
  // With follow.
  int fd_ = -1;
  uint64_t inode_ = 0;
  uint64_t offset_ = 0;  // bytes read from the current file
  std::string buf_;
  size_t begin_ = 0;
  size_t skipping_ = 0;  // > 0: inside an oversized line, bytes dropped so far
  uint64_t line_ = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SOURCES_FILE_SOURCE_H_

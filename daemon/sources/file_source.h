// FileSource: a JSON Lines file or standard input ("-"). Standard input is read without
// blocking (so a stop signal is seen at once) and ends at its end of file. Without follow a file
// is read to its end and ends. With follow it behaves like `tail -F`: it waits for more lines, and
// when the file is replaced (another inode) or truncated it finishes the old file and reopens the
// path; a file that does not exist yet is waited for. A last line without a newline is only taken
// once the newline arrives (or, without follow, at the end). Not thread-safe.
//
// Positions: the records are numbered 1, 2, … in the order handed out; with follow the numbering
// goes on across a replaced or truncated file (so it stays strictly increasing on lane 0).
//
// Cursors (source.h). Cursors() has one cursor once the file has been opened (or a start cursor
// was given): input = the path, lane 0, next = the byte offset in the current file just after
// the last line handed out (its newline included; without follow, a last line without newline
// handed out at the end counts up to the file's end), count = the number of records handed out
// since the first (so the last position), identity = "dev:inode" of the current file. Standard
// input has none. SetStartCursors() (before the first Poll(); the cursor is applied when the file
// is opened — at once without follow, at the first Poll() with follow): when the file's identity
// matches and it is at least `next` bytes long, reading starts at `next`; if the byte before
// `next` is not a newline (a last line handed out without its newline, completed since), the
// rest of that line is skipped. Otherwise (another file: rotated or replaced; or a shorter one:
// truncated) the file is read from its start and a warning is logged. Either way positions go on
// from `count`. A cursor for another path is an InvalidArgument, as are two cursors or a call
// after the first Poll(); a cursor for standard input ("-") is ignored.
#ifndef ABUSEWATCH_DAEMON_SOURCES_FILE_SOURCE_H_
#define ABUSEWATCH_DAEMON_SOURCES_FILE_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "daemon/line_reader.h"
#include "daemon/sources/source.h"

namespace abusewatch {

class Logger;

class FileSource final : public Source {
 public:
  // `log` (may be null; else it must outlive the source) receives the start cursor warnings.
  FileSource(std::string path, bool follow, size_t max_record_bytes, Logger* log = nullptr);
  ~FileSource() override;

  const std::string& name() const override { return name_; }
  bool Poll(size_t max, std::chrono::milliseconds timeout, std::vector<SourceRecord>* out) override;
  Status status() const override { return status_; }
  std::vector<SourceCursor> Cursors() const override;
  Status SetStartCursors(const std::vector<SourceCursor>& cursors) override;

  // The warning logged when the start cursor could not be used ("" if none).
  const std::string& start_warning() const { return start_warning_; }

 private:
  bool PollOnce(size_t max, std::vector<SourceRecord>* out);  // what is readable now
  bool Reopen();
  void ReadAvailable();
  // Applies the start cursor to the file just opened as `fd` (size `size`): sets line_ and
  // returns where to start reading; *partial: the byte before it is not a newline.
  uint64_t ApplyStart(int fd, uint64_t size, bool* partial);

  const std::string path_;
  const std::string name_;
  const bool follow_;
  const size_t max_;
  Logger* const log_;
  Status status_;
  bool polled_ = false;
  // The start cursor, until the file is opened.
  bool have_start_ = false;
  SourceCursor start_;
  std::string start_warning_;
  // The file read (identity known once opened).
  bool opened_ = false;
  uint64_t dev_ = 0;
  uint64_t inode_ = 0;
  uint64_t line_ = 0;  // records handed out (the last position)
  // Without follow: the block/mapped reader of file_fd_ (file_size_ bytes when opened).
  int file_fd_ = -1;
  uint64_t file_size_ = 0;
  std::unique_ptr<LineReader> reader_;
  std::vector<LineReader::Line> lines_;
  uint64_t consumed_ = 0;  // byte offset after the last line handed out
  bool ended_ = false;
  const bool stdin_;
  bool eof_ = false;  // standard input reached its end
  // With follow.
  int fd_ = -1;
  uint64_t offset_ = 0;  // offset of the current file's bytes read so far (its read position)
  std::string buf_;
  size_t begin_ = 0;
  size_t skipping_ = 0;     // > 0: inside an oversized line, bytes dropped so far
  bool skip_line_ = false;  // dropping the rest of a line handed out before a resume
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SOURCES_FILE_SOURCE_H_

// OutputFile: a buffered writer to a file or standard output ("-") that reports write errors
// as Status. Not thread-safe.
#ifndef ABUSEWATCH_DAEMON_OUTPUT_FILE_H_
#define ABUSEWATCH_DAEMON_OUTPUT_FILE_H_

#include <memory>
#include <string>
#include <string_view>

#include "detectors/status.h"

namespace abusewatch {

class OutputFile {
 public:
  ~OutputFile();
  // Creates or truncates (or, with `append`, appends to) `path`; "-" is standard output.
  static Status Open(const std::string& path, std::unique_ptr<OutputFile>* out,
                     bool append = false);
  void Write(std::string_view data);
  // Writes everything buffered; the first error is kept and returned from then on.
  Status Flush();
  Status Close();

 private:
  OutputFile(int fd, bool owns, std::string name) : fd_(fd), owns_(owns), name_(std::move(name)) {}
  int fd_;
  bool owns_;
  std::string name_;
  std::string buf_;
  Status status_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_OUTPUT_FILE_H_

// Status: the result of an operation that can fail on untrusted input or I/O.
//
// Modelled on LevelDB's Status: cheap when OK, carries a code and a human-readable message
// otherwise. Exceptions never cross the engine boundary; functions return a Status instead.
// Thread safety: a Status is a value type; distinct objects may be used from distinct threads.
#ifndef ABUSEWATCH_DETECTORS_STATUS_H_
#define ABUSEWATCH_DETECTORS_STATUS_H_

#include <string>
#include <string_view>
#include <utility>

namespace abusewatch {

class Status {
 public:
  enum class Code { kOk = 0, kInvalidArgument, kIoError, kNotFound, kInternal, kCorruption };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string_view msg) {
    return Status(Code::kInvalidArgument, msg);
  }
  static Status IoError(std::string_view msg) { return Status(Code::kIoError, msg); }
  static Status NotFound(std::string_view msg) { return Status(Code::kNotFound, msg); }
  static Status Internal(std::string_view msg) { return Status(Code::kInternal, msg); }
  // Stored data failed a check (checksum, format): never to be used as state.
  static Status Corruption(std::string_view msg) { return Status(Code::kCorruption, msg); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const { return ok() ? "OK" : message_; }

 private:
  Status(Code code, std::string_view msg) : code_(code), message_(msg) {}
  Code code_ = Code::kOk;
  std::string message_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_STATUS_H_

// Logger: one line per message to a stream (stderr in the daemon), as text
// ("2026-11-29T01:00:00.000Z info message") or JSON ({"ts":…,"level":…,"msg":…}).
// Never pass raw payloads of valid events to it. Thread-safe (one mutex).
#ifndef ABUSEWATCH_DAEMON_LOG_H_
#define ABUSEWATCH_DAEMON_LOG_H_

#include <chrono>
#include <mutex>
#include <ostream>
#include <string>

#include "detectors/timeutil.h"
#include "detectors/transition.h"

namespace abusewatch {

class Logger {
 public:
  Logger(std::ostream* out, bool json) : out_(out), json_(json) {}
  void Info(const std::string& msg) { Write("info", msg); }
  void Warn(const std::string& msg) { Write("warn", msg); }
  void Error(const std::string& msg) { Write("error", msg); }

 private:
  void Write(const char* level, const std::string& msg) {
    const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::string line;
    if (json_) {
      line = "{\"ts\":\"" + FormatRfc3339Utc(now) + "\",\"level\":\"" + level + "\",\"msg\":";
      AppendJsonString(msg, &line);
      line += "}\n";
    } else {
      line = FormatRfc3339Utc(now) + " " + level + " " + msg + "\n";
    }
    std::lock_guard<std::mutex> lock(mu_);
    *out_ << line << std::flush;
  }
  std::ostream* out_;
  bool json_;
  std::mutex mu_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_LOG_H_

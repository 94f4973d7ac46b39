// Source: where raw records (one JSON object each) come from. Implementations: FileSource
// (JSON Lines, optionally followed like `tail -F`); the Kafka source comes next.
// A source is used from one thread.
#ifndef ABUSEWATCH_DAEMON_SOURCES_SOURCE_H_
#define ABUSEWATCH_DAEMON_SOURCES_SOURCE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

struct SourceRecord {
  std::string_view payload;  // empty when oversized
  uint64_t position = 0;     // line number (files) or offset (Kafka), for dead letters and logs
  size_t length = 0;         // true length in bytes
  bool oversized = false;    // longer than the record limit: never buffered
};

class Source {
 public:
  virtual ~Source() = default;
  virtual const std::string& name() const = 0;
  // Fills `out` (cleared first) with up to `max` records, waiting at most `timeout` for the
  // first one. The views stay valid until the next call. Returns false when the source has
  // ended for good (a non-followed file read to its end) and `out` is empty.
  virtual bool Poll(size_t max, std::chrono::milliseconds timeout,
                    std::vector<SourceRecord>* out) = 0;
  // The first I/O error seen (reading continues where possible).
  virtual Status status() const = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SOURCES_SOURCE_H_

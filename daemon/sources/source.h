// Source: where raw records (one JSON object each) come from. Implementations: FileSource
// (JSON Lines, optionally followed like `tail -F`) and KafkaSource (a consumer group).
// A source is used from one thread.
//
// Lanes: a source made of several independently ordered inputs (Kafka partitions) numbers them
// with small lane ids (reused after a revocation) and reports their state changes; the engine
// keeps a watermark per lane (detectors/engine.h). Single-input sources use lane 0 and report
// no lane events.
#ifndef ABUSEWATCH_DAEMON_SOURCES_SOURCE_H_
#define ABUSEWATCH_DAEMON_SOURCES_SOURCE_H_

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "detectors/lane.h"
#include "detectors/status.h"

namespace abusewatch {

struct SourceRecord {
  std::string_view payload;  // empty when oversized
  uint64_t position = 0;     // line number (files) or offset (Kafka), for dead letters and logs
  size_t length = 0;         // true length in bytes
  bool oversized = false;    // longer than the record limit: never buffered
  uint32_t lane = 0;         // which input (Kafka partition slot); 0 for single-input sources
};

// Where one input of a source resumes: saved in checkpoints with the engine state that reflects
// every record handed out before it, and given back to a new source on start.
//   Kafka: input "topic/partition" (the partition number in decimal), lane = its lane id,
//          next = the offset after the last record handed out, count = 0, identity = "".
//   File:  input = the path, lane = 0, next = the byte offset after the last line handed out,
//          count = the number of lines handed out (so positions continue), identity = the
//          file's identity (e.g. "dev:inode") to detect a replaced file.
struct SourceCursor {
  std::string input;
  uint32_t lane = 0;
  uint64_t next = 0;
  uint64_t count = 0;
  std::string identity;
};

struct LaneEvent {
  uint32_t lane = 0;
  LaneState state = LaneState::kActive;
  std::string name;  // e.g. "events/3" (topic/partition), for logs
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
  // Lane state changes since the last call, in order (assignment → kActive, no record for the
  // idle timeout → kIdle, a record after that → kActive, revocation → kClosed). Apply them to
  // the engine before offering the records of the Poll() that preceded this call.
  virtual void TakeLaneEvents(std::vector<LaneEvent>* out) { out->clear(); }
  // Marks every record of `lane` with position < `next` as processed (its transitions handed
  // to the sinks): a later Commit() may commit it. Positions only move forward.
  virtual void MarkDone(uint32_t /*lane*/, uint64_t /*next*/) {}
  // True once the source can deliver: a file source at once, a Kafka source once it joined its
  // consumer group (received an assignment, possibly empty). Drives /readyz.
  virtual bool connected() const { return true; }
  // Cursors of every input the source has handed records out from in this session (or was
  // started at), after the last record handed out. Cheap; called at each checkpoint.
  virtual std::vector<SourceCursor> Cursors() const { return {}; }
  // Resume points from a checkpoint; call before the first Poll(). Kafka: an assigned partition
  // with a cursor starts at `next` (not at the group's committed offset) and gets lane `lane`
  // when that id is free; inputs without one start as configured. File: the file is read from
  // `next` when its identity matches and it is at least that long; otherwise from its start,
  // with a warning logged. Returns InvalidArgument for cursors the source cannot use (another
  // path); other cursors are ignored.
  virtual Status SetStartCursors(const std::vector<SourceCursor>& /*cursors*/) {
    return Status::Ok();
  }
  // Durable state is on: an input without a start cursor has no record in the state (a new or
  // rebuilt state directory, or a partition that delivered nothing before the checkpoint), so
  // read it from the start of what it retains, ignoring positions committed elsewhere (Kafka:
  // the group's committed offsets). Inputs with a start cursor still start there. Call before
  // the first Poll(). A file source starts at its beginning anyway.
  virtual void StartFromBeginning() {}
  // Commits what MarkDone() marked (Kafka: offsets to the group, asynchronously unless `sync`).
  virtual Status Commit(bool /*sync*/) { return Status::Ok(); }
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SOURCES_SOURCE_H_

// File outputs (spec/daemon.md "Outputs": JSON Lines file / stdout), so that the daemon can
// treat every output through the AlertSink / RecordWriter interfaces of sink.h.
//
// FileRecordWriter: a RecordWriter over OutputFile (daemon/output_file.h). Write() appends
// `value` and "\n" to a buffer (the key is ignored); the buffer reaches the file when it holds
// 1 MiB, on Tick(), Flush() and Close(). Flush's timeout is ignored (a local write). Errors are
// the OutputFile's: the first write error is kept and returned from then on.
//
// FileAlertSink: AlertSink "file" (or "stdout" for path "-"), one transition object of rules.md
// (AppendTransitionJson) per line, in the engine's output order. Each transition counts as
// AlertsSent(<name>, "ok") while the file has not failed, "failed" once it has. Tick() writes
// the buffer out, so a followed stdout shows transitions within one tick.
//
// Thread safety: every public function may be called from any thread (one mutex); Close()/
// Stop() must not race the destructor. No exception escapes a public function.
#ifndef ABUSEWATCH_DAEMON_SINKS_FILE_SINK_H_
#define ABUSEWATCH_DAEMON_SINKS_FILE_SINK_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "daemon/output_file.h"
#include "daemon/sinks/sink.h"
#include "detectors/status.h"
#include "detectors/transition.h"

namespace prometheus {
class Counter;
}

namespace abusewatch {

class Metrics;

class FileRecordWriter : public RecordWriter {
 public:
  // Opens `path` ("-": standard output), truncating it unless `append`. `name` is name().
  static Status Create(const std::string& path, bool append, std::string name,
                       std::unique_ptr<FileRecordWriter>* out);

  ~FileRecordWriter() override;  // Close()s
  FileRecordWriter(const FileRecordWriter&) = delete;
  FileRecordWriter& operator=(const FileRecordWriter&) = delete;

  const std::string& name() const override { return name_; }
  void Write(std::string_view key, std::string_view value) override;
  void Tick() override;  // writes the buffer out
  Status Flush(std::chrono::milliseconds timeout) override;
  // Idempotent; returns the first error of the file's life (Ok if none). Writes after Close()
  // are ignored and make later Flush()/Close() fail.
  Status Close() override;
  // The first error seen so far (by Tick(), Flush() or Close()), or Ok.
  Status status();

 private:
  FileRecordWriter(std::unique_ptr<OutputFile> file, std::string name)
      : name_(std::move(name)), file_(std::move(file)) {}

  const std::string name_;
  std::mutex mu_;
  std::unique_ptr<OutputFile> file_;  // null after Close()
  Status status_;                     // first error; guarded by mu_
};

class FileAlertSink : public AlertSink {
 public:
  struct Options {
    std::string path = "-";    // "-": standard output
    bool append = true;        // else truncate at start
    bool notify_only = false;  // only transitions of rules with `notify: true`
  };

  // Opens the file. `metrics` may be null; else it must outlive the sink.
  static Status Create(Options options, Metrics* metrics, std::unique_ptr<FileAlertSink>* out);

  ~FileAlertSink() override;  // Stop()s
  FileAlertSink(const FileAlertSink&) = delete;
  FileAlertSink& operator=(const FileAlertSink&) = delete;

  const std::string& name() const override { return writer_->name(); }  // "file" | "stdout"
  void OnTransition(const Transition& t, const RuleSet& rules) override;
  void Tick() override { writer_->Tick(); }
  // Writes everything out; true when that succeeded (a failed file never drains).
  bool Flush(std::chrono::milliseconds timeout) override;
  void Stop() override;  // Close()s the file (flushing it); idempotent
  // Ok, or the file's first error.
  Status status() { return writer_->status(); }

 private:
  FileAlertSink(bool notify_only, std::unique_ptr<FileRecordWriter> writer, Metrics* metrics);

  const bool notify_only_;
  std::unique_ptr<FileRecordWriter> writer_;
  prometheus::Counter* ok_ = nullptr;  // null without metrics
  prometheus::Counter* failed_ = nullptr;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_SINKS_FILE_SINK_H_

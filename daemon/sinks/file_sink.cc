#include "daemon/sinks/file_sink.h"

#include <exception>
#include <utility>

#include "daemon/metrics/metrics.h"

namespace abusewatch {

Status FileRecordWriter::Create(const std::string& path, bool append, std::string name,
                                std::unique_ptr<FileRecordWriter>* out) {
  try {
    std::unique_ptr<OutputFile> file;
    if (Status s = OutputFile::Open(path, &file, append); !s.ok()) return s;
    out->reset(new FileRecordWriter(std::move(file), std::move(name)));
  } catch (const std::exception& e) {
    return Status::Internal("cannot open " + path + ": " + e.what());
  }
  return Status::Ok();
}

FileRecordWriter::~FileRecordWriter() { Close(); }

void FileRecordWriter::Write(std::string_view /*key*/, std::string_view value) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ == nullptr) {
    if (status_.ok()) status_ = Status::IoError(name_ + ": write after close");
    return;
  }
  try {
    file_->Write(value);
    file_->Write("\n");
  } catch (...) {
    if (status_.ok()) status_ = Status::Internal(name_ + ": out of memory");
  }
}

void FileRecordWriter::Tick() {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ == nullptr) return;
  Status s = file_->Flush();
  if (status_.ok() && !s.ok()) status_ = s;
}

Status FileRecordWriter::Flush(std::chrono::milliseconds /*timeout*/) {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ != nullptr) {
    Status s = file_->Flush();
    if (status_.ok() && !s.ok()) status_ = s;
  }
  return status_;
}

Status FileRecordWriter::Close() {
  std::lock_guard<std::mutex> lk(mu_);
  if (file_ != nullptr) {
    Status s = file_->Close();
    if (status_.ok() && !s.ok()) status_ = s;
    file_.reset();
  }
  return status_;
}

Status FileRecordWriter::status() {
  std::lock_guard<std::mutex> lk(mu_);
  return status_;
}

// ---------------------------------------------------------------------------------------

Status FileAlertSink::Create(Options options, Metrics* metrics,
                             std::unique_ptr<FileAlertSink>* out) {
  std::unique_ptr<FileRecordWriter> writer;
  const std::string name = options.path == "-" ? "stdout" : "file";
  if (Status s = FileRecordWriter::Create(options.path, options.append, name, &writer); !s.ok()) {
    return s;
  }
  try {
    out->reset(new FileAlertSink(options.notify_only, std::move(writer), metrics));
  } catch (const std::exception& e) {
    return Status::Internal(name + " sink: " + e.what());
  }
  return Status::Ok();
}

FileAlertSink::FileAlertSink(bool notify_only, std::unique_ptr<FileRecordWriter> writer,
                             Metrics* metrics)
    : notify_only_(notify_only), writer_(std::move(writer)) {
  if (metrics != nullptr) {
    ok_ = &metrics->AlertsSent(writer_->name(), "ok");
    failed_ = &metrics->AlertsSent(writer_->name(), "failed");
  }
}

FileAlertSink::~FileAlertSink() { Stop(); }

void FileAlertSink::OnTransition(const Transition& t, const RuleSet& rules) {
  if (t.rule < 0 || static_cast<size_t>(t.rule) >= rules.rules().size()) return;
  if (notify_only_ && !rules.rules()[t.rule].spec.notify) return;
  bool ok = false;
  try {
    std::string line;
    AppendTransitionJson(t, rules, &line);
    writer_->Write(t.key, line);
    ok = writer_->status().ok();
  } catch (...) {
    ok = false;
  }
  prometheus::Counter* c = ok ? ok_ : failed_;
  if (c != nullptr) c->Increment();
}

bool FileAlertSink::Flush(std::chrono::milliseconds timeout) {
  return writer_->Flush(timeout).ok();
}

void FileAlertSink::Stop() { writer_->Close(); }

}  // namespace abusewatch

#include "daemon/replay.h"

#include <array>
#include <memory>

#include "config/config_loader.h"
#include "daemon/decode_pool.h"
#include "daemon/line_reader.h"
#include "daemon/output_file.h"
#include "detectors/engine.h"

namespace abusewatch {
namespace {

class FileSink final : public TransitionSink {
 public:
  explicit FileSink(OutputFile* out) : out_(out) {}
  void OnTransition(const Transition& t, const RuleSet& rules) override {
    line_.clear();
    AppendTransitionJson(t, rules, &line_);
    line_.push_back('\n');
    out_->Write(line_);
  }

 private:
  OutputFile* out_;
  std::string line_;
};

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\r') return false;
  }
  return true;
}

void AppendReject(uint64_t line, const Rejection& r, std::string* out) {
  out->append("{\"line\":");
  out->append(std::to_string(line));
  out->push_back(',');
  AppendRejectionFields(r, out);
  out->append("}\n");
}

}  // namespace

int RunReplay(const ReplayOptions& options, std::ostream& err) {
  EngineConfig config;
  std::vector<std::string> warnings;
  if (Status s = LoadConfigFile(options.config, &config, &warnings); !s.ok()) {
    err << "abusewatch: config error: " << s.message() << "\n";
    return 2;
  }
  for (const std::string& w : warnings) err << "abusewatch: warning: " << w << "\n";
  std::shared_ptr<const RuleSet> rules;
  if (Status s = RuleSet::Compile(std::move(config), &rules); !s.ok()) {
    err << "abusewatch: config error: " << s.message() << "\n";
    return 2;
  }
  const size_t max_bytes = static_cast<size_t>(rules->config().max_event_bytes);
  std::unique_ptr<LineReader> in;
  std::unique_ptr<OutputFile> out, rej;
  if (Status s = LineReader::Open(options.input, max_bytes, &in); !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 1;
  }
  if (Status s = OutputFile::Open(options.output, &out); !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    return 1;
  }
  if (!options.rejects.empty()) {
    if (Status s = OutputFile::Open(options.rejects, &rej); !s.ok()) {
      err << "abusewatch: " << s.message() << "\n";
      return 1;
    }
  }
  FileSink sink(out.get());
  std::unique_ptr<DecodePool> pool;  // outlives the engine
  if (const int threads = DecodePool::Resolve(options.decode_threads);
      threads > 0 && !options.decode_only) {
    pool = std::make_unique<DecodePool>(threads);
  }
  Engine engine(rules, &sink);
  if (pool) engine.SetDecodeWorkers(pool.get());
  Decoder decoder(DecoderOptionsFor(rules->config()));
  Event event;
  uint64_t decoded = 0;
  Rejection rejection;
  std::string rej_line;
  uint64_t lines = 0, blank = 0, rejected_total = 0;
  std::array<uint64_t, kNumRejectReasons> rejected{};
  // Lines go to the engine in batches (OfferBatch hides the dedup index's memory latency, and
  // shares large batches with the decode threads); results are reported in line order.
  const size_t batch_size = pool ? 1024 : 64;
  std::vector<LineReader::Line> batch;
  std::vector<std::string_view> records;
  std::vector<size_t> record_of(batch_size);
  std::unique_ptr<bool[]> accepted_buf(new bool[batch_size]);
  bool* accepted = accepted_buf.get();
  std::vector<Rejection> rejections(batch_size);
  auto report = [&](const LineReader::Line& l, const Rejection& r) {
    ++rejected_total;
    ++rejected[static_cast<int>(r.reason)];
    if (rej) {
      rej_line.clear();
      AppendReject(l.number, r, &rej_line);
      rej->Write(rej_line);
    }
  };
  while (in->NextBatch(&batch, batch_size)) {
    records.clear();
    for (size_t i = 0; i < batch.size(); ++i) {
      const LineReader::Line& l = batch[i];
      ++lines;
      record_of[i] = SIZE_MAX;
      if (l.oversized) continue;
      if (IsBlank(l.text)) {
        ++blank;
        continue;
      }
      record_of[i] = records.size();
      records.push_back(l.text);
    }
    if (options.decode_only) {
      for (size_t k = 0; k < records.size(); ++k) {
        accepted[k] = decoder.Decode(records[k], &event, &rejections[k]);
        decoded += accepted[k];
      }
    } else {
      engine.OfferBatch(records.data(), records.size(), accepted, rejections.data());
    }
    for (size_t i = 0; i < batch.size(); ++i) {
      const LineReader::Line& l = batch[i];
      if (l.oversized) {
        rejection.reason = RejectReason::kTooLarge;
        rejection.has_id = false;
        rejection.detail = "record is " + std::to_string(l.length) + " bytes, over the limit of " +
                           std::to_string(max_bytes);
        report(l, rejection);
      } else if (record_of[i] != SIZE_MAX && !accepted[record_of[i]]) {
        report(l, rejections[record_of[i]]);
      }
    }
  }
  engine.Finish();
  EngineStats st = engine.stats();
  int code = 0;
  if (!in->status().ok()) {
    err << "abusewatch: " << options.input << ": " << in->status().message() << "\n";
    code = 1;
  }
  if (Status s = out->Close(); !s.ok()) {
    err << "abusewatch: " << s.message() << "\n";
    code = 1;
  }
  if (rej) {
    if (Status s = rej->Close(); !s.ok()) {
      err << "abusewatch: " << s.message() << "\n";
      code = 1;
    }
  }
  err << "abusewatch replay: " << lines << " lines (" << blank << " blank), "
      << (options.decode_only ? decoded : st.accepted) << " accepted, " << rejected_total
      << " rejected";
  std::string by_reason;
  for (int r = 0; r < kNumRejectReasons; ++r) {
    const uint64_t n = rejected[r];
    if (n == 0) continue;
    by_reason += by_reason.empty() ? " (" : ", ";
    by_reason +=
        std::string(RejectReasonName(static_cast<RejectReason>(r))) + " " + std::to_string(n);
  }
  if (!by_reason.empty()) by_reason += ")";
  err << by_reason << ", " << st.transitions << " transitions\n";
  return code;
}

}  // namespace abusewatch

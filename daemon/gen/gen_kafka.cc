#include "daemon/gen/gen_kafka.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <streambuf>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace abusewatch {
namespace {

// The `account` of one generated line, found by a plain search: the generator writes compact
// JSON ("account":"acct-000123"), so no parser is needed. Empty (a null Kafka key) when the
// line has no string account or it holds an escape.
std::string_view AccountOf(std::string_view line) {
  constexpr std::string_view kField = "\"account\":\"";
  size_t p = line.find(kField);
  if (p == std::string_view::npos) return {};
  p += kField.size();
  size_t q = line.find_first_of("\"\\", p);
  if (q == std::string_view::npos || line[q] != '"') return {};
  return line.substr(p, q - p);
}

// What GenerateStream writes, split into lines, each produced as one record keyed by its
// account. With rate > 0, a token bucket on steady_clock paces the lines to `rate` per second
// (bursts of at most 10 ms worth).
class KafkaLineBuf : public std::streambuf {
 public:
  KafkaLineBuf(KafkaTopicWriter* writer, double rate)
      : writer_(writer),
        rate_(rate),
        burst_(std::max(1.0, rate / 100)),
        tokens_(burst_),
        last_(std::chrono::steady_clock::now()) {}

  // Produces a last line that had no newline.
  void Finish() {
    if (!partial_.empty()) Emit(partial_);
    partial_.clear();
  }
  uint64_t lines() const { return lines_; }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    char ch = traits_type::to_char_type(c);
    xsputn(&ch, 1);
    return c;
  }

  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::string_view data(s, static_cast<size_t>(n));
    while (!data.empty()) {
      size_t nl = data.find('\n');
      if (nl == std::string_view::npos) {
        partial_.append(data);
        break;
      }
      if (partial_.empty()) {
        Emit(data.substr(0, nl));
      } else {
        partial_.append(data.substr(0, nl));
        Emit(partial_);
        partial_.clear();
      }
      data.remove_prefix(nl + 1);
    }
    return n;
  }

 private:
  void Emit(std::string_view line) {
    if (rate_ > 0) Pace();
    writer_->Write(AccountOf(line), line);
    if (++lines_ % 1024 == 0) writer_->Tick();
  }

  void Pace() {
    using Clock = std::chrono::steady_clock;
    while (true) {
      auto now = Clock::now();
      tokens_ =
          std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_);
      last_ = now;
      if (tokens_ >= 1) {
        tokens_ -= 1;
        return;
      }
      writer_->Tick();
      std::this_thread::sleep_for(std::chrono::duration<double>((1 - tokens_) / rate_));
    }
  }

  KafkaTopicWriter* const writer_;
  const double rate_;
  const double burst_;
  double tokens_;
  std::chrono::steady_clock::time_point last_;
  std::string partial_;
  uint64_t lines_ = 0;
};

}  // namespace

int GenerateToKafka(const GenOptions& options, KafkaTopicWriter::Options kafka, double rate) {
  kafka.metrics_label = "gen_kafka";
  kafka.queue_full_wait = std::chrono::seconds(60);  // a batch tool: wait rather than drop
  const std::string topic = kafka.topic, brokers = kafka.brokers;
  std::unique_ptr<KafkaTopicWriter> writer;
  if (Status s = KafkaTopicWriter::Create(std::move(kafka), nullptr, &writer); !s.ok()) {
    std::cerr << "abusewatch: " << s.message() << "\n";
    return 2;
  }
  KafkaLineBuf buf(writer.get(), rate);
  std::ostream out(&buf);
  GenSummary summary;
  const auto t0 = std::chrono::steady_clock::now();
  Status s = GenerateStream(options, out, &summary);
  buf.Finish();
  if (s.ok()) s = writer->Flush(std::chrono::seconds(120));
  Status closed = writer->Close();
  if (s.ok()) s = closed;
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  KafkaTopicWriter::Stats st = writer->stats();
  if (!s.ok()) {
    std::cerr << "abusewatch: " << s.message() << "\n";
    return 1;
  }
  std::cerr << "abusewatch gen: wrote " << buf.lines() << " lines to kafka topic " << topic
            << " at " << brokers << " (" << st.ok << " delivered) in " << secs << " s\n";
  return 0;
}

}  // namespace abusewatch

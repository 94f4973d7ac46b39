// Engine robustness, "rejected whole, never half-applied" (spec/events.md "Rejection"): a valid
// stream with mutated copies of its lines inserted at random positions must give exactly the
// transitions of the same stream with the rejected lines removed, and a rejected Offer must not
// change any engine state or emit anything.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "detectors/engine.h"
#include "detectors/rule_set.h"
#include "detectors/timeutil.h"

namespace abusewatch {
namespace {

constexpr int64_t kHour = 3'600'000;

Selector Sel(std::initializer_list<EventType> types, std::vector<Condition> where = {}) {
  Selector s;
  for (EventType t : types) s.type_mask |= 1u << static_cast<int>(t);
  s.where = std::move(where);
  return s;
}

Condition Cond(FieldId f, Condition::Op op, std::vector<std::string> strings) {
  Condition c;
  c.field = f;
  c.op = op;
  c.strings = std::move(strings);
  return c;
}

Condition VerifiedTrue() {
  Condition c;
  c.field = FieldId::kVerified;
  c.bool_value = true;
  return c;
}

RuleSpec Rule(std::string id, RuleKind kind) {
  RuleSpec r;
  r.id = std::move(id);
  r.kind = kind;
  return r;
}

// A count, a sum with reset, a distinct, an absence, a sequence and two composites.
EngineConfig TestConfig() {
  EngineConfig c;
  c.timezone_offset_ms = 8 * kHour;
  c.timezone_text = "+08:00";
  c.currency_rates["USD"] = Decimal{710, 2};
  c.currency_rates["HKD"] = Decimal{91, 2};
  using Op = Condition::Op;
  RuleSpec count = Rule("concealment", RuleKind::kThreshold);
  count.select =
      Sel({EventType::kLogin}, {Cond(FieldId::kSignals, Op::kContainsAny, {"tor", "vpn"})});
  count.aggregate = Aggregate::kCount;
  count.window_ms = kHour;
  count.threshold = Decimal{3, 0};
  RuleSpec sum = Rule("settlement", RuleKind::kThreshold);
  sum.select = Sel({EventType::kPayment}, {Cond(FieldId::kFlow, Op::kEquals, {"settlement"})});
  sum.aggregate = Aggregate::kSum;
  sum.window_ms = 24 * kHour;
  sum.granularity_ms = kHour;
  sum.threshold = Decimal{100'000, 2};  // 1000.00
  sum.warn_at = {Decimal{5, 1}};
  sum.reset_on = Sel({EventType::kSanction});
  RuleSpec distinct = Rule("parties", RuleKind::kThreshold);
  distinct.select = Sel({EventType::kAbuseReport}, {VerifiedTrue()});
  distinct.aggregate = Aggregate::kDistinct;
  distinct.field = FieldId::kSubject;
  distinct.window_ms = 24 * kHour;
  distinct.granularity_ms = 24 * kHour;
  distinct.threshold = Decimal{2, 0};
  RuleSpec absence = Rule("unhandled", RuleKind::kAbsence);
  absence.trigger = Sel({EventType::kAbuseReport});
  absence.expect = Sel({EventType::kDisposition},
                       {Cond(FieldId::kAction, Op::kOneOf, {"suspend", "takedown", "warn"})});
  absence.within_ms = kHour;
  RuleSpec sequence = Rule("after_notice", RuleKind::kSequence);
  sequence.first = Sel({EventType::kRegulatorNotice});
  sequence.then = Sel({EventType::kPayment, EventType::kLogin});
  sequence.after_ms = 10 * 60'000;
  sequence.within_ms = 6 * kHour;
  sequence.unless =
      Sel({EventType::kDisposition}, {Cond(FieldId::kAction, Op::kEquals, {"suspend"})});
  RuleSpec by_subject = Rule("subject_count", RuleKind::kThreshold);
  by_subject.group_by = FieldId::kSubject;
  by_subject.select = Sel({EventType::kAbuseReport});
  by_subject.window_ms = kHour;
  by_subject.threshold = Decimal{2, 0};
  RuleSpec all = Rule("case", RuleKind::kAllOf);
  all.children = {"settlement", "unhandled"};
  RuleSpec any = Rule("any", RuleKind::kAnyOf);
  any.children = {"concealment", "after_notice", "parties"};
  c.rules = {count, sum, distinct, absence, sequence, by_subject, all, any};
  return c;
}

struct Recorder : TransitionSink {
  std::vector<std::string> lines;
  void OnTransition(const Transition& t, const RuleSet& rules) override {
    const CompiledRule& r = rules.rules()[static_cast<size_t>(t.rule)];
    lines.push_back(r.spec.id + " " + t.key + (t.firing ? " firing " : " resolved ") +
                    FormatRfc3339Utc(t.at_ms) + (t.has_value ? " " + FormatInt(t.value) : ""));
  }
};

// A synthetic stream over 4 accounts: mostly in order, some jitter inside the allowed lateness,
// a few late events and duplicate ids (engine-level rejections).
std::vector<std::string> SyntheticStream(uint64_t seed, int n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<uint64_t>(k)); };
  int64_t t = 1'772'294'400'000;  // 2026-03-01T00:00:00+08:00
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    t += pick(600) * 1000;
    int64_t ts = t;
    if (pick(10) == 0) ts -= pick(25'000);
    if (pick(50) == 0) ts -= 120'000;  // late
    std::string id = "e" + std::to_string(i);
    if (pick(50) == 0 && i > 0) id = "e" + std::to_string(pick(i));  // duplicate
    std::string acct = "a" + std::to_string(pick(4));
    std::string head = R"({"id":")" + id + R"(","ts":")" + FormatRfc3339Utc(ts) +
                       R"(","account":")" + acct + "\",";
    std::string body;
    switch (pick(7)) {
      case 0:
      case 1: {
        const char* sigs[] = {"[]", R"(["tor"])", R"(["vpn","proxy"])", R"(["proxy"])"};
        body = R"("type":"login","signals":)" + std::string(sigs[pick(4)]);
        break;
      }
      case 2:
        body = R"("type":"payment","flow":")" + std::string(pick(4) ? "settlement" : "gain") +
               R"(","amount":")" + std::to_string(pick(400)) + "." + std::to_string(10 + pick(90)) +
               "\"" + (pick(5) == 0 ? R"(,"currency":"USD")" : "");
        break;
      case 3:
        body = R"("type":"abuse_report","subject":"s)" + std::to_string(pick(3)) +
               R"(","verified":)" + (pick(2) ? "true" : "false");
        break;
      case 4: {
        const char* actions[] = {"warn", "suspend", "restore", "takedown"};
        body = R"("type":"disposition","action":")" + std::string(actions[pick(4)]) + "\"";
        break;
      }
      case 5:
        body = R"("type":"regulator_notice","authority":"cac")";
        break;
      case 6:
        body = pick(3) ? R"("type":"sanction")" : R"("type":"account_link","entity_keys":["k"])";
        break;
    }
    out.push_back(head + body + "}");
  }
  return out;
}

class EngineMutationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Status s = RuleSet::Compile(TestConfig(), &rules_);
    ASSERT_TRUE(s.ok()) << s.message();
  }

  // A mutated copy of `line`: byte damage or a late-stage semantic error with a fresh id.
  std::string Mutate(const std::string& line, std::mt19937_64& rng) {
    auto pick = [&](size_t k) { return static_cast<size_t>(rng() % k); };
    std::string s = line;
    auto replace = [&](const std::string& from, const std::string& to) {
      size_t at = s.find(from);
      if (at != std::string::npos) s.replace(at, from.size(), to);
    };
    replace(R"("id":")", R"("id":"m)" + std::to_string(serial_++));
    switch (pick(10)) {
      case 0:
        replace(R"("ts":"2026-)", R"("ts":"1999-)");
        return s;
      case 1:
        replace(R"("amount":")", R"("amount":"-)");
        return s;
      case 2:
        replace(R"("amount":")", R"("currency":"ZWL","amount":")");
        return s;
      case 3:
        replace(R"("action":")", R"("action":"x)");
        return s;
      case 4:
        replace(R"("type":")", R"("type":"x)");
        return s;
      case 5:
        replace(R"("signals":)", R"("signals":[1],"x":)");
        return s;
      case 6:
        return line;  // exact duplicate
      case 7:
        replace(R"("ts":"2026-03-)", R"("ts":"2026-02-)");
        return s;  // late
      default:
        break;
    }
    const char* tokens[] = {"\"", "{", "}", "[", "]", "\\", ",", ":", "\xff", "-", "1e3", "\0"};
    for (int r = 1 + static_cast<int>(pick(3)); r > 0; --r) {
      size_t at = pick(s.size() + 1);
      switch (pick(4)) {
        case 0:
          if (!s.empty()) s[pick(s.size())] ^= static_cast<char>(1 << pick(8));
          break;
        case 1:
          if (!s.empty()) s.erase(pick(s.size()), 1 + pick(6));
          break;
        case 2:
          s.resize(pick(s.size() + 1));
          break;
        case 3:
          s.insert(at, std::string(tokens[pick(std::size(tokens))], 1));
          break;
      }
    }
    return s;
  }

  struct Run {
    std::vector<std::string> transitions;
    std::set<size_t> rejected;
    uint64_t accepted = 0;
  };

  // Feeds `lines`; checks that each rejected Offer left the engine untouched.
  Run Feed(const std::vector<std::string>& lines) {
    Recorder rec;
    Engine engine(rules_, &rec);
    Run run;
    Rejection rej;
    for (size_t i = 0; i < lines.size(); ++i) {
      const EngineStats before = engine.stats();
      const int64_t max_before = engine.max_event_time();
      const size_t emitted = rec.lines.size();
      if (engine.Offer(lines[i], &rej)) continue;
      run.rejected.insert(i);
      const EngineStats after = engine.stats();
      EXPECT_FALSE(rej.detail.empty()) << i;
      EXPECT_EQ(after.rejected, before.rejected + 1);
      EXPECT_EQ(after.accepted, before.accepted) << "line " << i;
      EXPECT_EQ(after.buffered_events, before.buffered_events) << "line " << i;
      EXPECT_EQ(after.pending_timers, before.pending_timers) << "line " << i;
      EXPECT_EQ(after.dedup_ids, before.dedup_ids) << "line " << i;
      EXPECT_EQ(after.keys, before.keys) << "line " << i;
      EXPECT_EQ(after.detector_states, before.detector_states) << "line " << i;
      EXPECT_EQ(after.transitions, before.transitions) << "line " << i;
      EXPECT_EQ(engine.max_event_time(), max_before) << "line " << i;
      EXPECT_EQ(rec.lines.size(), emitted) << "a rejected line emitted a transition: " << i;
    }
    engine.Finish();
    run.accepted = engine.stats().accepted;
    run.transitions = std::move(rec.lines);
    return run;
  }

  // Inserts mutated copies, runs, removes the rejected lines, runs again, compares.
  // A mutant the decoder accepts (a changed id only, a duplicate, an earlier ts) goes after its
  // original, so it cannot move the watermark further than the original stream does (otherwise
  // every later line would be late and the comparison vacuous); other mutants go anywhere.
  void CheckStream(const std::vector<std::string>& base, uint64_t seed, size_t* transitions) {
    std::mt19937_64 rng(seed);
    const size_t n = base.size();
    std::vector<std::vector<std::string>> after(n + 1);  // after[i + 1]: inserted after base[i]
    for (size_t k = 0; k < n / 3 + 1; ++k) {
      const size_t orig = rng() % n;
      std::string m = Mutate(base[orig], rng);
      Event a, b;
      Rejection rej;
      if (!decoder_.Decode(m, &b, &rej)) {
        after[rng() % (n + 1)].push_back(m);
      } else if (!decoder_.Decode(base[orig], &a, &rej) || b.ts_ms <= a.ts_ms) {
        after[orig + 1 + rng() % (n - orig)].push_back(m);
      }
    }
    std::vector<std::string> stream = after[0];
    for (size_t i = 0; i < n; ++i) {
      stream.push_back(base[i]);
      for (std::string& m : after[i + 1]) stream.push_back(std::move(m));
    }
    Run first = Feed(stream);
    std::vector<std::string> kept;
    for (size_t i = 0; i < stream.size(); ++i) {
      if (!first.rejected.count(i)) kept.push_back(stream[i]);
    }
    Run second = Feed(kept);
    EXPECT_TRUE(second.rejected.empty())
        << "seed " << seed << ": without the rejected lines, line " << *second.rejected.begin()
        << " is rejected: " << kept[*second.rejected.begin()];
    EXPECT_EQ(second.accepted, first.accepted) << "seed " << seed;
    ASSERT_EQ(first.transitions, second.transitions) << "seed " << seed;
    *transitions += first.transitions.size();
  }

  std::shared_ptr<const RuleSet> rules_;
  Decoder decoder_{DecoderOptions{65'536, "CNY", TestConfig().currency_rates}};
  int serial_ = 0;
};

TEST_F(EngineMutationTest, SyntheticStreamsNeverHalfApply) {
  size_t transitions = 0;
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    CheckStream(SyntheticStream(seed, 400), seed * 7919, &transitions);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(transitions, 5000u) << "the streams should exercise the rules";
}

TEST_F(EngineMutationTest, ScenarioStreamsNeverHalfApply) {
  const std::filesystem::path dir = std::filesystem::path(ABUSEWATCH_SHARED_DIR) / "scenarios";
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().string().ends_with(".events.jsonl")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 12u);
  size_t transitions = 0;
  for (const auto& f : files) {
    std::vector<std::string> lines;
    std::ifstream in(f);
    for (std::string l; std::getline(in, l);) {
      if (!l.empty()) lines.push_back(l);
    }
    for (uint64_t seed = 1; seed <= 20; ++seed) {
      SCOPED_TRACE(f.filename().string());
      CheckStream(lines, seed, &transitions);
      if (HasFatalFailure()) return;
    }
  }
}

// The same records offered in one engine and the rejected ones offered again later change
// nothing either: rejection is stateless.
TEST_F(EngineMutationTest, RejectedRecordsReofferedChangeNothing) {
  std::vector<std::string> base = SyntheticStream(99, 300);
  std::mt19937_64 rng(5);
  std::vector<std::string> junk;
  for (int i = 0; i < 200; ++i) junk.push_back(Mutate(base[rng() % base.size()], rng));
  Recorder rec;
  Engine engine(rules_, &rec);
  Rejection rej;
  for (const std::string& l : base) engine.Offer(l, &rej);
  const EngineStats before = engine.stats();
  const size_t emitted = rec.lines.size();
  int rejected = 0;
  for (const std::string& j : junk) {
    if (!engine.Offer(j, &rej)) ++rejected;
    if (engine.stats().accepted != before.accepted) break;  // a junk line was valid: stop here
  }
  if (engine.stats().accepted == before.accepted) {
    EXPECT_EQ(rec.lines.size(), emitted);
    EXPECT_EQ(engine.stats().keys, before.keys);
    EXPECT_EQ(engine.stats().detector_states, before.detector_states);
    EXPECT_GT(rejected, 100);
  }
}

}  // namespace
}  // namespace abusewatch

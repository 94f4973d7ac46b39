// A realistic synthetic event stream (spec/events.md) for `make run`'s bundled sample, tests and
// benchmarks.
//
// The stream is mostly background traffic of ordinary hosting customers ("acct-000123") that
// never crosses any line of the default legal pack (spec/default-pack.md): no rule of the pack
// ever fires for a background account, not even an info-level building block. Into it are
// planted offenders ("off-<line>-<n>"), each built to cross exactly one notifying rule, a few
// full art. 287-2 cases (knowledge plus serious circumstances), and near misses ("near-<what>")
// that stop just short of a line. Planted events are interleaved in time with the background.
//
// Event times are nondecreasing in line order, except a `disorder` fraction of background lines
// whose time lies at most 20 s below the largest time written before them (so they are never
// `late` under the pack's 30 s allowed lateness). A `bad_fraction` of lines breaks the contract,
// one rejection reason at a time, round the reasons of events.md.
//
// Deterministic: the same options produce the same bytes on every platform (std::mt19937_64 with
// the generator's own integer distributions). Money is built from integer fen, never doubles.
// Thread safety: GenerateStream is reentrant; it shares no state between calls.
#ifndef ABUSEWATCH_DAEMON_GEN_GENERATOR_H_
#define ABUSEWATCH_DAEMON_GEN_GENERATOR_H_

#include <cstdint>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "detectors/status.h"

namespace abusewatch {

struct GenOptions {
  uint64_t events = 100000;   // lines to write, exactly
  uint32_t accounts = 10000;  // background accounts, "acct-000000" ..
  uint64_t seed = 1;
  int64_t start_ms = 1'767'196'800'000;  // 2026-01-01T00:00:00+08:00: time of the first line
  int64_t span_ms = 30LL * 86'400'000;   // times spread over [start_ms, start_ms + span_ms]
  // Planted offenders per legal line (0: none). Planting needs span_ms >= 5 days and at most
  // half of `events` for the planted accounts' lines; otherwise GenerateStream fails.
  uint32_t offenders_per_line = 3;
  double disorder = 0.01;     // fraction (≤ 0.5) of background lines up to 20 s out of order
  double bad_fraction = 0.0;  // fraction of lines that break the contract
  bool rfc3339 = true;        // ts mostly RFC 3339 "+08:00" (a few "Z" and integers); else integers
};

struct GenSummary {
  uint64_t lines = 0;    // lines written (== options.events on success)
  uint64_t planted = 0;  // lines of planted accounts (offenders and near misses)
  // Notifying rule id of the default pack (e.g. "art12_2_settlement", "art287_2_case") →
  // the offender accounts planted to cross it.
  std::map<std::string, std::vector<std::string>> offenders;
  // Every planted account → the notifying rules (notify: true) of the default pack expected to
  // fire for it at some point, sorted. Near misses map to an empty list. Accounts not listed
  // (the background) are expected to produce no transition of any rule.
  std::map<std::string, std::vector<std::string>> expected;
  std::vector<std::string> near_misses;
  uint64_t disordered = 0;  // good lines with a time below the largest time written before
  uint64_t bad = 0;         // lines written to be rejected
  // Rejection reason code (events.md) → lines written to be rejected with it. "duplicate" lines
  // repeat an earlier accepted id; "late" lines lie more than 30 s below the largest time.
  std::map<std::string, uint64_t> bad_by_reason;
};

// Writes options.events JSON Lines to `out`. Fails with InvalidArgument on unusable options
// (times outside 2000–2100, disorder outside [0, 0.5], bad_fraction outside [0, 1], no
// accounts, planting that does not fit) before writing anything, and with IoError when `out`
// fails.
Status GenerateStream(const GenOptions& options, std::ostream& out, GenSummary* summary = nullptr);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_GEN_GENERATOR_H_

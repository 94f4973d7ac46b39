// Running the real engine the way the differential test needs it, comparing it with the
// reference and shrinking failing cases. Tests only.
#ifndef ABUSEWATCH_TESTS_REFERENCE_DIFFERENTIAL_H_
#define ABUSEWATCH_TESTS_REFERENCE_DIFFERENTIAL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/rule_set.h"
#include "tests/reference/reference_engine.h"

namespace abusewatch::testing::ref {

// How the lines are handed to the engine. Every mode must give the same output.
enum class FeedMode {
  kOffer,        // Offer() every non-blank line, then Finish()
  kMixed,        // some lines decoded here and given to OfferEvent(); queries interleaved;
                 // Finish() twice (the second must emit nothing)
  kFinishEarly,  // Finish() also after the lines in `finish_after`
};

struct EngineRun {
  std::vector<RefTransition> transitions;  // as the sink received them
  std::vector<std::pair<int, RejectReason>> rejects;
  std::vector<std::string> problems;  // malformed JSON output, stats disagreeing, ...
};

// `finish_after`: 0-based line indices after which kFinishEarly calls Finish().
EngineRun RunEngine(const std::shared_ptr<const RuleSet>& rules,
                    const std::vector<std::string>& lines, FeedMode mode,
                    const std::vector<size_t>& finish_after = {});

// Line indices after which Finish() cannot change the result: every later accepted event has
// a ts greater than every accepted event so far.
std::vector<size_t> SafeFinishPoints(const RefResult& ref, size_t num_lines);

// Consistency checks of a finished engine against the reference: stats counts, IsFiring of
// every (rule, key) the reference mentions. Returns problems found.
std::vector<std::string> CheckFinalState(const std::shared_ptr<const RuleSet>& rules,
                                         const std::vector<std::string>& lines,
                                         const RefResult& ref);

// Empty when equal; else a description of the first differences.
std::string Compare(const std::vector<RefTransition>& want,
                    const std::vector<std::pair<int, RejectReason>>& want_rejects,
                    const EngineRun& got);

// Compiles `config`, runs both sides, and returns "" when the engine (plain Offer feed)
// agrees with the reference, else the differences (or the compile error).
std::string Differences(const EngineConfig& config, const std::vector<std::string>& lines,
                        const ReferenceOptions& options = {});

// Greedily removes rules and lines while Differences() stays non-empty.
void Shrink(EngineConfig* config, std::vector<std::string>* lines,
            const ReferenceOptions& options = {});

// The top-level members of one JSON object, each as its raw JSON text (strings keep their
// quotes and escapes; keys are taken verbatim). False when it is not of that shape.
bool SplitJsonObject(std::string_view s, std::map<std::string, std::string>* out);

// Numbered lines, for messages.
std::string NumberedLines(const std::vector<std::string>& lines);

}  // namespace abusewatch::testing::ref

#endif  // ABUSEWATCH_TESTS_REFERENCE_DIFFERENTIAL_H_

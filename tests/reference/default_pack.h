// The default legal pack of spec/default-pack.md built directly as structs, from the spec's
// table (not from config/packs), so the reference can be checked against the acceptance
// scenarios independently of the config loader. Tests only.
#ifndef ABUSEWATCH_TESTS_REFERENCE_DEFAULT_PACK_H_
#define ABUSEWATCH_TESTS_REFERENCE_DEFAULT_PACK_H_

#include "detectors/rule_spec.h"

namespace abusewatch::testing::ref {

EngineConfig DefaultPack();

}  // namespace abusewatch::testing::ref

#endif  // ABUSEWATCH_TESTS_REFERENCE_DEFAULT_PACK_H_

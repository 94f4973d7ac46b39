// Lanes: independently ordered inputs of one engine (Kafka partitions). See Engine's lane API.
#ifndef ABUSEWATCH_DETECTORS_LANE_H_
#define ABUSEWATCH_DETECTORS_LANE_H_

#include <cstdint>

namespace abusewatch {

enum class LaneState : uint8_t {
  kActive,  // assigned and delivering (or expected to deliver): holds the watermark back
  kIdle,    // caught up or silent for the idle timeout: does not hold the watermark back
  kClosed,  // revoked: forgotten
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_LANE_H_

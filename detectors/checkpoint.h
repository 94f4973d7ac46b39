// The engine's durable state, as the engine hands it to a store and takes it back.
//
// The engine's state is split into per-key records (every detector state and composite firing
// flag of one group key, in one value) and a few named meta records (lanes, watermarks, timers,
// the reorder buffer, pending transitions, the dedup index). Engine::Checkpoint() writes the
// records that changed since the previous checkpoint into a CheckpointWriter; the store applies
// them, with the sources' cursors, in one atomic batch. Engine::Restore*() takes them back.
// Values are opaque bytes in a versioned format (detectors/state_codec.h); stores must keep them
// byte for byte. Keys are group key strings (UTF-8, non-empty, any bytes but no limit on size).
#ifndef ABUSEWATCH_DETECTORS_CHECKPOINT_H_
#define ABUSEWATCH_DETECTORS_CHECKPOINT_H_

#include <string_view>

namespace abusewatch {

// Receives one checkpoint's changes. Implementations buffer them until committed; the engine
// never reads back through it. Called on the engine's thread, during Engine::Checkpoint() only.
class CheckpointWriter {
 public:
  virtual ~CheckpointWriter() = default;
  // The state of group key `key` is now `value` (replacing any earlier value).
  virtual void PutKey(std::string_view key, std::string_view value) = 0;
  // Group key `key` holds no state any more.
  virtual void DeleteKey(std::string_view key) = 0;
  // The meta record `name` (a short ASCII name such as "engine" or "dedup.42") is now `value`.
  virtual void PutMeta(std::string_view name, std::string_view value) = 0;
  // The meta record `name` is no longer needed.
  virtual void DeleteMeta(std::string_view name) = 0;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_CHECKPOINT_H_

// DecodedBatch: records decoded ahead of the engine, so that decoding (about half of the work per
// record) can run on another thread than the engine: DecodeBatch() on a decoding thread, then
// Engine::OfferDecoded() on the engine's thread, together equivalent to Engine::OfferBatch() on
// the same records.
//
// The batch carries its Event objects back and forth: OfferDecoded() moves the accepted events
// into the engine and puts recycled ones in their place, so a batch decoded into again and again
// allocates nothing in steady state.
//
// Thread safety: none inside; a batch is used by one thread at a time, and handing it from one
// thread to another must synchronize (a mutex, a queue). DecodeBatch() touches only the batch
// and the decoder it is given, never an engine.
#ifndef ABUSEWATCH_DETECTORS_DECODED_BATCH_H_
#define ABUSEWATCH_DETECTORS_DECODED_BATCH_H_

#include <cstddef>
#include <memory>
#include <string_view>
#include <vector>

#include "detectors/decoder.h"
#include "detectors/dedup.h"
#include "detectors/event.h"

namespace abusewatch {

struct DecodedBatch {
  size_t size = 0;  // records decoded in the last DecodeBatch()
  // Per record i < size. After DecodeBatch(): events[i] holds the decoded event when
  // decoded[i], else rejections[i] says why (and events[i] is unspecified); hashes[i] is the
  // dedup hash of a decoded event's id. After Engine::OfferDecoded(): accepted[i] and
  // rejections[i] are what Engine::Offer() would have returned and filled.
  std::vector<std::unique_ptr<Event>> events;  // never null below events.size()
  std::vector<DedupIndex::Hash> hashes;
  std::vector<Rejection> rejections;
  std::unique_ptr<bool[]> decoded;
  std::unique_ptr<bool[]> accepted;
  size_t capacity = 0;  // of decoded / accepted
};

// Decodes records[0..n) into `batch` (its previous contents replaced, its events reused and
// grown as needed) with `decoder`, which must have the engine's options
// (DecoderOptionsFor(rules.config())). The records need not stay valid afterwards: events own
// their bytes. Never throws except std::bad_alloc.
void DecodeBatch(Decoder* decoder, const std::string_view* records, size_t n, DecodedBatch* batch);

}  // namespace abusewatch

#endif  // ABUSEWATCH_DETECTORS_DECODED_BATCH_H_

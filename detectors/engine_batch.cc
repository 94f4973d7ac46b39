// Engine::OfferBatch: decoding ahead of the engine, on this thread or with decode workers.
#include <algorithm>
#include <atomic>
#include <memory>

#include "detectors/engine.h"
#include "detectors/engine_impl.h"

namespace abusewatch {
namespace {

// Serial batches decode this many records, then apply them: the dedup index's cache misses
// for the chunk are in flight meanwhile.
constexpr size_t kSerialChunk = 64;
// With workers: batches of at least kParallelMin records are split into chunks of kChunk.
constexpr size_t kParallelMin = 256;
constexpr size_t kChunk = 32;
// With workers: the engine's thread requests a record's index slot this many records before
// applying it, one request per record applied, as the serial path does. Requests for a whole
// chunk at once, at its start, mostly did not help (4x the slot misses; perhaps a burst of 32
// overflows the core's miss buffers).
constexpr size_t kPrefetchAhead = 24;
constexpr int kSpinsBeforeRelax = 2000;

enum ChunkState : uint8_t { kPending = 0, kDecoded = 1, kRedo = 2 };

inline void CpuPause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

void Engine::SetDecodeWorkers(DecodeWorkers* workers) {
  Impl& im = *impl_;
  im.decode_workers = workers;
  im.worker_decoders.clear();
  if (workers == nullptr) return;
  for (int w = 0; w < workers->size(); ++w) {
    im.worker_decoders.push_back(std::make_unique<Decoder>(DecoderOptionsFor(im.rules.config())));
  }
}

void Engine::OfferBatch(const std::string_view* records, size_t n, bool* accepted,
                        Rejection* rejections) {
  OfferBatch(records, n, nullptr, nullptr, accepted, rejections);
}

void Engine::Impl::ApplyDecoded(size_t i, const uint32_t* lanes, const uint64_t* positions,
                                bool* accepted, Rejection* rejections) {
  const uint32_t lane = lanes == nullptr ? 0 : lanes[i];
  Rejection* rejection = &rejections[i];
  if (lane >= kMaxLanes) {
    pool.push_back(std::move(batch_events[i]));
    engine_internal::LaneOutOfRange(lane, rejection);
    accepted[i] = Rejected(rejection);
    return;
  }
  // Lanes change state in record order, as with Offer() on each in turn.
  const uint64_t position = Arrive(lane, positions == nullptr ? kNextPosition : positions[i]);
  if (!accepted[i]) {
    pool.push_back(std::move(batch_events[i]));
    Rejected(rejection);
  } else {
    accepted[i] = Accept(std::move(batch_events[i]), batch_hashes[i], lane, position, rejection);
  }
}

void Engine::Impl::ReserveBatch(size_t n) {
  if (batch_events.size() < n) {
    batch_events.resize(n);
    batch_hashes.resize(n);
  }
}

bool Engine::Impl::DecodeSlot(Decoder& d, std::string_view record, size_t i, Rejection* rejection) {
  if (!d.Decode(record, batch_events[i].get(), rejection)) return false;
  batch_hashes[i] = DedupIndex::HashId(batch_events[i]->id());
  return true;
}

void Engine::OfferBatch(const std::string_view* records, size_t n, const uint32_t* lanes,
                        const uint64_t* positions, bool* accepted, Rejection* rejections) {
  Impl& im = *impl_;
  if (im.decode_workers != nullptr && n >= kParallelMin) {
    im.OfferParallel(records, n, lanes, positions, accepted, rejections);
    return;
  }
  im.ReserveBatch(n);
  for (size_t base = 0; base < n; base += kSerialChunk) {
    const size_t end = std::min(n, base + kSerialChunk);
    for (size_t i = base; i < end; ++i) {
      im.batch_events[i] = im.TakeEvent();
      accepted[i] = im.DecodeSlot(im.decoder, records[i], i, &rejections[i]);
      if (accepted[i]) im.dedup.Prefetch(im.batch_hashes[i]);
    }
    for (size_t i = base; i < end; ++i) im.ApplyDecoded(i, lanes, positions, accepted, rejections);
  }
}

void Engine::Impl::OfferParallel(const std::string_view* records, size_t n, const uint32_t* lanes,
                                 const uint64_t* positions, bool* accepted, Rejection* rejections) {
  ReserveBatch(n);
  for (size_t i = 0; i < n; ++i) batch_events[i] = TakeEvent();
  const size_t chunks = (n + kChunk - 1) / kChunk;
  std::unique_ptr<std::atomic<uint8_t>[]> state(new std::atomic<uint8_t>[chunks]);
  for (size_t c = 0; c < chunks; ++c) state[c].store(kPending, std::memory_order_relaxed);
  std::atomic<size_t> next{0};
  // Decodes chunk c (only the thread that claimed it writes its slots).
  auto decode = [&](size_t c, Decoder& d) {
    const size_t end = std::min(n, (c + 1) * kChunk);
    for (size_t i = c * kChunk; i < end; ++i) {
      accepted[i] = DecodeSlot(d, records[i], i, &rejections[i]);
    }
  };
  const std::function<void(int)> work = [&](int w) {
    Decoder& d = *worker_decoders[w];
    for (;;) {
      const size_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c >= chunks) return;
      uint8_t done = kDecoded;
      try {
        decode(c, d);
      } catch (...) {  // out of memory: the engine's thread decodes this chunk again
        done = kRedo;
      }
      state[c].store(done, std::memory_order_release);
      if (done == kRedo) return;
    }
  };
  DecodeWorkers* workers = decode_workers;
  struct Join {  // the workers use this frame: they are done before it goes, whatever happens
    DecodeWorkers* w;
    ~Join() { w->Wait(); }
  } join{workers};
  workers->Start(&work);
  // Records [0, prefetched) have had their index slots requested (or were rejected); chunks
  // [0, ready) are known decoded.
  size_t prefetched = 0;
  size_t ready = 0;
  auto prefetch_until = [&](size_t limit) {
    limit = std::min(limit, n);
    while (prefetched < limit) {
      const size_t c = prefetched / kChunk;
      if (c >= ready) {
        if (state[c].load(std::memory_order_acquire) != kDecoded) return;
        ready = c + 1;
      }
      if (accepted[prefetched]) dedup.Prefetch(batch_hashes[prefetched]);
      ++prefetched;
    }
  };
  for (size_t k = 0; k < chunks; ++k) {
    uint8_t st;
    int spins = 0;
    while ((st = state[k].load(std::memory_order_acquire)) == kPending) {
      const size_t c = next.fetch_add(1, std::memory_order_relaxed);
      if (c < chunks) {  // help: decode an unclaimed chunk here
        decode(c, decoder);
        state[c].store(kDecoded, std::memory_order_release);
      } else if (++spins < kSpinsBeforeRelax) {
        CpuPause();
      } else {
        workers->Relax();
        spins = 0;
      }
    }
    const size_t begin = k * kChunk;
    const size_t end = std::min(n, begin + kChunk);
    if (st == kRedo) {
      decode(k, decoder);
      prefetched = std::max(prefetched, end);  // not requested: the chunk was redone late
    }
    for (size_t i = begin; i < end; ++i) {
      prefetch_until(i + kPrefetchAhead);
      // Decoded on another core: fetch the next events' bytes ahead.
      if (i + 2 < end) batch_events[i + 2]->PrefetchObject();
      ApplyDecoded(i, lanes, positions, accepted, rejections);
    }
  }
}

}  // namespace abusewatch

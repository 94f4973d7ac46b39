// DecodePool: the threads the daemon lends to its engine for decoding (detectors/
// decode_workers.h). Each worker sleeps on a condition variable between batches; Start() wakes
// them all and Wait() sleeps until the last one is done. Relax() yields the CPU.
// Thread safety: Start/Wait/Relax from one thread (the engine's) at a time.
#ifndef ABUSEWATCH_DAEMON_DECODE_POOL_H_
#define ABUSEWATCH_DAEMON_DECODE_POOL_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "detectors/decode_workers.h"

namespace abusewatch {

class DecodePool final : public DecodeWorkers {
 public:
  // Starts `threads` (>= 1) worker threads; joins them on destruction.
  explicit DecodePool(int threads);
  ~DecodePool() override;
  DecodePool(const DecodePool&) = delete;
  DecodePool& operator=(const DecodePool&) = delete;

  int size() const override { return static_cast<int>(threads_.size()); }
  void Start(const std::function<void(int)>* work) override;
  void Wait() override;
  void Relax() override { std::this_thread::yield(); }

  // The number of decode threads for `configured` (the config's decode_threads; < 0: auto,
  // one per CPU beyond the engine's, at most 3).
  static int Resolve(int configured);

 private:
  void Loop(int w);

  std::mutex mu_;
  std::condition_variable wake_;  // workers: a new round (or stop)
  std::condition_variable done_;  // Wait(): running_ reached 0
  const std::function<void(int)>* work_ = nullptr;
  uint64_t round_ = 0;
  int running_ = 0;
  bool stop_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace abusewatch

#endif  // ABUSEWATCH_DAEMON_DECODE_POOL_H_

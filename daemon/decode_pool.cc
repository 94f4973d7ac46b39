#include "daemon/decode_pool.h"

#include <algorithm>

namespace abusewatch {

DecodePool::DecodePool(int threads) {
  for (int w = 0; w < std::max(threads, 1); ++w) threads_.emplace_back([this, w] { Loop(w); });
}

DecodePool::~DecodePool() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void DecodePool::Start(const std::function<void(int)>* work) {
  {
    std::lock_guard<std::mutex> l(mu_);
    work_ = work;
    ++round_;
    running_ = size();
  }
  wake_.notify_all();
}

void DecodePool::Wait() {
  std::unique_lock<std::mutex> l(mu_);
  done_.wait(l, [this] { return running_ == 0; });
  work_ = nullptr;
}

void DecodePool::Loop(int w) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> l(mu_);
  for (;;) {
    wake_.wait(l, [&] { return stop_ || round_ != seen; });
    if (stop_) return;
    seen = round_;
    const std::function<void(int)>* work = work_;
    l.unlock();
    (*work)(w);  // does not throw (DecodeWorkers::Start)
    l.lock();
    if (--running_ == 0) done_.notify_one();
  }
}

int DecodePool::Resolve(int configured) {
  if (configured >= 0) return configured;
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  return std::clamp(cpus - 1, 0, 3);
}

}  // namespace abusewatch

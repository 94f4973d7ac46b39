#include "daemon/decode_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace abusewatch {
namespace {

// Every round runs the work once per worker, each on its own thread (not the caller's), and
// Wait() returns only after all of them finished.
TEST(DecodePoolTest, RunsEachWorkerOnceAndWaitsForAll) {
  DecodePool pool(3);
  ASSERT_EQ(pool.size(), 3);
  pool.Wait();  // nothing started: returns at once
  const std::thread::id caller = std::this_thread::get_id();
  for (int round = 0; round < 300; ++round) {
    std::atomic<int> calls[3] = {0, 0, 0};
    std::atomic<int> finished{0};
    std::atomic<bool> on_caller{false};
    std::mutex mu;
    std::set<std::thread::id> ids;
    const std::function<void(int)> work = [&](int w) {
      if (std::this_thread::get_id() == caller) on_caller = true;
      {
        std::lock_guard<std::mutex> l(mu);
        ids.insert(std::this_thread::get_id());
      }
      ++calls[w];
      if (round % 50 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
      ++finished;
    };
    pool.Start(&work);
    pool.Wait();
    ASSERT_EQ(finished.load(), 3) << "round " << round;
    for (int w = 0; w < 3; ++w) ASSERT_EQ(calls[w].load(), 1) << "round " << round;
    ASSERT_FALSE(on_caller.load());
    ASSERT_EQ(ids.size(), 3u);
  }
}

TEST(DecodePoolTest, ResolveAuto) {
  EXPECT_EQ(DecodePool::Resolve(0), 0);
  EXPECT_EQ(DecodePool::Resolve(5), 5);
  const int cpus = static_cast<int>(std::thread::hardware_concurrency());
  EXPECT_EQ(DecodePool::Resolve(-1), std::clamp(cpus - 1, 0, 3));
}

}  // namespace
}  // namespace abusewatch

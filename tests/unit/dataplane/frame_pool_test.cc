// Coroutines of a class opted into GANTRY_POOLED_FRAMES: Asio's semantics unchanged (values,
// exceptions, nested awaitables, awaitable operators, this_coro), frames recycled per thread.
#include "dataplane/frame_pool.h"

#include <gtest/gtest.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <variant>

namespace {

class Pooled;

}  // namespace

GANTRY_POOLED_FRAMES(Pooled);

namespace {

using asio::awaitable;
using gantry::dataplane::framePoolEnabled;
using gantry::dataplane::pooledFrameCount;

class Pooled {
 public:
  // A frame of ~1.5 KiB (above Asio's 1,020-byte recycling limit), as Conn::relayResponse's.
  awaitable<int> big(int x) {
    std::array<char, 1400> local{};
    local[static_cast<size_t>(x) % local.size()] = static_cast<char>(x);
    co_await small();
    co_return x + local[static_cast<size_t>(x) % local.size()] - static_cast<char>(x) + 1;
  }
  awaitable<void> small() {
    asio::steady_timer t(co_await asio::this_coro::executor);
    t.expires_after(std::chrono::milliseconds(0));
    co_await t.async_wait(asio::use_awaitable);
    ++steps_;
  }
  awaitable<int> throws() {
    co_await small();
    throw std::runtime_error("boom");
  }
  awaitable<int> race() {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer slow(co_await asio::this_coro::executor);
    slow.expires_after(std::chrono::seconds(30));
    auto r = co_await (big(41) || slow.async_wait(asio::use_awaitable));
    co_return r.index() == 0 ? std::get<0>(r) : -1;
  }
  int steps_ = 0;
};

template <typename T>
T run(asio::io_context& io, awaitable<T> a) {
  std::exception_ptr error;
  T value{};
  asio::co_spawn(io, std::move(a), [&](std::exception_ptr e, T v) {
    error = e;
    value = v;
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return value;
}

TEST(FramePool, ValuesNestedAwaitsAndExecutor) {
  asio::io_context io;
  Pooled p;
  EXPECT_EQ(run(io, p.big(1)), 2);
  EXPECT_EQ(p.steps_, 1);
}

TEST(FramePool, ExceptionsPropagateToTheAwaiter) {
  asio::io_context io;
  Pooled p;
  EXPECT_THROW(run(io, p.throws()), std::runtime_error);
  EXPECT_EQ(p.steps_, 1);
}

TEST(FramePool, AwaitableOperatorsCancelTheLoser) {
  asio::io_context io;
  Pooled p;
  EXPECT_EQ(run(io, p.race()), 42);  // the 30 s timer lost and was cancelled: run() returned
}

TEST(FramePool, FramesAreRecycledOnTheThread) {
  if (!framePoolEnabled()) GTEST_SKIP() << "sanitizer build: frames come from operator new";
  asio::io_context io;
  Pooled p;
  run(io, p.big(3));  // warm: big's and small's frames are now in this thread's lists
  const size_t warm = pooledFrameCount();
  EXPECT_GE(warm, 2u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(run(io, p.big(i)), i + 1);
  EXPECT_EQ(pooledFrameCount(), warm);  // reused, not grown
}

TEST(FramePool, FramesFreedOnAnotherThreadJoinThatThreadsLists) {
  if (!framePoolEnabled()) GTEST_SKIP() << "sanitizer build: frames come from operator new";
  Pooled p;
  awaitable<int> a = p.big(5);  // frame allocated here, never started
  size_t before = 0, after = 0;
  std::thread t([&] {
    before = pooledFrameCount();
    { awaitable<int> moved = std::move(a); }  // destroyed (freed) on this thread
    after = pooledFrameCount();
  });
  t.join();
  EXPECT_EQ(after, before + 1);
}

}  // namespace

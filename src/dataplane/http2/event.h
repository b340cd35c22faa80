// A one-waiter wake-up signal with an optional timeout, for coroutines of one worker thread.
// Used between the HTTP/2 connection's reader/writer and its streams, which all run on the same
// io_context: nghttp2 callbacks only record state and notify(); the waiting coroutine resumes
// later from the event loop, never inside the callback.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>

namespace gantry::dataplane::http2 {

class Event {
 public:
  // The timer is created by the first wait that has to suspend: most Events of a stream (the
  // request body of a GET, the response window of a small response) are never waited on, and a
  // timer costs a service lookup under a mutex to create and a cancel to destroy.
  explicit Event(asio::io_context& io) : io_(io) {}
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;

  // Waits until notify() (true) or until timeout_ms passed (false; 0 = no timeout). A notify()
  // that came while nobody was waiting makes the next wait return at once.
  asio::awaitable<bool> wait(uint32_t timeout_ms) {
    if (pending_) {
      pending_ = false;
      co_return true;
    }
    if (!timer_) timer_.emplace(io_);
    if (timeout_ms == 0) {
      timer_->expires_at(asio::steady_timer::time_point::max());
    } else {
      timer_->expires_after(std::chrono::milliseconds(timeout_ms));
    }
    waiting_ = true;
    auto [ec] = co_await timer_->async_wait(asio::experimental::as_tuple(asio::use_awaitable));
    (void)ec;  // cancelled (notified or torn down) or expired: pending_ tells which
    waiting_ = false;
    bool notified = pending_;
    pending_ = false;
    co_return notified;
  }

  void notify() {
    pending_ = true;
    if (waiting_) timer_->cancel();
  }

 private:
  asio::io_context& io_;
  std::optional<asio::steady_timer> timer_;
  bool pending_ = false;
  bool waiting_ = false;
};

}  // namespace gantry::dataplane::http2

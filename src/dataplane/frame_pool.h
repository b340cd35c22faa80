// Per-thread recycling of coroutine frames for the proxy's per-request coroutines.
//
// Every proxied HTTP/1 request creates ~7 coroutine frames of `Conn` (137 to ~2,500 bytes). Asio
// recycles frames only up to 1,020 bytes, in 2 slots per thread, and evicts a cached block on every
// miss, so most of them went to malloc (bench/README.md "Where the time goes (session 3)" and
// "Allocator"). A class opts in with GANTRY_POOLED_FRAMES(Class): its member coroutines returning
// asio::awaitable then use PooledAwaitableFrame as promise type, which is Asio's promise with the
// frame allocated from this thread's free lists instead. The derived promise adds no data member,
// so Asio's handles of its own promise type (coroutine_handle<awaitable_frame>::from_promise)
// address the same frame.
#pragma once

#include <asio/awaitable.hpp>
#include <coroutine>
#include <cstddef>
#include <utility>

namespace gantry::dataplane {

// A block of at least `size` bytes from the calling thread's free list of its size class, or from
// operator new. deallocateFrame may be called on any thread: the block joins that thread's list
// (a bounded number per size class; beyond it, and above the largest class, operator delete).
void* allocateFrame(std::size_t size);
void deallocateFrame(void* p, std::size_t size) noexcept;

// Frames currently held in the calling thread's free lists, and whether the pool is in use (not in
// sanitizer builds), for tests.
std::size_t pooledFrameCount();
bool framePoolEnabled();

template <typename T, typename Executor>
class PooledAwaitableFrame : public asio::detail::awaitable_frame<T, Executor> {
  using Base = asio::detail::awaitable_frame<T, Executor>;

 public:
  static void* operator new(std::size_t size) { return allocateFrame(size); }
  static void operator delete(void* p, std::size_t size) noexcept { deallocateFrame(p, size); }

  // asio::awaitable::await_suspend accepts only a handle of Asio's promise type: hand it one for
  // this frame (same address: the derived promise has no data member of its own).
  template <typename U>
  struct AwaitAsio {
    asio::awaitable<U, Executor> inner;
    bool await_ready() const noexcept { return inner.await_ready(); }
    template <typename P>
    void await_suspend(std::coroutine_handle<P> h) {
      Base& promise = h.promise();
      inner.await_suspend(std::coroutine_handle<Base>::from_promise(promise));
    }
    U await_resume() { return inner.await_resume(); }
  };

  using Base::await_transform;  // this_coro::executor, cancellation state, ...
  template <typename U>
  auto await_transform(asio::awaitable<U, Executor> a) const {
    return AwaitAsio<U>{Base::await_transform(std::move(a))};  // keeps Asio's cancellation check
  }
};

}  // namespace gantry::dataplane

// Use at global scope, after `Class` is declared and before its coroutines are defined. The
// implicit object parameter of a non-static member coroutine is `Class&` in coroutine_traits
// (C++20 [dcl.fct.def.coroutine]/4); this partial specialisation is more specialised than Asio's.
#define GANTRY_POOLED_FRAMES(Class)                                              \
  template <typename T, typename Executor, typename... Args>                     \
  struct std::coroutine_traits<asio::awaitable<T, Executor>, Class&, Args...> {  \
    using promise_type = ::gantry::dataplane::PooledAwaitableFrame<T, Executor>; \
  }

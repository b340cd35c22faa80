#include "dataplane/frame_pool.h"

#include <new>

// Sanitizer builds allocate every frame from operator new, so that ASan sees each frame's
// lifetime (a recycled frame would hide a use after free) and TSan its hand-over between threads.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GANTRY_FRAME_POOL 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GANTRY_FRAME_POOL 0
#endif
#endif
#ifndef GANTRY_FRAME_POOL
#define GANTRY_FRAME_POOL 1
#endif

namespace gantry::dataplane {
namespace {

// Size classes of 256 bytes up to 4 KiB cover every frame of the proxy (the largest,
// Conn::handleRequest, is ~2.1 KiB). The bound per class and thread must exceed the number of
// requests a worker has in flight at once (with 32, h2load -c64 still missed on 1.2 frames per
// request); it also bounds what a burst leaves behind: ~3-4 classes are used, i.e. < 1.5 MiB per
// worker, memory that malloc would have kept in its own free lists after the same burst anyway.
constexpr std::size_t kStep = 256;
constexpr std::size_t kClasses = 16;
[[maybe_unused]] constexpr unsigned kMaxPerClass = 256;

// Sized delete spares malloc the size lookup; clang 14 (sanitizer and fuzz builds) does not
// declare it unless -fsized-deallocation.
void freeBlock(void* p, [[maybe_unused]] std::size_t size) noexcept {
#if defined(__cpp_sized_deallocation)
  ::operator delete(p, size);
#else
  ::operator delete(p);
#endif
}

struct FreeBlock {
  FreeBlock* next;
};

struct ThreadFrames {
  FreeBlock* head[kClasses] = {};
  unsigned count[kClasses] = {};

  ~ThreadFrames() {  // thread exit: give the cached blocks back (LeakSanitizer, long-lived tests)
    for (std::size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* b = head[c]) {
        head[c] = b->next;
        freeBlock(b, (c + 1) * kStep);
      }
    }
  }
};

thread_local ThreadFrames t_frames;

}  // namespace

void* allocateFrame(std::size_t size) {
#if GANTRY_FRAME_POOL
  const std::size_t c = (size - 1) / kStep;
  if (c < kClasses) {
    ThreadFrames& t = t_frames;
    if (FreeBlock* b = t.head[c]) {
      t.head[c] = b->next;
      --t.count[c];
      return b;
    }
    return ::operator new((c + 1) * kStep);
  }
#endif
  return ::operator new(size);
}

void deallocateFrame(void* p, std::size_t size) noexcept {
#if GANTRY_FRAME_POOL
  const std::size_t c = (size - 1) / kStep;
  if (c < kClasses) {
    ThreadFrames& t = t_frames;
    if (t.count[c] < kMaxPerClass) {
      t.head[c] = new (p) FreeBlock{t.head[c]};
      ++t.count[c];
      return;
    }
    freeBlock(p, (c + 1) * kStep);
    return;
  }
#endif
  freeBlock(p, size);
}

bool framePoolEnabled() { return GANTRY_FRAME_POOL != 0; }

std::size_t pooledFrameCount() {
  std::size_t n = 0;
  for (unsigned c : t_frames.count) n += c;
  return n;
}

}  // namespace gantry::dataplane

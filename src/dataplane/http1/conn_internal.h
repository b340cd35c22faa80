// Internal to the data plane: per-request scratch state (pooled per worker) and pooled upstream
// connections. Not an API.
#pragma once

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <sys/mman.h>

#include <asio/ip/tcp.hpp>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "dataplane/http1/parser.h"
#include "dataplane/upstream/resilience.h"

namespace gantry::dataplane {

// ByteBuf storage: whole pages from mmap, not heap memory. RequestCtx buffers come and go with
// the load (Worker::trimCtxPool); munmap gives their memory back to the kernel at once, where
// freed heap blocks would leave holes that keep the RSS of the idle connections around them up
// (bench/idle_conns.sh). Sanitizer builds keep the heap so that overflows are caught.
#if defined(__SANITIZE_ADDRESS__)
#define GANTRY_BUF_ON_HEAP 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GANTRY_BUF_ON_HEAP 1
#endif
#endif
#ifdef GANTRY_BUF_ON_HEAP
using BufMem = std::unique_ptr<char[]>;
inline BufMem allocBuf(size_t n) { return BufMem(new char[n]); }
#else
struct PageFree {
  size_t len = 0;
  void operator()(char* p) const {
    if (p != nullptr) ::munmap(p, len);
  }
};
using BufMem = std::unique_ptr<char[], PageFree>;
inline BufMem allocBuf(size_t n) {
  size_t len = (n + 4095) & ~size_t{4095};
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();  // as new[] would
  return BufMem(static_cast<char*>(p), PageFree{len});
}
#endif

// A byte buffer with a consumed prefix [0, start) and data [start, end).
struct ByteBuf {
  BufMem data;
  size_t cap = 0;
  size_t start = 0;
  size_t end = 0;

  char* begin() { return data.get() + start; }
  size_t size() const { return end - start; }
  bool empty() const { return start == end; }
  void clear() { start = end = 0; }
  void consume(size_t n) {
    start += n;
    if (start == end) start = end = 0;
  }
  // Moves live bytes to the front so that there is room at the end.
  void compact() {
    if (start == 0) return;
    std::memmove(data.get(), data.get() + start, end - start);
    end -= start;
    start = 0;
  }
  void allocate(size_t n) {
    data = allocBuf(n);
    cap = n;
    start = end = 0;
  }
  void grow(size_t n) {
    if (n <= cap) return;
    BufMem d = allocBuf(n);
    std::memcpy(d.get(), data.get() + start, end - start);
    end -= start;
    start = 0;
    data = std::move(d);
    cap = n;
  }
};

constexpr size_t kBufferSize = 16 * 1024;

// Everything a connection needs while it has a request in progress. Taken from the worker's pool
// when bytes arrive on an idle connection and returned when it goes idle again, so an idle
// keep-alive connection holds no buffer (docs/life-of-a-request.md, "Memory").
struct RequestCtx {
  RequestCtx() {
    in.allocate(kBufferSize);
    up.allocate(kBufferSize);
    out.reserve(1024);
    req_headers.reserve(32);
    resp_headers.reserve(32);
    iov.reserve(16);
  }
  ByteBuf in;              // bytes from the client
  ByteBuf up;              // bytes from the upstream
  std::string out;         // serialised heads / chunk framing
  std::string chunk_line;  // chunk-size line of the current forwarded piece
  std::string host;        // routing host
  std::string path;        // normalised path
  std::string scratch;
  std::vector<http1::Header> req_headers;
  std::vector<http1::Header> resp_headers;
  std::vector<asio::const_buffer> iov;      // writes of the response side
  std::vector<asio::const_buffer> req_iov;  // writes of the request-body pump
  std::string req_chunk_line;
  http1::Parser req;
  http1::Parser resp;
  upstream::Replay replay;  // the upstream request kept for retries and mirrors
  std::string resp_extra;   // field lines added to the response head (session persistence)
};

struct UpstreamConn {
  explicit UpstreamConn(asio::io_context& io) : sock(io) {}
  ~UpstreamConn() {
    if (ssl == nullptr) return;
    // close_notify (best effort), then free the SSL before the socket closes (it holds the fd).
    if (SSL_is_init_finished(ssl) == 1 && (SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN) == 0) {
      SSL_shutdown(ssl);
    }
    ERR_clear_error();
    SSL_free(ssl);
  }
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;
  // The pool key besides the endpoint: a connection made under one BackendTLSPolicy context (or
  // none) is never reused for a backend with another.
  const SSL_CTX* tlsContext() const { return ssl != nullptr ? SSL_get_SSL_CTX(ssl) : nullptr; }

  asio::ip::tcp::socket sock;
  SSL* ssl = nullptr;  // BackendTLSPolicy: TLS on sock (owned)
  asio::ip::tcp::endpoint ep;
  int64_t idle_since_ms = 0;
};

}  // namespace gantry::dataplane

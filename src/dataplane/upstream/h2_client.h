// Upstream HTTP/2 (RFC 9113) client: multiplexed connections to h2c backends (Service appProtocol
// kubernetes.io/h2c, and GRPCRoute backends) and to h2-over-TLS backends (the same with a
// BackendTLSPolicy: ir::AppProtocol::kHttp2Tls), pooled per worker and per endpoint.
//
// TLS (RFC 9113 3.2): after the TCP connect, a client handshake under the backend's
// tls::ClientContext (built with ALPN {"h2"}: the same CA / hostname / subjectAltNames
// verification and client certificate as the HTTP/1.1 BackendTLS path), within the connect
// timeout; then every byte goes through OpenSSL (tls/fd_tls.h). A handshake or verification
// failure counts as a failed connect (next endpoint) and is reported by H2Stream::tlsFailed(). A
// pooled connection is only reused for the SSL_CTX it was verified under, so a policy change
// never reuses a connection made under the old one. Sessions are resumed per worker and backend
// (tls::BackendSessions), as for HTTP/1.1.
//
// Framing, HPACK, flow control and the stream state machine are nghttp2's (a client session fed
// with nghttp2_session_mem_recv and drained with nghttp2_session_mem_send); this file adds the I/O,
// the pool and a pull-style stream API that both downstream protocols use:
//   - the HTTP/1.1 connection handler (proxy.cc, through upstream/h1_to_h2.h);
//   - the HTTP/2 server session (http2/, e.g. for GRPCRoute).
//
// Pool (per worker, per endpoint): a stream goes to the first connection that is not shutting
// down and has fewer active streams than the server's SETTINGS_MAX_CONCURRENT_STREAMS (100 until
// its SETTINGS arrive); a new connection is opened when all are full. A connection that received
// GOAWAY takes no new stream and closes once its last stream ends; its streams above the GOAWAY's
// last-stream-id (closed by nghttp2 with REFUSED_STREAM), and streams the server refused with
// RST_STREAM(REFUSED_STREAM), are sent again on another connection when none of their request
// body was sent yet (RFC 9113 8.7: such a request was not processed). A failed connect moves the
// stream to the next endpoint (3 attempts). Connections idle for upstream_idle_timeout_ms close.
//
// Flow control both ways:
//   - request body: write() copies the bytes into the stream and returns once nghttp2 has taken
//     them all (i.e. the server's window allowed it): one buffer of backpressure, never more;
//   - response body: automatic WINDOW_UPDATEs are off; a DATA payload is credited back to the
//     server only when the caller asks for the next event, i.e. after it forwarded the bytes. So a
//     slow client slows the server down instead of growing gantry's memory (at most the stream
//     window, 256 KiB, per stream).
//
// Worker thread only. Never throws.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dataplane/router/route_table.h"

namespace gantry::dataplane {
class Worker;
}

namespace gantry::dataplane::upstream {

struct H2Field {
  std::string name;  // lower-case (RFC 9113 8.2.1)
  std::string value;
};

struct H2Request {
  std::string method;
  std::string scheme = "http";
  std::string authority;
  std::string path;              // with the query
  std::vector<H2Field> headers;  // regular fields only: no pseudo-fields, no connection-specific
  bool has_body = false;         // false: END_STREAM on the HEADERS frame
};

enum class H2EventType : uint8_t {
  kHeaders,        // final response head: status + fields
  kData,           // response body bytes
  kTrailers,       // trailer fields (after the last kData)
  kEnd,            // the response is complete
  kReset,          // the stream was reset or the connection failed after the request went out
  kTimeout,        // the stream's deadline (or idle time) passed
  kConnectFailed,  // no endpoint could be connected to: nothing was sent
};

// What H2Stream::next() returns. Views and the field vector stay valid until the next call.
struct H2Event {
  H2EventType type = H2EventType::kReset;
  uint16_t status = 0;                           // kHeaders
  const std::vector<H2Field>* fields = nullptr;  // kHeaders, kTrailers
  std::string_view data;                         // kData
  uint32_t error_code = 0;                       // kReset: the HTTP/2 error code (RFC 9113 7)
};

class H2Conn;
class H2Pool;

// One request/response exchange with an h2c backend.
class H2Stream {
 public:
  ~H2Stream();  // resets the stream (CANCEL) if it is still open
  H2Stream(const H2Stream&) = delete;
  H2Stream& operator=(const H2Stream&) = delete;

  // Appends request body bytes (copied) without waiting; flush() sends them.
  void append(std::string_view data);
  // Request trailers (sent after the body; ends the request). Call before the final flush().
  void setTrailers(std::vector<H2Field> trailers);
  // Sends what append() buffered (`end`: and ends the request) and waits until nghttp2 has taken
  // every byte (the server's flow-control window allowed it). False when the stream is dead
  // (reset, connection lost, timeout): the response side (next()) tells why.
  asio::awaitable<bool> flush(bool end);
  // The next response event. Asking for the next event also says that the previous kData bytes
  // were forwarded: they are credited back to the server (WINDOW_UPDATE).
  asio::awaitable<H2Event> next();
  // Resets the stream (CANCEL); next() then returns kReset. Idempotent.
  void cancel();

  // Absolute deadline (steady clock, ms; 0 = none) for the whole exchange, and the longest wait
  // for any progress (0 = none).
  void setDeadline(int64_t deadline_ms) { deadline_ms_ = deadline_ms; }
  void setIdleTimeout(uint32_t idle_ms) { idle_ms_ = idle_ms; }
  // Right after kHeaders: the response ended with its head (HEADERS with END_STREAM, e.g. a gRPC
  // trailers-only answer).
  bool endsAfterHeaders() const { return ended_ && recv_buf_.empty() && !trailers_ready_; }
  // Whether the stream went out on a pooled connection that already carried streams.
  bool reused() const { return reused_; }
  // Index into the backend's endpoints of the endpoint the request went to (-1: none yet).
  int32_t endpointIndex() const { return endpoint_index_; }
  // After kConnectFailed: at least one endpoint was reached but its TLS handshake failed
  // (verification, protocol): callers answer 502 rather than 503, as the HTTP/1.1 path does.
  bool tlsFailed() const { return tls_failed_; }

 private:
  friend class H2Conn;
  friend class H2Pool;
  H2Stream(H2Pool& pool, const CompiledBackend& backend, uint32_t* rr, H2Request req);
  void attach();  // picks an endpoint and a connection and submits the request
  void detach();  // forgets the connection (stream closed or connection gone)
  void wake();
  struct Waiter {
    explicit Waiter(asio::io_context& io) : timer(io) {}
    asio::steady_timer timer;
    bool waiting = false;
  };
  asio::awaitable<bool> wait(Waiter& w);  // false: deadline/idle time passed
  void creditDelivered();
  bool retryable() const;

  H2Pool& pool_;
  const CompiledBackend& backend_;
  uint32_t* rr_;
  H2Request req_;
  std::shared_ptr<H2Conn> conn_;  // set while the stream is open on a connection
  // The connection the response came on: the connection-level window is credited through it
  // even after the stream closed (its DATA still waits in recv_buf_).
  std::shared_ptr<H2Conn> credit_conn_;
  int32_t id_ = -1;
  uint32_t start_endpoint_ = 0;
  int32_t preferred_endpoint_ = -1;  // H2Pool::open's `endpoint`
  int32_t endpoint_index_ = -1;
  bool picked_ = false;
  uint32_t endpoint_attempts_ = 0;
  uint32_t refused_retries_ = 0;
  bool reused_ = false;
  // Request side.
  std::string send_buf_;
  size_t send_off_ = 0;
  bool send_end_ = false;
  bool deferred_ = false;  // nghttp2's data source is waiting for append()/flush()
  bool eof_sent_ = false;  // nghttp2 took the end of the request
  uint64_t body_taken_ = 0;
  // The first bytes of the body that nghttp2 took, kept so that a refused stream (RFC 9113 8.7)
  // can be sent again; a body larger than kMaxReplay makes the stream not retryable.
  std::string replay_;
  bool replay_ok_ = true;
  std::vector<H2Field> trailers_out_;
  // Response side.
  uint16_t status_ = 0;
  bool final_headers_ = false;
  bool headers_delivered_ = false;
  std::vector<H2Field> fields_;
  std::vector<H2Field> trailers_;
  bool trailers_ready_ = false;
  bool trailers_delivered_ = false;
  // Double buffer: DATA arrives in recv_buf_ while the caller is still writing out deliver_buf_
  // (the last kData's bytes), so the view it holds never moves.
  std::string recv_buf_;
  std::string deliver_buf_;
  size_t delivered_ = 0;  // bytes handed out by the last kData, credited on the next call
  bool ended_ = false;    // END_STREAM received
  bool closed_ = false;   // nghttp2 closed the stream (or the connection is gone)
  uint32_t close_error_ = 0;
  bool conn_lost_ = false;       // the connection failed under the stream
  bool connect_failed_ = false;  // every endpoint attempt failed to connect
  bool tls_failed_ = false;      // one of them failed in its TLS handshake
  bool cancelled_ = false;
  // Waiting: the request side (flush) and the response side (next) may wait at the same time.
  Waiter send_wait_;
  Waiter recv_wait_;
  int64_t deadline_ms_ = 0;
  uint32_t idle_ms_ = 0;
};

// Per-worker pool of HTTP/2 client connections, keyed by endpoint.
class H2Pool {
 public:
  explicit H2Pool(Worker& w);
  ~H2Pool();
  H2Pool(const H2Pool&) = delete;
  H2Pool& operator=(const H2Pool&) = delete;

  // Opens a stream for `req` to one of `backend`'s endpoints (weighted round robin with the
  // caller's counter `rr`). The backend and counter must outlive the stream (the request keeps its
  // route table). The request head is submitted at once (connecting first if needed); next()
  // reports kConnectFailed when no endpoint could be reached. `endpoint` >= 0: start with that
  // endpoint index instead (session persistence, retries), without advancing `rr`.
  std::unique_ptr<H2Stream> open(const CompiledBackend& backend, uint32_t* rr, H2Request req,
                                 int32_t endpoint = -1);

  // Closes connections without streams that have been idle longer than idle_ms (all idle ones
  // when `all`: drain). Called from the worker's tick.
  void sweep(int64_t now_ms, uint32_t idle_ms, bool all);

  // Counters (tests, stats).
  uint64_t connectionsOpened() const { return opened_; }
  size_t connectionCount() const;

 private:
  friend class H2Conn;
  friend class H2Stream;
  std::shared_ptr<H2Conn> connFor(const asio::ip::tcp::endpoint& ep, const CompiledBackend& backend,
                                  bool* reused);
  void remove(H2Conn* c);

  struct EndpointHash {
    size_t operator()(const asio::ip::tcp::endpoint& e) const;
  };
  Worker& w_;
  std::unordered_map<asio::ip::tcp::endpoint, std::vector<std::shared_ptr<H2Conn>>, EndpointHash>
      conns_;
  // SETTINGS_MAX_CONCURRENT_STREAMS last announced per endpoint: new connections to it assume it
  // until their own SETTINGS arrive.
  std::unordered_map<asio::ip::tcp::endpoint, uint32_t, EndpointHash> learned_max_;
  uint64_t opened_ = 0;
};

}  // namespace gantry::dataplane::upstream

// The downstream HTTP/2 connection: nghttp2 server session, socket I/O, limits and shutdown.
// Read session.h first (ownership and threading).
#include "dataplane/http2/session.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <cstring>

#include "dataplane/http1/syntax.h"
#include "dataplane/tls/fd_tls.h"

namespace gantry::dataplane::http2 {

using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);

// RFC 9113 6.5.2 SETTINGS_MAX_CONCURRENT_STREAMS: 100 is the value the RFC recommends as the
// minimum (5.1.2) and what nginx and Envoy advertise.
constexpr uint32_t kMaxConcurrentStreams = 100;
// Stream handlers still running after nghttp2 closed their stream (client resets) count towards
// a second cap, so that resetting streams never lets a client run more than this many upstream
// requests at once (CVE-2023-44487 "rapid reset": the backend work outlives the stream).
constexpr uint32_t kMaxHandlers = 2 * kMaxConcurrentStreams;
// Per-stream receive window (the request body buffered per stream is bounded by it) and the
// connection window (RFC 9113 6.9.2: initial 65535 both).
constexpr int32_t kStreamWindow = 64 * 1024;
constexpr int32_t kConnectionWindow = 1024 * 1024;
constexpr size_t kReadBuffer = 16 * 1024;
// Stop reading from the client while this much output is queued (a client that sends PINGs or
// requests but does not read what we send: RFC 9113 10.5, resource exhaustion).
constexpr size_t kWriteHighWater = 256 * 1024;
// Client RST_STREAM budget: a token bucket, kResetBurst deep, refilled at kResetPerSecond.
// Browsers cancel a few streams when a page changes; thousands per second is an attack.
constexpr double kResetBurst = 200;
constexpr double kResetPerSecond = 50;
// After a GOAWAY on idle timeout, how long the client gets to read it before the socket closes.
constexpr uint32_t kCloseGraceMs = 2000;

constexpr ssize_t kWantRead = -1;
constexpr ssize_t kWantWrite = -2;
constexpr ssize_t kIoError = -3;

Session* sessionOf(void* user_data) { return static_cast<Session*>(user_data); }

int onBeginHeadersCb(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  return sessionOf(ud)->onBeginHeaders(frame);
}
int onHeaderCb(nghttp2_session*, const nghttp2_frame* frame, nghttp2_rcbuf* name,
               nghttp2_rcbuf* value, uint8_t, void* ud) {
  return sessionOf(ud)->onHeader(frame, name, value);
}
int onFrameRecvCb(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  return sessionOf(ud)->onFrameRecv(frame);
}
int onDataChunkCb(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data, size_t len,
                  void* ud) {
  return sessionOf(ud)->onDataChunk(stream_id, data, len);
}
int onStreamCloseCb(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* ud) {
  return sessionOf(ud)->onStreamClose(stream_id, error_code);
}
int onBeginFrameCb(nghttp2_session*, const nghttp2_frame_hd* hd, void* ud) {
  return sessionOf(ud)->onBeginFrame(hd);
}
int onFrameSendCb(nghttp2_session*, const nghttp2_frame* frame, void* ud) {
  return sessionOf(ud)->onFrameSend(frame);
}
ssize_t readDataCb(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* flags,
                   nghttp2_data_source* source, void* ud) {
  return sessionOf(ud)->readResponseData(*static_cast<Stream*>(source->ptr), buf, length, flags);
}

// Callbacks and options are the same for every session; nghttp2 copies them at session creation.
struct NgConfig {
  nghttp2_session_callbacks* callbacks = nullptr;
  nghttp2_option* option = nullptr;
  NgConfig() {
    nghttp2_session_callbacks_new(&callbacks);
    nghttp2_session_callbacks_set_on_begin_headers_callback(callbacks, onBeginHeadersCb);
    nghttp2_session_callbacks_set_on_header_callback2(callbacks, onHeaderCb);
    nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, onFrameRecvCb);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, onDataChunkCb);
    nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, onStreamCloseCb);
    nghttp2_session_callbacks_set_on_frame_send_callback(callbacks, onFrameSendCb);
    nghttp2_session_callbacks_set_on_begin_frame_callback(callbacks, onBeginFrameCb);
    nghttp2_option_new(&option);
    // Flow control follows what the upstream accepted: WINDOW_UPDATE only for forwarded bytes.
    nghttp2_option_set_no_auto_window_update(option, 1);
    // Defences nghttp2 implements (1.52.0+deb12u3 has the CVE-2023-44487 and CVE-2024-28182
    // back-ports): SETTINGS entries per frame, queued PING/SETTINGS ACKs (ping/settings flood),
    // CONTINUATION frames per header block, and its own stream-reset rate limit (kept as a
    // backstop behind ours, which answers ENHANCE_YOUR_CALM).
    nghttp2_option_set_max_settings(option, 32);
    nghttp2_option_set_max_outbound_ack(option, 1000);
    nghttp2_option_set_max_continuations(option, 8);
    nghttp2_option_set_stream_reset_rate_limit(option, 1000, 100);
  }
};
const NgConfig& ngConfig() {
  static const NgConfig config;
  return config;
}

// RAII reference on a Session for a coroutine.
struct SessionRef {
  explicit SessionRef(Session* s) : s_(s) { s_->addRef(); }
  ~SessionRef() { s_->release(); }
  SessionRef(const SessionRef&) = delete;
  SessionRef& operator=(const SessionRef&) = delete;
  Session* s_;
};

bool wouldBlock(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

std::string_view rcbufView(nghttp2_rcbuf* b) {
  nghttp2_vec v = nghttp2_rcbuf_get_buf(b);
  return {reinterpret_cast<const char*>(v.base), v.len};
}

}  // namespace

// --- Stream
// ---------------------------------------------------------------------------------------

Stream::Stream(Session& s, int32_t stream_id)
    : session(s), id(stream_id), req_event(s.worker().io()), resp_event(s.worker().io()) {
  headers.reserve(16);  // one allocation for a usual request instead of one per doubling
}

Stream::~Stream() {
  for (uint32_t i = 0; i < n_rcbufs; ++i) nghttp2_rcbuf_decref(rcbufs[i]);
  for (nghttp2_rcbuf* b : more_rcbufs) nghttp2_rcbuf_decref(b);
}

bool Stream::aborted() const { return closed || session.dead(); }

// --- Session: lifetime
// ----------------------------------------------------------------------------

void serveHttp2(Worker& w, tcp::socket socket, SslPtr ssl, std::shared_ptr<const PortKey> port,
                std::string_view preread) {
  Session::start(w, std::move(socket), std::move(ssl), std::move(port), preread);
}

Session::Session(Worker& w, tcp::socket socket, SslPtr ssl, std::shared_ptr<const PortKey> port)
    : w_(w),
      sock_(std::move(socket)),
      ssl_(std::move(ssl)),
      port_(std::move(port)),
      write_event_(w.io()),
      read_resume_(w.io()),
      reset_tokens_(kResetBurst) {
  entry_.down = &sock_;
  // "idle" lets the worker's drain cancel our socket: the reader takes that as the signal to send
  // GOAWAY (graceful shutdown) instead of closing, see reader().
  entry_.idle = true;
  w_.registerConn(&entry_);
  asio::error_code ec;
  if (!sock_.non_blocking()) {
    // A connection handed over by the HTTP/1 code (h2c preface, TLS with ALPN h2) is set up
    // already (non-blocking, TCP_NODELAY): two system calls per connection saved.
    sock_.non_blocking(true, ec);
    sock_.set_option(tcp::no_delay(true), ec);  // fails harmlessly on a socketpair
  }
  peer_ = sock_.remote_endpoint(ec);
  // Formatted here, once, rather than for every request's X-Forwarded-For (inet_ntop formats
  // through sprintf: ~1,700 instructions).
  const sockaddr* sa = peer_.data();
  const void* addr =
      sa->sa_family == AF_INET
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr)
      : sa->sa_family == AF_INET6
          ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr)
          : nullptr;
  if (addr == nullptr || inet_ntop(sa->sa_family, addr, peer_ip_, sizeof peer_ip_) == nullptr) {
    std::memcpy(peer_ip_, "unknown", 7);
    peer_ip_len_ = 7;
  } else {
    peer_ip_len_ = static_cast<uint8_t>(std::strlen(peer_ip_));
  }
  reset_refill_ms_ = w_.nowMs();
}

Session::~Session() {
  while (streams_ != nullptr) {
    Stream* s = streams_;
    streams_ = s->next;
    delete s;
  }
  if (ng_ != nullptr) nghttp2_session_del(ng_);
  if (ssl_) {
    tls::shutdownFd(ssl_.get());
    ssl_.reset();  // before the socket closes: the SSL holds the fd number
  }
  // Orderly close: FIN first, then discard what the peer already sent (e.g. a PING right behind
  // its GOAWAY), so that closing with unread input does not turn into a TCP RST that could
  // destroy our last frames before the client reads them (RFC 9113 6.8; RFC 9112 9.6 for the
  // same problem in HTTP/1.1).
  asio::error_code ec;
  sock_.shutdown(tcp::socket::shutdown_send, ec);
  char sink[4096];
  for (int i = 0; i < 64; ++i) {
    size_t n = sock_.read_some(asio::buffer(sink), ec);
    if (ec || n == 0) break;
  }
  sock_.close(ec);
  w_.unregisterConn(&entry_);
}

void Session::start(Worker& w, tcp::socket socket, SslPtr ssl, std::shared_ptr<const PortKey> port,
                    std::string_view preread) {
  auto* s = new Session(w, std::move(socket), std::move(ssl), std::move(port));
  s->addRef();  // held until both coroutines are spawned
  if (s->init(preread)) {
    asio::co_spawn(w.io(), s->reader(), asio::detached);
    asio::co_spawn(w.io(), s->writer(), asio::detached);
    s->startReadyStreams();  // requests that came with the pre-read bytes
  }
  s->release();
}

bool Session::init(std::string_view preread) {
  const NgConfig& cfg = ngConfig();
  if (nghttp2_session_server_new2(&ng_, cfg.callbacks, this, cfg.option) != 0) {
    ng_ = nullptr;
    return false;
  }
  const Options& o = w_.options();
  // RFC 9113 6.5.2. SETTINGS_MAX_HEADER_LIST_SIZE is advisory for the client; we enforce the
  // same limit when headers arrive (onHeader) and answer 431 (RFC 6585 section 5).
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, kMaxConcurrentStreams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, static_cast<uint32_t>(kStreamWindow)},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_request_header_bytes},
  };
  if (nghttp2_submit_settings(ng_, NGHTTP2_FLAG_NONE, iv, std::size(iv)) != 0) return false;
  nghttp2_session_set_local_window_size(ng_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
  entry_.deadline_ms = o.header_timeout_ms == 0 ? 0 : w_.nowMs() + o.header_timeout_ms;
  if (!preread.empty()) {
    ssize_t rv = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(preread.data()),
                                          preread.size());
    if (rv < 0) {
      // Not even the preface was right: nothing to answer on a connection that is not HTTP/2.
      return false;
    }
  }
  if (w_.draining()) gracefulShutdown();
  return true;
}

void Session::release() {
  if (--refs_ == 0) delete this;
}

void Session::kill() {
  if (dead_) return;
  dead_ = true;
  asio::error_code ec;
  sock_.cancel(ec);
  write_event_.notify();
  read_resume_.notify();
  for (Stream* s = streams_; s != nullptr; s = s->next) {
    s->req_event.notify();
    s->resp_event.notify();
  }
}

void Session::gracefulShutdown() {
  if (goaway_sent_ || dead_) return;
  goaway_sent_ = true;
  // RFC 9113 6.8: streams up to the last one we processed complete; later ones are refused.
  nghttp2_submit_goaway(ng_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(ng_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
  wakeWriter();
}

// Connection deadline (swept by the worker): the header timeout until the first request, the
// idle timeout while no request is in progress, none while handlers run (each has its own).
void Session::updateDeadline() {
  if (dead_) return;
  if (active_handlers_ > 0) {
    entry_.deadline_ms = 0;
    return;
  }
  uint32_t ms = w_.options().idle_timeout_ms;
  entry_.timed_out = false;
  entry_.deadline_ms = ms == 0 ? 0 : w_.nowMs() + ms;
}

void Session::releaseStream(Stream* s, bool handler) {
  if (handler) {
    s->handler_ref = false;
  } else {
    s->nghttp2_ref = false;
  }
  if (s->nghttp2_ref || s->handler_ref) return;
  // Received body bytes that nobody consumed still count against the connection window.
  if (s->unconsumed > 0 && !dead_) {
    nghttp2_session_consume_connection(ng_, s->unconsumed);
    wakeWriter();
  }
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    streams_ = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  delete s;
}

// --- Session: I/O
// ---------------------------------------------------------------------------------

// The reader's wait on the socket ended (readiness, data, or a cancel by the worker's sweep or
// drain): false when the reader must stop.
bool Session::afterWait(bool cancelled) {
  if (dead_) return false;
  if (entry_.killed) {
    kill();  // drain deadline passed
    return false;
  }
  if (entry_.timed_out) {
    if (goaway_sent_) {
      kill();  // the grace period after our GOAWAY is over
      return false;
    }
    // Idle (or header) timeout with no request in progress: say goodbye properly.
    gracefulShutdown();
    entry_.timed_out = false;
    entry_.deadline_ms = w_.nowMs() + kCloseGraceMs;
    return true;
  }
  if (cancelled && w_.draining()) gracefulShutdown();  // the drain cancelled our wait
  return true;
}

awaitable<void> Session::reader() {
  SessionRef ref(this);
  std::unique_ptr<char[]> buf(new char[kReadBuffer]);
  while (!dead_) {
    if (wbuf_.size() - wbuf_off_ > kWriteHighWater) {
      // The client is not reading what we send: stop reading what it sends.
      co_await read_resume_.wait(0);
      continue;
    }
    ssize_t r;
    if (ssl_) {
      tls::IoResult io = tls::tryRead(ssl_.get(), buf.get(), kReadBuffer);
      r = io.n > 0                         ? static_cast<ssize_t>(io.n)
          : io.want == tls::IoWant::kRead  ? kWantRead
          : io.want == tls::IoWant::kWrite ? kWantWrite
          : io.closed                      ? 0
                                           : kIoError;
      if (r == kWantRead || r == kWantWrite) {
        // OpenSSL reads from the socket itself: wait for readiness, then try again.
        auto [ec] = co_await sock_.async_wait(
            r == kWantRead ? tcp::socket::wait_read : tcp::socket::wait_write, kNoThrow);
        if (!afterWait(static_cast<bool>(ec))) break;
        continue;
      }
    } else {
      // Cleartext: asio's read operation rather than try-read + async_wait. async_wait re-arms
      // the socket with epoll_ctl(EPOLL_CTL_MOD) each time; a read operation queues on the
      // existing edge-triggered registration, and asio skips its speculative read after one
      // that drained the socket: one recv per wake-up instead of two plus an epoll_ctl
      // (bench/README.md "HTTP/2").
      auto [ec, n] = co_await sock_.async_read_some(asio::buffer(buf.get(), kReadBuffer), kNoThrow);
      if (ec == asio::error::operation_aborted || wouldBlock(ec)) {
        if (!afterWait(true)) break;
        continue;
      }
      if (!afterWait(false)) break;
      r = !ec ? static_cast<ssize_t>(n) : ec == asio::error::eof ? 0 : kIoError;
    }
    if (r <= 0) {
      // EOF or a broken connection: nothing more can be sent either.
      kill();
      break;
    }
    ssize_t rv = nghttp2_session_mem_recv(ng_, reinterpret_cast<const uint8_t*>(buf.get()), r);
    startReadyStreams();
    if (rv < 0) {
      // Fatal for the session (bad preface, flood, callback failure). nghttp2 has queued a GOAWAY
      // where the protocol calls for one; let the writer flush it, then close.
      spdlog::debug("http2: closing connection: {}", nghttp2_strerror(static_cast<int>(rv)));
      nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
      wakeWriter();
      break;
    }
    wakeWriter();
    if (nghttp2_session_want_read(ng_) == 0) break;
  }
}

awaitable<void> Session::writer() {
  SessionRef ref(this);
  while (!dead_) {
    // Serialize what nghttp2 has queued (frames, DATA from the providers) into wbuf_.
    while (wbuf_.size() - wbuf_off_ < kWriteHighWater) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(ng_, &data);
      if (n < 0) {
        spdlog::debug("http2: send failed: {}", nghttp2_strerror(static_cast<int>(n)));
        kill();
        co_return;
      }
      if (n == 0) break;
      if (wbuf_off_ == wbuf_.size()) {
        wbuf_.clear();
        wbuf_off_ = 0;
      } else if (wbuf_off_ > wbuf_.size() / 2) {
        wbuf_.erase(0, wbuf_off_);
        wbuf_off_ = 0;
      }
      wbuf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    size_t pending = wbuf_.size() - wbuf_off_;
    if (pending == 0) {
      if (nghttp2_session_want_read(ng_) == 0 && nghttp2_session_want_write(ng_) == 0) {
        // The conversation is over (GOAWAY exchanged, no stream left): close.
        kill();
        co_return;
      }
      co_await write_event_.wait(0);
      continue;
    }
    ssize_t r;
    const char* p = wbuf_.data() + wbuf_off_;
    if (ssl_) {
      tls::IoResult io = tls::tryWrite(ssl_.get(), p, pending);
      r = io.n > 0                         ? static_cast<ssize_t>(io.n)
          : io.want == tls::IoWant::kRead  ? kWantRead
          : io.want == tls::IoWant::kWrite ? kWantWrite
                                           : kIoError;
    } else {
      asio::error_code ec;
      size_t n = sock_.write_some(asio::buffer(p, pending), ec);
      r = !ec ? static_cast<ssize_t>(n) : wouldBlock(ec) ? kWantWrite : kIoError;
    }
    if (r > 0) {
      wbuf_off_ += static_cast<size_t>(r);
      if (wbuf_off_ == wbuf_.size()) {
        wbuf_.clear();
        wbuf_off_ = 0;
      }
      if (wbuf_.size() - wbuf_off_ <= kWriteHighWater / 2) read_resume_.notify();
      continue;
    }
    if (r == kIoError) {
      kill();
      co_return;
    }
    auto [ec] = co_await sock_.async_wait(
        r == kWantRead ? tcp::socket::wait_read : tcp::socket::wait_write, kNoThrow);
    if (dead_) co_return;
    if (ec && (entry_.killed || (entry_.timed_out && goaway_sent_))) {
      kill();  // the client does not read, and its time is up
      co_return;
    }
  }
}

// --- Session: nghttp2 callbacks
// -------------------------------------------------------------------

int Session::onBeginFrame(const nghttp2_frame_hd* hd) {
  // RFC 9113 5.1.1: a client's new stream id must be larger than every one it used before; a
  // HEADERS frame on an older stream that is gone is a connection error (PROTOCOL_ERROR).
  // nghttp2 deliberately ignores such frames, because a client may still send trailers on a
  // stream the server has reset without knowing it yet: the streams we reset are remembered,
  // and HEADERS on those stay ignored.
  if (hd->type != NGHTTP2_HEADERS || (hd->stream_id & 1) == 0) return 0;
  if (hd->stream_id > nghttp2_session_get_last_proc_stream_id(ng_)) return 0;
  nghttp2_stream* st = nghttp2_session_find_stream(ng_, hd->stream_id);
  if (st != nullptr && nghttp2_stream_get_state(st) != NGHTTP2_STREAM_STATE_CLOSED) return 0;
  if (std::find(reset_by_us_.begin(), reset_by_us_.end(), hd->stream_id) != reset_by_us_.end()) {
    return 0;
  }
  nghttp2_session_terminate_session(ng_, NGHTTP2_PROTOCOL_ERROR);
  return 0;
}

int Session::onBeginHeaders(const nghttp2_frame* frame) {
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  if (active_handlers_ >= kMaxHandlers) {
    // Too many handlers still running for streams the client already closed (rapid reset):
    // RFC 9113 8.7, REFUSED_STREAM says "not processed, safe to retry".
    nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_REFUSED_STREAM);
    return 0;
  }
  auto* s = new Stream(*this, frame->hd.stream_id);
  s->next = streams_;
  if (streams_ != nullptr) streams_->prev = s;
  streams_ = s;
  nghttp2_session_set_stream_user_data(ng_, frame->hd.stream_id, s);
  return 0;
}

int Session::onHeader(const nghttp2_frame* frame, nghttp2_rcbuf* name, nghttp2_rcbuf* value) {
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, frame->hd.stream_id));
  if (s == nullptr) return 0;
  std::string_view n = rcbufView(name);
  std::string_view v = rcbufView(value);
  const Options& o = w_.options();
  // RFC 9113 6.5.2: the size of a field is its name and value lengths plus 32.
  s->header_bytes += static_cast<uint32_t>(n.size() + v.size() + 32);
  size_t count = s->headers.size() + s->trailers.size();
  if (s->header_bytes > o.max_request_header_bytes || count >= o.max_request_headers) {
    s->too_large = true;
    return 0;  // stop storing; the handler answers 431
  }
  if (s->too_large) return 0;
  s->keep(name);
  s->keep(value);
  if (frame->headers.cat != NGHTTP2_HCAT_REQUEST) {
    // A trailer section (RFC 9113 8.1): nghttp2 has checked that it has no pseudo-headers.
    s->trailers.push_back({n, v});
    return 0;
  }
  if (!n.empty() && n[0] == ':') {
    // nghttp2 (HTTP messaging on) has validated the pseudo-header set: known names, no
    // duplicates, all before regular fields (RFC 9113 8.3).
    if (n == ":method") {
      s->method = v;
    } else if (n == ":scheme") {
      s->scheme = v;
    } else if (n == ":authority") {
      if (!s->authority.empty() && s->authority != v) s->bad_host = true;
      s->authority = v;
    } else if (n == ":path") {
      s->path = v;
    }
    return 0;
  }
  if (n == "host") {
    // RFC 9113 8.3.1: :authority wins; a Host that differs from it makes the request malformed.
    if (!s->authority.empty() && !http1::iequals(s->authority, v)) s->bad_host = true;
    if (s->authority.empty()) s->authority = v;
    return 0;
  }
  if (n == "content-length") {
    // nghttp2 has parsed and checked it (and checks the DATA length against it).
    uint64_t cl = 0;
    for (char c : v) cl = cl * 10 + static_cast<uint64_t>(c - '0');
    s->has_content_length = true;
    s->content_length = cl;
  }
  s->headers.push_back({n, v});
  return 0;
}

int Session::onFrameRecv(const nghttp2_frame* frame) {
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      auto* s =
          static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, frame->hd.stream_id));
      if (s == nullptr) return 0;
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) {
        s->body_end = true;
        s->req_event.notify();
      }
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST && !s->headers_done) {
        s->headers_done = true;
        s->handler_ref = true;  // from now on, even if the stream closes before it starts
        ready_.push_back(s);
      }
      return 0;
    }
    case NGHTTP2_DATA: {
      if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) return 0;
      auto* s =
          static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, frame->hd.stream_id));
      if (s != nullptr) {
        s->body_end = true;
        s->req_event.notify();
      }
      return 0;
    }
    case NGHTTP2_RST_STREAM:
      noteClientReset();
      return 0;
    default:
      return 0;
  }
}

void Session::noteClientReset() {
  int64_t now = w_.nowMs();
  reset_tokens_ =
      std::min(kResetBurst, reset_tokens_ + static_cast<double>(now - reset_refill_ms_) *
                                                kResetPerSecond / 1000.0);
  reset_refill_ms_ = now;
  reset_tokens_ -= 1;
  if (reset_tokens_ < 0 && !goaway_sent_) {
    // CVE-2023-44487: a client resetting streams faster than any real client does.
    spdlog::info("http2: client {} resets streams too fast: GOAWAY ENHANCE_YOUR_CALM",
                 peer_.address().to_string());
    goaway_sent_ = true;
    nghttp2_session_terminate_session(ng_, NGHTTP2_ENHANCE_YOUR_CALM);
  }
}

int Session::onDataChunk(int32_t stream_id, const uint8_t* data, size_t len) {
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  if (s == nullptr) {
    nghttp2_session_consume(ng_, stream_id, len);
    return 0;
  }
  if (s->discard_body) {
    nghttp2_session_consume(ng_, stream_id, len);
    return 0;
  }
  if (s->body_off == s->body.size()) {
    s->body.clear();
    s->body_off = 0;
  }
  s->body.append(reinterpret_cast<const char*>(data), len);
  s->unconsumed += len;
  s->req_event.notify();
  return 0;
}

int Session::onStreamClose(int32_t stream_id, uint32_t error_code) {
  auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, stream_id));
  if (s == nullptr) return 0;
  nghttp2_session_set_stream_user_data(ng_, stream_id, nullptr);
  s->closed = true;
  s->close_error = error_code;
  s->req_event.notify();
  s->resp_event.notify();
  releaseStream(s, /*handler=*/false);
  return 0;
}

int Session::onFrameSend(const nghttp2_frame* frame) {
  if (frame->hd.type == NGHTTP2_RST_STREAM) {
    reset_by_us_[reset_pos_++ % reset_by_us_.size()] = frame->hd.stream_id;
    return 0;
  }
  // RFC 9113 8.1: a server that completes its response before the request body ended MAY ask
  // the client to stop sending it with RST_STREAM(NO_ERROR) -- only once it is told (discard).
  if ((frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
    auto* s = static_cast<Stream*>(nghttp2_session_get_stream_user_data(ng_, frame->hd.stream_id));
    if (s != nullptr && !s->body_end && s->discard_body) {
      nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, frame->hd.stream_id, NGHTTP2_NO_ERROR);
    }
  }
  return 0;
}

// --- Session: stream handlers
// ---------------------------------------------------------------------

void Session::startReadyStreams() {
  // Handlers start outside nghttp2 callbacks (they call back into the session).
  std::vector<Stream*> ready;
  ready.swap(ready_);
  for (Stream* s : ready) {
    if (dead_) {
      releaseStream(s, /*handler=*/true);
      continue;
    }
    ++active_handlers_;
    updateDeadline();
    asio::co_spawn(w_.io(), runStream(this, s), asio::detached);
  }
}

awaitable<void> Session::runStream(Session* self, Stream* s) {
  SessionRef ref(self);
  ++self->w_.stats().requests;
  co_await handleStream(*self, *s);
  if (!self->dead_) {
    // Whatever of the request body the handler did not take is not wanted any more.
    self->discardBody(*s);
  }
  --self->active_handlers_;
  self->releaseStream(s, /*handler=*/true);
  self->updateDeadline();
  if (!self->dead_ && self->goaway_sent_) self->wakeWriter();  // may be the last stream
}

size_t Session::takeBody(Stream& s, std::string& out, size_t max) {
  size_t n = std::min(max, s.bodyAvailable());
  out.append(s.body, s.body_off, n);
  s.body_off += n;
  if (s.body_off == s.body.size()) {
    s.body.clear();
    s.body_off = 0;
  }
  return n;
}

void Session::consume(Stream& s, size_t n) {
  n = std::min<uint64_t>(n, s.unconsumed);
  if (n == 0 || dead_) return;
  s.unconsumed -= n;
  nghttp2_session_consume(ng_, s.id, n);
  wakeWriter();
}

void Session::discardBody(Stream& s) {
  if (s.discard_body) return;
  s.discard_body = true;
  s.body.clear();
  s.body_off = 0;
  if (s.unconsumed > 0 && !dead_) {
    nghttp2_session_consume(ng_, s.id, s.unconsumed);
    s.unconsumed = 0;
    wakeWriter();
  }
}

namespace {

void appendStatus(std::string& out, unsigned status) {
  out.clear();
  out.push_back(static_cast<char>('0' + status / 100 % 10));
  out.push_back(static_cast<char>('0' + status / 10 % 10));
  out.push_back(static_cast<char>('0' + status % 10));
}

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  // nghttp2 copies names and values at submission (no NO_COPY flags).
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

bool Session::submitResponse(Stream& s, unsigned status, const std::vector<Field>& fields,
                             bool has_body) {
  if (s.aborted() || s.response_submitted) return false;
  std::string st;
  appendStatus(st, status);
  // The field array lives on the stack for a usual response (nghttp2 copies it at submission).
  std::array<nghttp2_nv, 32> inline_nva;
  std::vector<nghttp2_nv> heap_nva;
  nghttp2_nv* nva = inline_nva.data();
  if (fields.size() + 1 > inline_nva.size()) {
    heap_nva.resize(fields.size() + 1);
    nva = heap_nva.data();
  }
  size_t n = 0;
  nva[n++] = makeNv(":status", st);
  for (const Field& f : fields) nva[n++] = makeNv(f.name, f.value);
  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = readDataCb;
  int rv = nghttp2_submit_response(ng_, s.id, nva, n, has_body ? &provider : nullptr);
  if (rv != 0) return false;
  s.response_submitted = true;
  if (!has_body) s.resp_end = true;
  wakeWriter();
  return true;
}

bool Session::submitInterim(Stream& s, unsigned status, const std::vector<Field>& fields) {
  if (s.aborted() || s.response_submitted) return false;
  std::string st;
  appendStatus(st, status);
  std::vector<nghttp2_nv> nva;
  nva.push_back(makeNv(":status", st));
  for (const Field& f : fields) nva.push_back(makeNv(f.name, f.value));
  if (nghttp2_submit_headers(ng_, NGHTTP2_FLAG_NONE, s.id, nullptr, nva.data(), nva.size(),
                             nullptr) < 0) {
    return false;
  }
  wakeWriter();
  return true;
}

void Session::appendBody(Stream& s, std::string_view data) {
  if (s.aborted() || data.empty()) return;
  if (s.resp_off == s.resp_data.size()) {
    s.resp_data.clear();
    s.resp_off = 0;
  }
  s.resp_data.append(data);
  if (s.deferred) {
    s.deferred = false;
    nghttp2_session_resume_data(ng_, s.id);
  }
  wakeWriter();
}

void Session::endBody(Stream& s, std::vector<std::string> trailers) {
  if (s.aborted() || s.resp_end) return;
  s.resp_end = true;
  s.resp_trailers = std::move(trailers);
  if (s.deferred) {
    s.deferred = false;
    nghttp2_session_resume_data(ng_, s.id);
  }
  wakeWriter();
}

ssize_t Session::readResponseData(Stream& s, uint8_t* buf, size_t length, uint32_t* flags) {
  size_t avail = s.resp_data.size() - s.resp_off;
  size_t n = std::min(avail, length);
  if (n > 0) {
    std::memcpy(buf, s.resp_data.data() + s.resp_off, n);
    s.resp_off += n;
    if (s.resp_off == s.resp_data.size()) {
      s.resp_data.clear();
      s.resp_off = 0;
    }
    s.resp_event.notify();
  }
  if (s.resp_off == s.resp_data.size()) {
    if (s.resp_end) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!s.resp_trailers.empty()) {
        std::vector<nghttp2_nv> nva;
        for (size_t i = 0; i + 1 < s.resp_trailers.size(); i += 2) {
          nva.push_back(makeNv(s.resp_trailers[i], s.resp_trailers[i + 1]));
        }
        if (nghttp2_submit_trailer(ng_, s.id, nva.data(), nva.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
    } else if (n == 0) {
      s.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

bool Session::respondLocal(Stream& s, unsigned status, std::string_view body,
                           const std::vector<Field>& extra) {
  // RFC 9110 8.6 / 15.3.5: no content in 204 and 304, nor in any response to HEAD.
  bool no_body = status == 204 || status == 304 || (status >= 100 && status < 200);
  bool head = s.method == "HEAD";
  std::string len = std::to_string(body.size());
  std::vector<Field> fields;
  if (!no_body) {
    fields.push_back({"content-type", "text/plain"});
    fields.push_back({"content-length", len});
  }
  fields.insert(fields.end(), extra.begin(), extra.end());
  bool send_body = !no_body && !head && !body.empty();
  if (!submitResponse(s, status, fields, send_body)) return false;
  if (send_body) {
    appendBody(s, body);
    endBody(s);
  }
  return true;
}

void Session::resetStream(Stream& s, uint32_t error) {
  if (s.aborted()) return;
  nghttp2_submit_rst_stream(ng_, NGHTTP2_FLAG_NONE, s.id, error);
  wakeWriter();
}

}  // namespace gantry::dataplane::http2

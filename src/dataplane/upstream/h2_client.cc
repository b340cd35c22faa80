// Upstream HTTP/2 client: see h2_client.h for the design (pool, GOAWAY, flow control).
#include "dataplane/upstream/h2_client.h"
#include "dataplane/clock.h"

#include <nghttp2/nghttp2.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <cstring>

#include "dataplane/tls/backend_sessions.h"
#include "dataplane/tls/client_context.h"
#include "dataplane/tls/fd_tls.h"
#include "dataplane/worker.h"

namespace gantry::dataplane::upstream {

using asio::awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
// Our receive windows: per stream, what one response may have buffered in gantry at most; per
// connection, enough for many streams to make progress at once.
constexpr int32_t kStreamWindow = 256 * 1024;
constexpr int32_t kConnectionWindow = 16 * 1024 * 1024;
// Assumed SETTINGS_MAX_CONCURRENT_STREAMS until the server's SETTINGS arrive (RFC 9113 6.5.2
// says unlimited, but a limit the server has not announced yet is better guessed low).
constexpr uint32_t kInitialMaxStreams = 100;
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kWriteBatch = 64 * 1024;
constexpr uint32_t kMaxEndpointAttempts = 3;
constexpr uint32_t kMaxRefusedRetries = 3;
constexpr size_t kMaxReplay = 64 * 1024;

nghttp2_nv makeNv(std::string_view name, std::string_view value) {
  nghttp2_nv nv;
  nv.name = reinterpret_cast<uint8_t*>(const_cast<char*>(name.data()));
  nv.namelen = name.size();
  nv.value = reinterpret_cast<uint8_t*>(const_cast<char*>(value.data()));
  nv.valuelen = value.size();
  nv.flags = NGHTTP2_NV_FLAG_NONE;
  return nv;
}

}  // namespace

// One HTTP/2 client connection: a socket, an nghttp2 client session, a reader coroutine and a
// writer coroutine (both hold a shared_ptr to the connection).
class H2Conn : public std::enable_shared_from_this<H2Conn> {
 public:
  enum class State : uint8_t { kConnecting, kReady, kDead };

  H2Conn(H2Pool* pool, asio::io_context& io, tcp::endpoint ep)
      : pool_(pool), io_(io), sock_(io), ep_(ep), wtimer_(io), ctimer_(io) {}
  ~H2Conn() {
    if (session_ != nullptr) nghttp2_session_del(session_);
    // Before the socket (a member, destroyed after this body): the SSL only holds its fd number.
    if (ssl_ != nullptr) SSL_free(ssl_);
  }
  H2Conn(const H2Conn&) = delete;
  H2Conn& operator=(const H2Conn&) = delete;

  bool init();
  void start(uint32_t connect_timeout_ms);
  bool submit(H2Stream* s);
  void kick() {
    if (writer_waiting_) wtimer_.cancel();
  }
  void fail();
  void shutdown() {
    // Graceful close of an idle connection: GOAWAY, then the writer closes the socket.
    if (state_ == State::kReady) {
      goaway_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      kick();
    } else {
      fail();
    }
  }
  // The streams of a connection are looked up here rather than through nghttp2's stream user
  // data, so that a stream that gave up (cancel) is forgotten at once, even one whose HEADERS
  // nghttp2 has not sent yet.
  H2Stream* find(int32_t id) const {
    for (H2Stream* s : streams_) {
      if (s->id_ == id) return s;
    }
    return nullptr;
  }
  bool acceptsStreams() const {
    if (state_ == State::kDead || goaway_) return false;
    uint32_t max = settings_seen_ ? nghttp2_session_get_remote_settings(
                                        session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS)
                                  : assumed_max_;
    return streams_.size() < max;
  }

  H2Pool* pool_;
  asio::io_context& io_;
  tcp::socket sock_;
  tcp::endpoint ep_;
  nghttp2_session* session_ = nullptr;
  State state_ = State::kConnecting;
  bool goaway_ = false;  // received or sent: no new streams
  // Until the server's SETTINGS arrive, the limit its other connections announced (else 100).
  bool settings_seen_ = false;
  uint32_t assumed_max_ = kInitialMaxStreams;
  std::vector<H2Stream*> streams_;
  uint32_t streams_served_ = 0;
  int64_t idle_since_ms_ = 0;
  asio::steady_timer wtimer_;  // the writer waits on it; kick() cancels it
  bool writer_waiting_ = false;
  asio::steady_timer ctimer_;  // connect timeout
  std::string wbuf_;
  // h2 over TLS (kHttp2Tls): the backend's client context, set before start(); the SSL exists
  // once the TCP connection is up. The session slot belongs to the worker (tls::BackendSessions).
  std::shared_ptr<const tls::ClientContext> tls_;
  tls::ClientSessionSlot* slot_ = nullptr;
  std::string backend_name_;  // for logs
  SSL* ssl_ = nullptr;
  bool tls_failed_ = false;  // the handshake (not the TCP connect) failed

 private:
  static awaitable<void> run(std::shared_ptr<H2Conn> self, uint32_t connect_timeout_ms);
  static awaitable<void> writer(std::shared_ptr<H2Conn> self);
  static awaitable<bool> handshake(H2Conn& c);
  // Plain or TLS I/O on the connected socket: bytes moved (> 0), 0 on EOF, -1 on error; waits
  // for readiness itself.
  static awaitable<ssize_t> readSome(H2Conn& c, uint8_t* buf, size_t n);
  static awaitable<bool> writeAll(H2Conn& c);

  static int onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                      size_t namelen, const uint8_t* value, size_t valuelen, uint8_t flags,
                      void* user);
  static int onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user);
  static int onDataChunk(nghttp2_session* session, uint8_t flags, int32_t stream_id,
                         const uint8_t* data, size_t len, void* user);
  static int onStreamClose(nghttp2_session* session, int32_t stream_id, uint32_t error_code,
                           void* user);

 public:
  static ssize_t readBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                          uint32_t* data_flags, nghttp2_data_source* source, void* user);
};

bool H2Conn::init() {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0) return false;
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose);
  nghttp2_option* opt = nullptr;
  if (nghttp2_option_new(&opt) != 0) {
    nghttp2_session_callbacks_del(cbs);
    return false;
  }
  // Response bodies are credited back only once forwarded (see h2_client.h).
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_option_set_peer_max_concurrent_streams(opt, kInitialMaxStreams);
  int rv = nghttp2_session_client_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0) {
    session_ = nullptr;
    return false;
  }
  // RFC 9113 3.4: the client preface's SETTINGS. No server push.
  nghttp2_settings_entry iv[] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
                                 {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow}};
  if (nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, iv, 2) != 0) return false;
  if (nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) != 0)
    return false;
  return true;
}

void H2Conn::start(uint32_t connect_timeout_ms) {
  asio::co_spawn(io_, run(shared_from_this(), connect_timeout_ms), asio::detached);
}

awaitable<void> H2Conn::run(std::shared_ptr<H2Conn> self, uint32_t connect_timeout_ms) {
  H2Conn& c = *self;
  asio::error_code ec;
  c.sock_.open(c.ep_.protocol(), ec);
  if (!ec) {
    std::weak_ptr<H2Conn> weak = self;
    c.ctimer_.expires_after(std::chrono::milliseconds(connect_timeout_ms));
    c.ctimer_.async_wait([weak](const asio::error_code& tec) {
      auto conn = weak.lock();
      if (tec || !conn || conn->state_ != State::kConnecting) return;
      asio::error_code ignore;
      conn->sock_.cancel(ignore);
    });
    auto [cec] = co_await c.sock_.async_connect(c.ep_, kNoThrow);
    if (!c.tls_ || cec) c.ctimer_.cancel();  // with TLS it also bounds the handshake
    ec = cec;
  }
  if (ec || c.state_ != State::kConnecting) {
    c.ctimer_.cancel();
    spdlog::debug("h2 upstream connect to {}:{} failed: {}", c.ep_.address().to_string(),
                  c.ep_.port(), ec.message());
    c.fail();
    co_return;
  }
  c.sock_.set_option(tcp::no_delay(true), ec);
  if (c.tls_ && !co_await handshake(c)) {
    c.fail();
    co_return;
  }
  c.state_ = State::kReady;
  c.idle_since_ms_ = steadyMs();
  asio::co_spawn(c.io_, writer(self), asio::detached);

  std::unique_ptr<uint8_t[]> buf(new uint8_t[kReadChunk]);
  while (c.state_ == State::kReady) {
    ssize_t n = co_await readSome(c, buf.get(), kReadChunk);
    if (c.state_ != State::kReady) break;
    if (n <= 0) {
      c.fail();
      break;
    }
    ssize_t rv = nghttp2_session_mem_recv(c.session_, buf.get(), static_cast<size_t>(n));
    if (rv < 0) {
      spdlog::debug("h2 upstream {}:{}: {}", c.ep_.address().to_string(), c.ep_.port(),
                    nghttp2_strerror(static_cast<int>(rv)));
      c.fail();
      break;
    }
    c.kick();  // SETTINGS ACK, WINDOW_UPDATE, PING ACK, and whatever the callbacks queued
  }
}

awaitable<void> H2Conn::writer(std::shared_ptr<H2Conn> self) {
  H2Conn& c = *self;
  while (c.state_ == State::kReady) {
    while (c.wbuf_.size() < kWriteBatch) {
      const uint8_t* data = nullptr;
      ssize_t n = nghttp2_session_mem_send(c.session_, &data);
      if (n < 0) {
        c.fail();
        co_return;
      }
      if (n == 0) break;
      c.wbuf_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    if (c.wbuf_.empty()) {
      if ((c.goaway_ && c.streams_.empty()) ||
          (!nghttp2_session_want_read(c.session_) && !nghttp2_session_want_write(c.session_))) {
        // GOAWAY and no stream left (RFC 9113 6.8): done with this connection.
        c.fail();
        co_return;
      }
      c.writer_waiting_ = true;
      c.wtimer_.expires_at(asio::steady_timer::time_point::max());
      auto wr = co_await c.wtimer_.async_wait(kNoThrow);
      (void)wr;  // cancelled by kick(): there is something to send
      c.writer_waiting_ = false;
      continue;
    }
    if (!co_await writeAll(c)) {
      c.fail();
      co_return;
    }
    c.wbuf_.clear();
  }
}

awaitable<bool> H2Conn::handshake(H2Conn& c) {
  // The connect timer is still armed: the handshake is part of the connect timeout.
  c.ssl_ = c.tls_->newSsl(c.slot_);
  if (c.ssl_ == nullptr || !tls::attachFd(c.ssl_, c.sock_)) co_return false;
  asio::error_code ec = co_await tls::handshakeFd(c.ssl_, c.sock_);
  c.ctimer_.cancel();
  if (c.state_ != State::kConnecting) co_return false;
  if (ec) {
    // Verification failures (CA, hostname, subjectAltNames) say why; a timeout is a timeout.
    const long verify = SSL_get_verify_result(c.ssl_);
    SSL_set_quiet_shutdown(c.ssl_, 1);
    c.tls_failed_ = ec != asio::error::operation_aborted;
    spdlog::warn("backend {} at {}:{}: TLS handshake failed: {}", c.backend_name_,
                 c.ep_.address().to_string(), c.ep_.port(),
                 verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                 : c.tls_failed_     ? "handshake error"
                                     : "timeout");
    co_return false;
  }
  // RFC 9113 3.2: "h2" is negotiated with ALPN. The backend was declared HTTP/2 (appProtocol,
  // GRPCRoute), so a server that selects nothing still gets HTTP/2; one that selected another
  // protocol cannot happen (only "h2" is offered).
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(c.ssl_, &alpn, &alpn_len);
  if (alpn_len == 0) {
    spdlog::debug("backend {}: no ALPN selected, speaking h2 as declared", c.backend_name_);
  }
  co_return true;
}

awaitable<ssize_t> H2Conn::readSome(H2Conn& c, uint8_t* buf, size_t n) {
  if (c.ssl_ == nullptr) {
    auto [ec, got] = co_await c.sock_.async_read_some(asio::buffer(buf, n), kNoThrow);
    co_return ec ? (ec == asio::error::eof ? 0 : -1) : static_cast<ssize_t>(got);
  }
  for (;;) {
    tls::IoResult r = tls::tryRead(c.ssl_, reinterpret_cast<char*>(buf), n);
    if (r.n > 0) co_return static_cast<ssize_t>(r.n);
    if (r.closed) co_return 0;
    if (r.error) co_return -1;
    auto [ec] = co_await c.sock_.async_wait(
        r.want == tls::IoWant::kWrite ? tcp::socket::wait_write : tcp::socket::wait_read, kNoThrow);
    if (ec || c.state_ != State::kReady) co_return -1;
  }
}

awaitable<bool> H2Conn::writeAll(H2Conn& c) {
  if (c.ssl_ == nullptr) {
    auto [ec, n] = co_await asio::async_write(c.sock_, asio::buffer(c.wbuf_), kNoThrow);
    co_return !ec;
  }
  size_t off = 0;
  while (off < c.wbuf_.size()) {
    tls::IoResult r = tls::tryWrite(c.ssl_, c.wbuf_.data() + off, c.wbuf_.size() - off);
    if (r.n > 0) {
      off += r.n;
      continue;
    }
    if (r.closed || r.error) co_return false;
    // A retry passes the same bytes (wbuf_ does not change while this waits).
    auto [ec] = co_await c.sock_.async_wait(
        r.want == tls::IoWant::kRead ? tcp::socket::wait_read : tcp::socket::wait_write, kNoThrow);
    if (ec || c.state_ != State::kReady) co_return false;
  }
  co_return true;
}

void H2Conn::fail() {
  if (state_ == State::kDead) return;
  const bool connecting = state_ == State::kConnecting;
  state_ = State::kDead;
  auto keep = shared_from_this();
  if (pool_ != nullptr) pool_->remove(this);
  // RFC 8446 6.1: close_notify before the FIN (best effort; not after a failed handshake).
  if (ssl_ != nullptr && !connecting) tls::shutdownFd(ssl_);
  asio::error_code ec;
  sock_.close(ec);
  ctimer_.cancel();
  kick();
  std::vector<H2Stream*> streams = std::move(streams_);
  streams_.clear();
  for (H2Stream* s : streams) {
    s->conn_.reset();
    s->credit_conn_.reset();
    s->id_ = -1;
    if (connecting) {
      // Nothing was sent: try the next endpoint.
      if (tls_failed_) s->tls_failed_ = true;
      ++s->endpoint_attempts_;
      s->attach();
    } else {
      s->closed_ = true;
      s->conn_lost_ = true;
    }
    s->wake();
  }
}

bool H2Conn::submit(H2Stream* s) {
  const H2Request& r = s->req_;
  std::vector<nghttp2_nv> nva;
  nva.reserve(r.headers.size() + 4);
  nva.push_back(makeNv(":method", r.method));
  // RFC 9113 8.3.1: the scheme of the request as it goes out: https over TLS.
  nva.push_back(makeNv(":scheme", tls_ ? std::string_view("https") : std::string_view(r.scheme)));
  if (!r.authority.empty()) nva.push_back(makeNv(":authority", r.authority));
  nva.push_back(makeNv(":path", r.path));
  for (const auto& h : r.headers) nva.push_back(makeNv(h.name, h.value));
  nghttp2_data_provider prd;
  prd.source.ptr = s;
  prd.read_callback = readBody;
  int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                      r.has_body ? &prd : nullptr, s);
  if (id < 0) {
    // Stream ids exhausted (or a field nghttp2 refuses): no new stream on this connection.
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) goaway_ = true;
    return false;
  }
  s->id_ = id;
  streams_.push_back(s);
  ++streams_served_;
  kick();
  return true;
}

int H2Conn::onHeader(nghttp2_session* session, const nghttp2_frame* frame, const uint8_t* name,
                     size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  auto* s = static_cast<H2Conn*>(user)->find(frame->hd.stream_id);
  if (s == nullptr) return 0;
  std::string_view n(reinterpret_cast<const char*>(name), namelen);
  std::string_view v(reinterpret_cast<const char*>(value), valuelen);
  if (!s->final_headers_) {
    if (n == ":status") {
      uint16_t st = 0;
      for (char ch : v) st = static_cast<uint16_t>(st * 10 + (ch - '0'));  // nghttp2 checked it
      s->status_ = st;
    } else if (!n.empty() && n[0] != ':') {
      s->fields_.push_back({std::string(n), std::string(v)});
    }
  } else if (!n.empty() && n[0] != ':') {
    s->trailers_.push_back({std::string(n), std::string(v)});
  }
  return 0;
}

int H2Conn::onFrameRecv(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
  auto* c = static_cast<H2Conn*>(user);
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS: {
      H2Stream* s = c->find(frame->hd.stream_id);
      if (s == nullptr) break;
      if (!s->final_headers_) {
        if (s->status_ >= 100 && s->status_ < 200) {
          // RFC 9110 15.2: interim responses are not forwarded by this client.
          s->fields_.clear();
          s->status_ = 0;
        } else {
          s->final_headers_ = true;
        }
      } else {
        s->trailers_ready_ = true;
      }
      if (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) s->ended_ = true;
      s->wake();
      break;
    }
    case NGHTTP2_DATA: {
      if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) break;
      H2Stream* s = c->find(frame->hd.stream_id);
      if (s == nullptr) break;
      s->ended_ = true;
      s->wake();
      break;
    }
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) {
        c->settings_seen_ = true;
        if (c->pool_ != nullptr) {
          c->pool_->learned_max_[c->ep_] =
              nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        }
      }
      break;
    case NGHTTP2_GOAWAY:
      // RFC 9113 6.8: no new streams; nghttp2 closes those above last-stream-id with
      // REFUSED_STREAM (retried elsewhere), the others finish.
      c->goaway_ = true;
      break;
    default:
      break;
  }
  return 0;
}

int H2Conn::onDataChunk(nghttp2_session* session, uint8_t, int32_t stream_id, const uint8_t* data,
                        size_t len, void* user) {
  auto* s = static_cast<H2Conn*>(user)->find(stream_id);
  if (s == nullptr) {
    // A stream we gave up on: its bytes still count against the connection window.
    nghttp2_session_consume_connection(session, len);
    return 0;
  }
  s->recv_buf_.append(reinterpret_cast<const char*>(data), len);
  s->wake();
  return 0;
}

int H2Conn::onStreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
  auto* s = static_cast<H2Conn*>(user)->find(stream_id);
  if (s == nullptr) return 0;
  s->closed_ = true;
  s->close_error_ = error_code;
  s->detach();
  s->wake();
  return 0;
}

ssize_t H2Conn::readBody(nghttp2_session* session, int32_t stream_id, uint8_t* buf, size_t length,
                         uint32_t* data_flags, nghttp2_data_source*, void* user) {
  auto* s = static_cast<H2Conn*>(user)->find(stream_id);
  if (s == nullptr) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  size_t avail = s->send_buf_.size() - s->send_off_;
  size_t n = std::min(avail, length);
  if (n > 0) {
    std::memcpy(buf, s->send_buf_.data() + s->send_off_, n);
    if (s->replay_ok_) {
      if (s->replay_.size() + n <= kMaxReplay) {
        s->replay_.append(s->send_buf_, s->send_off_, n);
      } else {
        s->replay_ok_ = false;
        std::string().swap(s->replay_);
      }
    }
    s->send_off_ += n;
    s->body_taken_ += n;
  }
  if (s->send_off_ == s->send_buf_.size()) {
    s->send_buf_.clear();
    s->send_off_ = 0;
    if (s->send_end_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      s->eof_sent_ = true;
      if (!s->trailers_out_.empty()) {
        // RFC 9113 8.1: trailers are a HEADERS frame that ends the stream.
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (const auto& h : s->trailers_out_) nva.push_back(makeNv(h.name, h.value));
        nghttp2_submit_trailer(session, stream_id, nva.data(), nva.size());
      }
    }
    s->wake();  // flush() waits for the buffer to drain
    if (n == 0 && !s->send_end_) {
      s->deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

// ------------------------------------------------------------------------------------------------
// H2Stream

H2Stream::H2Stream(H2Pool& pool, const CompiledBackend& backend, uint32_t* rr, H2Request req)
    : pool_(pool),
      backend_(backend),
      rr_(rr),
      req_(std::move(req)),
      send_wait_(pool.w_.io()),
      recv_wait_(pool.w_.io()) {}

H2Stream::~H2Stream() {
  cancel();
  // DATA that arrived but was never forwarded still counts against the connection window.
  size_t unread = recv_buf_.size() + delivered_;
  if (unread > 0 && credit_conn_ && credit_conn_->state_ == H2Conn::State::kReady) {
    nghttp2_session_consume_connection(credit_conn_->session_, unread);
    credit_conn_->kick();
  }
}

void H2Stream::attach() {
  const size_t n = backend_.endpoints.size();
  if (backend_.tlsRequired() && !backend_.tls) {
    // BackendTLSPolicy whose context could not be built (bad CA bundle): never clear text.
    connect_failed_ = true;
    return;
  }
  for (;;) {
    if (n == 0 || endpoint_attempts_ >= std::min<size_t>(n, kMaxEndpointAttempts)) {
      connect_failed_ = true;
      return;
    }
    if (!picked_) {
      picked_ = true;
      start_endpoint_ = 0;
      if (preferred_endpoint_ >= 0) {
        // The caller's choice (a session's endpoint, or the one after a failed attempt).
        start_endpoint_ = static_cast<uint32_t>(preferred_endpoint_) % static_cast<uint32_t>(n);
      } else if (backend_.total_weight > 0) {
        start_endpoint_ = backend_.picker.pick(*rr_);
      }
    }
    const tcp::endpoint& ep = backend_.endpoints[(start_endpoint_ + endpoint_attempts_) % n];
    bool reused = false;
    std::shared_ptr<H2Conn> c = pool_.connFor(ep, backend_, &reused);
    if (c == nullptr) {
      ++endpoint_attempts_;
      continue;
    }
    // Fresh attempt: the request side starts over (nothing of the body was taken).
    deferred_ = false;
    eof_sent_ = false;
    if (!c->submit(this)) continue;  // that connection stopped taking streams: another one
    reused_ = reused;
    endpoint_index_ = static_cast<int32_t>((start_endpoint_ + endpoint_attempts_) % n);
    conn_ = c;
    credit_conn_ = std::move(c);
    return;
  }
}

void H2Stream::detach() {
  if (!conn_) return;
  auto& v = conn_->streams_;
  auto it = std::find(v.begin(), v.end(), this);
  if (it != v.end()) {
    *it = v.back();
    v.pop_back();
  }
  if (v.empty()) {
    conn_->idle_since_ms_ = steadyMs();
    if (conn_->goaway_) conn_->kick();  // the writer closes it
  }
  conn_.reset();
}

void H2Stream::wake() {
  if (send_wait_.waiting) send_wait_.timer.cancel();
  if (recv_wait_.waiting) recv_wait_.timer.cancel();
}

awaitable<bool> H2Stream::wait(Waiter& w) {
  int64_t expiry = deadline_ms_;
  if (idle_ms_ != 0) {
    int64_t idle = steadyMs() + idle_ms_;
    if (expiry == 0 || idle < expiry) expiry = idle;
  }
  if (expiry != 0) {
    w.timer.expires_at(asio::steady_timer::time_point(std::chrono::milliseconds(expiry)));
  } else {
    w.timer.expires_at(asio::steady_timer::time_point::max());
  }
  w.waiting = true;
  auto [ec] = co_await w.timer.async_wait(kNoThrow);
  w.waiting = false;
  co_return static_cast<bool>(ec);  // operation_aborted: woken; no error: the time passed
}

void H2Stream::append(std::string_view data) {
  if (send_off_ > 0 && send_off_ == send_buf_.size()) {
    send_buf_.clear();
    send_off_ = 0;
  }
  send_buf_.append(data);
}

void H2Stream::setTrailers(std::vector<H2Field> trailers) { trailers_out_ = std::move(trailers); }

awaitable<bool> H2Stream::flush(bool end) {
  if (!req_.has_body) co_return !closed_ || ended_;  // END_STREAM went with the HEADERS
  if (end) send_end_ = true;
  bool timed_out = false;
  for (;;) {
    if (closed_ || cancelled_ || connect_failed_) co_return false;
    if (send_off_ == send_buf_.size() && (!send_end_ || eof_sent_)) co_return true;
    if (timed_out) co_return false;
    if (conn_ && deferred_ && conn_->state_ == H2Conn::State::kReady) {
      deferred_ = false;
      nghttp2_session_resume_data(conn_->session_, id_);
      conn_->kick();
    }
    timed_out = !co_await wait(send_wait_);
  }
}

void H2Stream::creditDelivered() {
  if (delivered_ == 0) return;
  deliver_buf_.clear();
  if (credit_conn_ && credit_conn_->state_ == H2Conn::State::kReady) {
    nghttp2_session_consume_connection(credit_conn_->session_, delivered_);
    if (conn_ && !closed_) nghttp2_session_consume_stream(conn_->session_, id_, delivered_);
    credit_conn_->kick();
  }
  delivered_ = 0;
}

bool H2Stream::retryable() const {
  // RFC 9113 8.7: REFUSED_STREAM (and streams above a GOAWAY's last-stream-id, which nghttp2
  // closes with it) were not processed; safe to send again if no body byte left us.
  return close_error_ == NGHTTP2_REFUSED_STREAM && !conn_lost_ && !final_headers_ &&
         (body_taken_ == 0 || replay_ok_) && !cancelled_ && refused_retries_ < kMaxRefusedRetries;
}

awaitable<H2Event> H2Stream::next() {
  creditDelivered();
  bool timed_out = false;
  for (;;) {
    H2Event ev;
    if (final_headers_ && !headers_delivered_) {
      headers_delivered_ = true;
      ev.type = H2EventType::kHeaders;
      ev.status = status_;
      ev.fields = &fields_;
      co_return ev;
    }
    if (headers_delivered_ && !recv_buf_.empty()) {
      recv_buf_.swap(deliver_buf_);  // deliver_buf_ is empty here (credited above)
      delivered_ = deliver_buf_.size();
      ev.type = H2EventType::kData;
      ev.data = deliver_buf_;
      co_return ev;
    }
    if (headers_delivered_ && trailers_ready_ && !trailers_delivered_) {
      trailers_delivered_ = true;
      ev.type = H2EventType::kTrailers;
      ev.fields = &trailers_;
      co_return ev;
    }
    if (headers_delivered_ && ended_) {
      ev.type = H2EventType::kEnd;
      co_return ev;
    }
    if (connect_failed_) {
      ev.type = H2EventType::kConnectFailed;
      co_return ev;
    }
    if (closed_) {
      if (retryable()) {
        ++refused_retries_;
        closed_ = false;
        close_error_ = 0;
        status_ = 0;
        fields_.clear();
        trailers_.clear();
        recv_buf_.clear();
        if (body_taken_ > 0) {
          // Send the whole body again: what was taken, then what was still waiting.
          send_buf_.erase(0, send_off_);
          send_buf_.insert(0, replay_);
          send_off_ = 0;
          replay_.clear();
          body_taken_ = 0;
        }
        attach();
        continue;
      }
      ev.type = H2EventType::kReset;
      ev.error_code = cancelled_ ? static_cast<uint32_t>(NGHTTP2_CANCEL) : close_error_;
      if (conn_lost_ && ev.error_code == 0) ev.error_code = NGHTTP2_CONNECT_ERROR;
      co_return ev;
    }
    if (timed_out) {
      ev.type = H2EventType::kTimeout;
      co_return ev;
    }
    timed_out = !co_await wait(recv_wait_);
  }
}

void H2Stream::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  if (conn_ && !closed_ && conn_->state_ != H2Conn::State::kDead && id_ > 0) {
    // RFC 9113 8.7: CANCEL, the response is no longer wanted. (A request whose HEADERS are still
    // queued is dropped by nghttp2.)
    nghttp2_submit_rst_stream(conn_->session_, NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    conn_->kick();
  }
  detach();
  closed_ = true;
  wake();
}

// ------------------------------------------------------------------------------------------------
// H2Pool

size_t H2Pool::EndpointHash::operator()(const tcp::endpoint& e) const {
  size_t h = e.port();
  if (e.address().is_v4()) {
    h ^= static_cast<size_t>(e.address().to_v4().to_uint()) << 16;
  } else {
    auto b = e.address().to_v6().to_bytes();
    for (unsigned char ch : b) h = h * 131 + ch;
  }
  return h;
}

H2Pool::H2Pool(Worker& w) : w_(w) {}

H2Pool::~H2Pool() {
  for (auto& [ep, list] : conns_) {
    for (auto& c : list) {
      c->pool_ = nullptr;
      if (c->ssl_ != nullptr) tls::ClientSessionSlot::detach(c->ssl_);  // the worker's slots go
      asio::error_code ec;
      c->sock_.close(ec);
    }
  }
}

size_t H2Pool::connectionCount() const {
  size_t n = 0;
  for (const auto& [ep, list] : conns_) n += list.size();
  return n;
}

std::unique_ptr<H2Stream> H2Pool::open(const CompiledBackend& backend, uint32_t* rr, H2Request req,
                                       int32_t endpoint) {
  std::unique_ptr<H2Stream> s(new H2Stream(*this, backend, rr, std::move(req)));
  s->preferred_endpoint_ = endpoint;
  s->attach();
  return s;
}

std::shared_ptr<H2Conn> H2Pool::connFor(const tcp::endpoint& ep, const CompiledBackend& backend,
                                        bool* reused) {
  auto& list = conns_[ep];
  // A TLS connection is only shared by streams under the client context it was verified with
  // (BackendTLSPolicy changes give a new context); a clear-text one only by clear-text streams.
  const tls::ClientContext* ctx = backend.tls.get();
  for (auto& c : list) {
    if (c->tls_.get() == ctx && c->acceptsStreams()) {
      *reused = c->streams_served_ > 0;
      return c;
    }
  }
  auto c = std::make_shared<H2Conn>(this, w_.io(), ep);
  if (!c->init()) return nullptr;
  if (backend.tls) {
    c->tls_ = backend.tls;
    c->slot_ = &w_.backendSessions().slot(backend.ir->name, backend.tls->context());
    c->backend_name_ = backend.ir->name;
  }
  auto learned = learned_max_.find(ep);
  if (learned != learned_max_.end()) c->assumed_max_ = std::max<uint32_t>(learned->second, 1);
  list.push_back(c);
  ++opened_;
  ++w_.stats().upstream_connects;
  *reused = false;
  c->start(w_.options().upstream_connect_timeout_ms);
  return c;
}

void H2Pool::remove(H2Conn* c) {
  auto it = conns_.find(c->ep_);
  if (it == conns_.end()) return;
  auto& list = it->second;
  for (size_t i = 0; i < list.size(); ++i) {
    if (list[i].get() == c) {
      list.erase(list.begin() + static_cast<ptrdiff_t>(i));
      break;
    }
  }
  if (list.empty()) conns_.erase(it);
}

void H2Pool::sweep(int64_t now_ms, uint32_t idle_ms, bool all) {
  std::vector<std::shared_ptr<H2Conn>> idle;
  for (auto& [ep, list] : conns_) {
    for (auto& c : list) {
      if (c->streams_.empty() && c->state_ == H2Conn::State::kReady &&
          (all || now_ms - c->idle_since_ms_ > static_cast<int64_t>(idle_ms))) {
        idle.push_back(c);
      }
    }
  }
  for (auto& c : idle) {
    remove(c.get());
    c->pool_ = nullptr;
    c->shutdown();
  }
}

}  // namespace gantry::dataplane::upstream

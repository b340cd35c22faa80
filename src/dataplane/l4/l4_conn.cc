#include "dataplane/l4/l4_conn.h"

#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/use_awaitable.hpp>
#include <cstring>

#include "dataplane/l4/l4_table.h"
#include "dataplane/router/route_table.h"
#include "dataplane/tls/backend_sessions.h"
#include "dataplane/tls/client_context.h"
#include "dataplane/tls/client_hello.h"
#include "dataplane/tls/fd_tls.h"
#include "dataplane/tls/server_context.h"
#include "dataplane/tls/stream.h"

namespace gantry::dataplane::l4 {
namespace {

using asio::awaitable;
using asio::ip::tcp;

constexpr auto kNoThrow = asio::experimental::as_tuple(asio::use_awaitable);
constexpr size_t kSpliceBufBytes = 16 * 1024;
// Room for any real ClientHello (200..2000 bytes; ~1.8 KiB with post-quantum key shares) and
// large PSK identities; a bigger one is refused with decode_error.
constexpr size_t kHelloBufBytes = 16 * 1024;

// TLS alert records (RFC 8446 section 6 / RFC 5246 section 7.2), sent in plaintext before any
// handshake message of ours: record type alert(21), legacy version 0x0303, length 2,
// level fatal(2), description.
constexpr uint8_t kAlertUnrecognizedName = 112;  // RFC 6066 section 3: unknown server_name
constexpr uint8_t kAlertDecodeError = 50;        // RFC 8446 section 6.2: malformed ClientHello

bool wouldBlock(const asio::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

// Best effort: the socket's send buffer is empty at this point, so 7 bytes always fit.
void sendAlert(tcp::socket& s, uint8_t description) {
  const uint8_t record[7] = {21, 3, 3, 0, 2, 2, description};
  asio::error_code ec;
  s.write_some(asio::buffer(record, sizeof record), ec);
}

// One side of a splice: a plain socket, or TLS over it (fd_tls: OpenSSL does the socket I/O).
// Reads and writes never block; they wait for readiness, which the worker's timeout sweep can
// cancel (ConnEntry::timed_out).
class Side {
 public:
  Side(tcp::socket& sock, SSL* ssl) : sock_(sock), ssl_(ssl) {}

  // > 0 bytes read, 0 end of stream (FIN, or close_notify), < 0 error or timeout.
  awaitable<ssize_t> read(char* p, size_t n, ConnEntry& e) {
    for (;;) {
      if (e.timed_out) co_return -1;
      tcp::socket::wait_type wait = tcp::socket::wait_read;
      if (ssl_ != nullptr) {
        tls::IoResult r = tls::tryRead(ssl_, p, n);
        if (r.n > 0) co_return static_cast<ssize_t>(r.n);
        if (r.closed) co_return 0;
        if (r.error || r.want == tls::IoWant::kNone) co_return -1;
        if (r.want == tls::IoWant::kWrite) wait = tcp::socket::wait_write;
      } else {
        asio::error_code ec;
        size_t r = sock_.read_some(asio::buffer(p, n), ec);
        if (!ec) co_return static_cast<ssize_t>(r);
        if (ec == asio::error::eof) co_return 0;
        if (!wouldBlock(ec)) co_return -1;
      }
      auto [ec] = co_await sock_.async_wait(wait, kNoThrow);
      if (ec || e.timed_out) co_return -1;
    }
  }

  awaitable<bool> writeAll(const char* p, size_t n, ConnEntry& e) {
    while (n > 0) {
      if (e.timed_out) co_return false;
      tcp::socket::wait_type wait = tcp::socket::wait_write;
      if (ssl_ != nullptr) {
        tls::IoResult r = tls::tryWrite(ssl_, p, n);
        if (r.n > 0) {
          p += r.n;
          n -= r.n;
          continue;
        }
        if (r.error || r.closed || r.want == tls::IoWant::kNone) co_return false;
        if (r.want == tls::IoWant::kRead) wait = tcp::socket::wait_read;
      } else {
        asio::error_code ec;
        size_t r = sock_.write_some(asio::buffer(p, n), ec);
        if (!ec) {
          p += r;
          n -= r;
          continue;
        }
        if (!wouldBlock(ec)) co_return false;
      }
      auto [ec] = co_await sock_.async_wait(wait, kNoThrow);
      if (ec || e.timed_out) co_return false;
    }
    co_return true;
  }

  // Half-close: the peer of this side sees the end of the stream, the other direction goes on.
  // TLS: close_notify (RFC 8446 section 6.1: each party closes its write side independently).
  void shutdownSend() {
    if (ssl_ != nullptr) tls::shutdownFd(ssl_);
    asio::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_send, ec);
  }

  void cancel() {
    asio::error_code ec;
    sock_.cancel(ec);
  }

 private:
  tcp::socket& sock_;
  SSL* ssl_;
};

struct SpliceState {
  Worker& worker;
  ConnEntry& entry;
  bool dead = false;  // one direction failed: the other stops too
};

awaitable<void> pump(SpliceState& st, Side& from, Side& to, char* buf) {
  const uint32_t idle = st.worker.options().idle_timeout_ms;
  while (!st.dead) {
    ssize_t r = co_await from.read(buf, kSpliceBufBytes, st.entry);
    if (st.dead) break;
    if (r == 0) {
      to.shutdownSend();  // half-close propagates
      break;
    }
    if (r < 0) {
      st.dead = true;
      from.cancel();
      to.cancel();
      break;
    }
    st.entry.deadline_ms = st.worker.nowMs() + idle;
    // Backpressure: nothing more is read from `from` until `to` took all of it.
    if (!co_await to.writeAll(buf, static_cast<size_t>(r), st.entry)) {
      st.dead = true;
      from.cancel();
      to.cancel();
      break;
    }
  }
}

// Copies both ways until both directions ended (or one failed, or the idle timeout / drain
// deadline cancelled the sockets). Returns false when it ended on an error.
awaitable<bool> splice(Worker& w, ConnEntry& entry, Side& down, Side& up) {
  using namespace asio::experimental::awaitable_operators;
  std::unique_ptr<char[]> bufs(new char[2 * kSpliceBufBytes]);
  SpliceState st{w, entry};
  entry.idle = false;  // on drain: kept until the drain deadline
  entry.deadline_ms = w.nowMs() + w.options().idle_timeout_ms;
  char* b0 = bufs.get();
  char* b1 = bufs.get() + kSpliceBufBytes;
  co_await (pump(st, down, up, b0) && pump(st, up, down, b1));
  co_return !st.dead;
}

// Picks a backend of `route` (weights) and one of its endpoints (weights, round robin per worker,
// like HTTP), and connects `up` to it; an endpoint that refuses is replaced by the next one (up
// to 3 attempts). False: invalid backendRef, no endpoint, or no endpoint accepted. `picked`
// (optional): the backend connected to.
awaitable<bool> connectBackend(Worker& w, LocalTable& table, const L4Entry& route, tcp::socket& up,
                               ConnEntry& entry, const CompiledBackend** picked = nullptr) {
  if (route.total_weight == 0) co_return false;
  int32_t idx = L4Table::pick(route, table.l4_rr[route.slot]);
  if (idx < 0) co_return false;  // invalid or unknown backendRef: its share is rejected
  const CompiledBackend& b = table.table->backend(static_cast<uint32_t>(idx));
  const size_t n = b.endpoints.size();
  if (n == 0 || b.total_weight == 0) co_return false;
  const size_t start = b.picker.pick(table.backend_rr[static_cast<size_t>(idx)]);
  const Options& opt = w.options();
  uint32_t timeout = b.ir->connect_timeout_ms != 0
                         ? std::min(b.ir->connect_timeout_ms, opt.upstream_connect_timeout_ms)
                         : opt.upstream_connect_timeout_ms;
  for (size_t attempt = 0; attempt < std::min<size_t>(n, 3); ++attempt) {
    const tcp::endpoint& ep = b.endpoints[(start + attempt) % n];
    asio::error_code ec;
    if (up.is_open()) up.close(ec);
    up.open(ep.protocol(), ec);
    if (ec) continue;
    up.non_blocking(true, ec);
    entry.up = &up;
    entry.deadline_ms = w.nowMs() + timeout;
    auto [cec] = co_await up.async_connect(ep, kNoThrow);
    if (cec || entry.timed_out) {
      if (entry.killed) co_return false;
      spdlog::debug("l4: connect to {}:{} failed: {}", ep.address().to_string(), ep.port(),
                    entry.timed_out ? "timeout" : cec.message());
      entry.timed_out = false;
      continue;
    }
    up.set_option(tcp::no_delay(true), ec);
    ++w.stats().upstream_connects;
    if (picked != nullptr) *picked = &b;
    co_return true;
  }
  co_return false;
}

// TLSRoute on a Terminate listener with a BackendTLSPolicy on the backend Service (GEP-4274,
// conformance BackendTLSPolicyTLSRouteTerminate): the plaintext is re-encrypted towards the
// backend, verified exactly as for HTTP (the policy's CAs, validation.hostname as SNI and
// identity, or subjectAltNames; the Gateway's client certificate when the backend asks). No ALPN
// is offered: the bytes are opaque. Within the backend's connect timeout. Returns the SSL (owned
// by the caller, bound to `up`), or nullptr after logging why.
awaitable<SSL*> reencrypt(Worker& w, const CompiledBackend& b, tcp::socket& up, ConnEntry& entry) {
  if (!b.tls) co_return nullptr;  // unusable policy (bad CA bundle): never clear text
  SSL* ssl = b.tls->newSsl(&w.backendSessions().slot(b.ir->name, b.tls->context()));
  if (ssl == nullptr) co_return nullptr;
  if (SSL_set_alpn_protos(ssl, nullptr, 0) != 0 || !tls::attachFd(ssl, up)) {
    SSL_free(ssl);
    co_return nullptr;
  }
  const Options& opt = w.options();
  uint32_t timeout = b.ir->connect_timeout_ms != 0
                         ? std::min(b.ir->connect_timeout_ms, opt.upstream_connect_timeout_ms)
                         : opt.upstream_connect_timeout_ms;
  entry.up = &up;
  entry.deadline_ms = w.nowMs() + timeout;
  asio::error_code ec = co_await tls::handshakeFd(ssl, up);
  if (ec || entry.timed_out) {
    const long verify = SSL_get_verify_result(ssl);
    spdlog::warn("l4: backend {}: TLS handshake failed: {}", b.ir->name,
                 entry.timed_out       ? "timeout"
                 : verify != X509_V_OK ? X509_verify_cert_error_string(verify)
                                       : "handshake error");
    SSL_set_quiet_shutdown(ssl, 1);
    SSL_free(ssl);
    co_return nullptr;
  }
  co_return ssl;
}

awaitable<void> run(Worker& w, tcp::socket down, std::shared_ptr<const PortKey> key) {
  ConnEntry entry;
  entry.down = &down;
  entry.idle = true;  // until the splice starts: closed at once on drain
  w.registerConn(&entry);
  struct Unregister {
    Worker& w;
    ConnEntry& e;
    ~Unregister() {
      e.up = nullptr;
      w.unregisterConn(&e);
    }
  } unregister{w, entry};

  const Options& opt = w.options();
  asio::error_code ec;
  down.non_blocking(true, ec);
  down.set_option(tcp::no_delay(true), ec);

  // The table current at accept time routes this connection; it is released once the backend is
  // connected, so a long-lived connection does not pin old snapshots.
  LocalTableRef table = w.currentTable();
  const L4Port* port = nullptr;
  if (table && table->table && table->table->l4() != nullptr)
    port = table->table->l4()->find(key->address, key->port, false);
  if (port == nullptr || port->protocol != key->protocol) co_return;

  tcp::socket up(w.io());
  if (port->protocol == ir::Protocol::kTcp) {
    const L4Entry* route = L4Table::route(*port, {});
    if (route == nullptr) co_return;
    entry.idle = false;  // being served: on drain it lives until the drain deadline
    bool connected = co_await connectBackend(w, *table.get(), *route, up, entry);
    if (!connected) co_return;
    table.reset();
    Side d(down, nullptr), u(up, nullptr);
    co_await splice(w, entry, d, u);
    co_return;
  }

  if (port->protocol == ir::Protocol::kTlsPassthrough) {
    // Never decrypted: the ClientHello is read (bounded by the header timeout), its SNI routes
    // the connection, and the same bytes are then forwarded to the backend.
    std::unique_ptr<uint8_t[]> hello(new uint8_t[kHelloBufBytes]);
    size_t filled = 0;
    auto info = std::make_unique<tls::ClientHelloInfo>();
    entry.deadline_ms = w.nowMs() + opt.header_timeout_ms;
    uint8_t* hello_buf = hello.get();
    tls::ClientHelloInfo* info_ptr = info.get();
    tls::PeekResult peek =
        co_await tls::readClientHello(down, hello_buf, kHelloBufBytes, &filled, info_ptr, &ec);
    if (ec || entry.timed_out || peek.status == tls::PeekStatus::kNeedMore) co_return;
    if (peek.status == tls::PeekStatus::kNotTls) co_return;  // not TLS: nothing to answer
    if (peek.status == tls::PeekStatus::kMalformed) {
      spdlog::debug("l4: malformed ClientHello on {}: {}", key->port, peek.reason);
      sendAlert(down, kAlertDecodeError);
      co_return;
    }
    const L4Entry* route = L4Table::route(*port, info->sni());
    if (route == nullptr) {
      // RFC 6066 section 3: a server that does not recognise the name may abort the handshake
      // with a fatal unrecognized_name alert. A plaintext alert needs no TLS state of ours.
      sendAlert(down, kAlertUnrecognizedName);
      co_return;
    }
    entry.idle = false;  // being served: on drain it lives until the drain deadline
    bool connected = co_await connectBackend(w, *table.get(), *route, up, entry);
    if (!connected) co_return;
    table.reset();
    info.reset();
    Side d(down, nullptr), u(up, nullptr);
    entry.deadline_ms = w.nowMs() + opt.idle_timeout_ms;
    const char* bytes = reinterpret_cast<const char*>(hello.get());
    bool sent = co_await u.writeAll(bytes, filled, entry);
    if (!sent) co_return;
    hello.reset();
    co_await splice(w, entry, d, u);
    co_return;
  }

  if (port->protocol == ir::Protocol::kTlsTerminate) {
    if (!port->tls) co_return;  // no usable certificate (reported when the table was built)
    SSL* ssl = port->tls->newSsl();
    if (ssl == nullptr) co_return;
    // The SSL holds the socket's fd number: it is freed here, before `down` is closed.
    struct SslFree {
      SSL* s;
      ~SslFree() { SSL_free(s); }
    } ssl_free{ssl};
    if (!tls::attachFd(ssl, down)) co_return;
    entry.deadline_ms = w.nowMs() + opt.header_timeout_ms;
    asio::error_code hec = co_await tls::handshakeFd(ssl, down);
    if (hec || entry.timed_out) co_return;
    // The certificate was chosen by the same SNI among the port's listeners; a listener whose
    // routes do not cover this name ends the connection (close_notify).
    const L4Entry* route = L4Table::route(*port, tls::sentSni(ssl));
    if (route == nullptr) {
      tls::shutdownFd(ssl);
      co_return;
    }
    entry.idle = false;  // being served: on drain it lives until the drain deadline
    const CompiledBackend* backend = nullptr;
    bool connected = co_await connectBackend(w, *table.get(), *route, up, entry, &backend);
    if (!connected) {
      tls::shutdownFd(ssl);
      co_return;
    }
    // Declared after `up`: freed before it is closed (the SSL holds its fd number).
    SslFree up_free{nullptr};
    if (backend->tlsRequired()) {
      up_free.s = co_await reencrypt(w, *backend, up, entry);
      if (up_free.s == nullptr) {
        tls::shutdownFd(ssl);
        co_return;
      }
    }
    table.reset();
    Side d(down, ssl), u(up, up_free.s);
    co_await splice(w, entry, d, u);
    co_return;
  }
}

}  // namespace

void serveConnection(Worker& worker, tcp::socket socket, std::shared_ptr<const PortKey> port) {
  asio::co_spawn(worker.io(), run(worker, std::move(socket), std::move(port)), asio::detached);
}

}  // namespace gantry::dataplane::l4

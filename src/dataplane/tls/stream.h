// Asio glue for the TLS building blocks: asio::ssl::stream (Asio 1.22's OpenSSL stream, which
// works with C++20 coroutines: every async_* takes asio::use_awaitable) created from our own
// SSL objects, a handshake coroutine that never throws, and the read loop a TLS passthrough
// listener uses to peek the ClientHello.
//
// How the data plane plugs it in (all on the connection's worker thread):
//   HTTPS / TLS-terminate port:
//     auto tls = makeServerStream(std::move(socket), *port_tls_set);   // set from the snapshot
//     if (!tls) -> close;  auto ec = co_await handshake(*tls, asio::ssl::stream_base::server);
//     HandshakeInfo hi = describe(tls->native_handle());
//       hi.alpn == "h2" -> HTTP/2 on *tls, else HTTP/1.1;
//       for every request: ServerContextSet::isMisdirected(ssl, host) -> 421;
//       hi.client_cert for logging / headers.
//     Then co_await tls->async_read_some / asio::async_write(*tls, ...) as with a socket, and
//     co_await tls->async_shutdown(...) (bounded by the worker's timeout sweep) before closing.
//     The ConnEntry timeout sweep cancels tls->next_layer() (the tcp::socket) as before.
//   TLS passthrough port:
//     co_await readClientHello(socket, buf, &filled, &info) -> route by info.sni(), then write
//     buf[0, filled) to the chosen backend and splice both ways.
//   Upstream with BackendTLSPolicy:
//     auto up = makeClientStream(std::move(connected_socket), *backend_client_ctx, &worker_slot);
//     co_await handshake(*up, asio::ssl::stream_base::client); selectedAlpn(...) == "h2" -> h2.
//
// For the readiness-style loop of proxy.cc (try, then async_wait) see tls/fd_tls.h instead.
//
// A TlsStream is not thread-safe (like the socket); it owns its SSL, which keeps its SSL_CTXs
// alive, so snapshots can be replaced while the connection lives.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/ssl.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "dataplane/tls/client_context.h"
#include "dataplane/tls/client_hello.h"
#include "dataplane/tls/server_context.h"

namespace gantry::dataplane::tls {

using TlsStream = asio::ssl::stream<asio::ip::tcp::socket>;

// Wrap a connected socket. nullopt when OpenSSL cannot allocate the SSL (the socket is closed).
std::optional<TlsStream> makeServerStream(asio::ip::tcp::socket socket,
                                          const ServerContextSet& set);
// `slot` (optional, worker-local): resume its session and store new ones (ClientSessionSlot).
std::optional<TlsStream> makeClientStream(asio::ip::tcp::socket socket, const ClientContext& ctx,
                                          ClientSessionSlot* slot = nullptr);

// Runs the handshake; returns the error instead of throwing (asio::ssl::error / OpenSSL errors
// for failed verification, unknown SNI, ...). Cancelling the underlying socket aborts it.
asio::awaitable<asio::error_code> handshake(TlsStream& stream,
                                            asio::ssl::stream_base::handshake_type type);

// What a completed handshake negotiated. Views stay valid while the SSL lives.
struct HandshakeInfo {
  std::string_view alpn;  // "" = none negotiated (speak HTTP/1.1)
  std::string_view sni;   // server_name the client sent ("" = none)
  Selection selection;    // server side: the TlsConfig the SNI selected
  ClientCertStatus client_cert = ClientCertStatus::kNotRequested;  // server side
  bool resumed = false;      // session resumption (ticket / PSK) instead of a full handshake
  std::string_view version;  // "TLSv1.2" / "TLSv1.3"
};
HandshakeInfo describe(const SSL* ssl);

// TLS passthrough: reads from `socket` into buf[*filled, cap) until peekClientHello returns
// something other than kNeedMore, or the buffer is full (then kMalformed, "ClientHello does not
// fit the buffer"), or the read fails (then *ec is set and kNeedMore returned). The bytes stay in
// buf for forwarding. A buffer of kMaxClientHelloWireBytes accepts every ClientHello the peeker
// accepts; 16 KiB is plenty in practice. No allocation.
asio::awaitable<PeekResult> readClientHello(asio::ip::tcp::socket& socket, uint8_t* buf, size_t cap,
                                            size_t* filled, ClientHelloInfo* info,
                                            asio::error_code* ec);

}  // namespace gantry::dataplane::tls

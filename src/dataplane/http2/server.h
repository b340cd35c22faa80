// Downstream HTTP/2 (RFC 9113): the entry point of the HTTP/2 connection handler.
//
// Framing, HPACK and the protocol state machine are nghttp2's (a server session fed with
// nghttp2_session_mem_recv and drained with nghttp2_session_mem_send); gantry adds the I/O loop,
// routing (the worker's RouteTable, exactly as for HTTP/1) and the per-stream proxying to HTTP/1.1
// upstreams through the worker's connection pools.
//
// Two ways in:
//   - cleartext h2c with prior knowledge (RFC 9113 3.3): the HTTP/1 connection handler
//     (proxy.cc) sees the client preface "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" as the first bytes
//     of a connection and hands the connection over, with the bytes it already read;
//   - h2 over TLS (RFC 9113 3.2): the TLS listener code calls serveHttp2 after a handshake whose
//     ALPN selected "h2".
// The upgrade from HTTP/1.1 ("Upgrade: h2c") is not offered; RFC 9113 3.1 deprecates it.
//
// Worker thread only. Never throws.
#pragma once

#include <openssl/ssl.h>

#include <asio/ip/tcp.hpp>
#include <memory>
#include <string_view>

#include "dataplane/worker.h"

namespace gantry::dataplane::http2 {

struct SslFree {
  void operator()(SSL* ssl) const { SSL_free(ssl); }
};
// An SSL owned by one connection; freed (before the socket closes) when the connection ends.
using SslPtr = std::unique_ptr<SSL, SslFree>;

// The client connection preface (RFC 9113 3.4).
inline constexpr std::string_view kClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// What the first bytes of a cleartext connection say about HTTP/2 prior knowledge.
enum class PrefaceMatch : uint8_t {
  kNo,        // not the HTTP/2 preface: HTTP/1
  kPartial,   // a prefix of the preface: read more before deciding
  kComplete,  // starts with the whole preface: HTTP/2
};
PrefaceMatch matchPreface(std::string_view first_bytes);

// Serves one HTTP/2 connection on `socket` (owned from now on) until it closes; returns at once
// (the connection lives on in its coroutine). `ssl` is null for h2c, else an SSL attached to the
// socket's fd (tls::attachFd) that completed its handshake with ALPN "h2" (ownership passes in).
// `preread` holds bytes already read from the connection (e.g. the client preface the HTTP/1
// code peeked); they are copied before the call returns.
void serveHttp2(Worker& w, asio::ip::tcp::socket socket, SslPtr ssl,
                std::shared_ptr<const PortKey> port, std::string_view preread);

}  // namespace gantry::dataplane::http2

// HTTP/1.1 downstream -> HTTP/2 upstream (an h2c backend: Service appProtocol kubernetes.io/h2c).
//
// Called by the HTTP/1 connection handler (proxy.cc) once a request is routed to a backend whose
// app protocol is h2c and its head has been parsed and validated. The request goes out as one
// stream of the worker's H2Pool (upstream/h2_client.h); the response is relayed back as
// HTTP/1.1: Content-Length when the backend gave one, else chunked (HTTP/1.0 clients:
// close-delimited), trailers as a chunked trailer section (RFC 9112 7.1.2).
//
// Header mapping (RFC 9113 8.2.2, 8.3.1): Host becomes :authority; connection-specific fields
// (Connection and what it lists, Keep-Alive, Proxy-Connection, Transfer-Encoding, Upgrade) are
// dropped, TE is kept only as "trailers"; names are lower-cased; X-Forwarded-For/-Proto/-Host are
// appended as on the HTTP/1 path.
//
// Worker thread only. Never throws.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string_view>

#include "dataplane/filters/rule_filters.h"
#include "dataplane/http1/conn_internal.h"
#include "dataplane/router/route_table.h"
#include "dataplane/upstream/session.h"
#include "dataplane/worker.h"

namespace gantry::dataplane::upstream {

// The client connection's I/O, as the HTTP/1 handler does it (cleartext or TLS).
class Downstream {
 public:
  // Reads at b's end: > 0 bytes, 0 EOF, < 0 error or timeout (the worker's sweep).
  virtual asio::awaitable<ssize_t> read(ByteBuf& b) = 0;
  // Writes all of iov, then clears it. False on error or timeout.
  virtual asio::awaitable<bool> send(std::vector<asio::const_buffer>& iov) = 0;

 protected:
  ~Downstream() = default;
};

// What the HTTP/1 handler knows about the request when it hands it over.
struct H1Request {
  Downstream& io;
  asio::ip::tcp::socket& down;  // cancelled to stop a pending read
  ConnEntry& entry;
  RequestCtx& ctx;  // ctx.in: bytes after the head; ctx.req: parser past the head; ctx.path
  const asio::ip::tcp::endpoint& peer;
  std::string_view method;
  std::string_view host_value;  // forwarded as :authority
  std::string_view query;
  bool has_query = false;
  bool http11 = true;
  bool keep_alive = true;
  bool is_head = false;
  bool expect_continue = false;
  bool upgrade = false;
  bool has_body = false;
  bool chunked = false;  // request body framing: chunked, else Content-Length
  bool has_cl_header = false;
  uint64_t content_length = 0;
  int64_t start_ms = 0;  // Worker::nowMs() when the head was complete
  bool tls = false;      // the client came over TLS (X-Forwarded-Proto: https)
  // HTTPRoute filters of the picked backendRef (header modifiers, URLRewrite hostname; the path
  // rewrite is already in ctx.path), and the CORS response fields to add.
  const filters::BackendFilters* filters = nullptr;
  std::string_view resp_extra;
  bool cors_applied = false;
  // The routed rule (timeouts, retries, mirrors, session persistence: upstream/h2_attempts.h),
  // the request's table, the picked backendRef position and the request's session.
  const CompiledRule& rule;
  LocalTable& table;
  uint32_t backend_pos = 0;
  SessionChoice session;
};

// Proxies one request to an h2c backend. Returns true when the client connection stays open.
asio::awaitable<bool> proxyHttp1ToH2(Worker& w, H1Request& r, const ir::Rule& rule,
                                     const CompiledBackend& backend, uint32_t* rr);

}  // namespace gantry::dataplane::upstream

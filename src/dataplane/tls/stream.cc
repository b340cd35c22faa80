#include "dataplane/tls/stream.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

namespace gantry::dataplane::tls {

std::optional<TlsStream> makeServerStream(asio::ip::tcp::socket socket,
                                          const ServerContextSet& set) {
  SSL* ssl = set.newSsl();
  if (ssl == nullptr) {
    asio::error_code ignored;
    socket.close(ignored);
    return std::nullopt;
  }
  // asio::ssl::stream(Arg&&, native_handle_type) takes ownership of the SSL.
  return std::optional<TlsStream>(std::in_place, std::move(socket), ssl);
}

std::optional<TlsStream> makeClientStream(asio::ip::tcp::socket socket, const ClientContext& ctx,
                                          ClientSessionSlot* slot) {
  SSL* ssl = ctx.newSsl(slot);
  if (ssl == nullptr) {
    asio::error_code ignored;
    socket.close(ignored);
    return std::nullopt;
  }
  return std::optional<TlsStream>(std::in_place, std::move(socket), ssl);
}

asio::awaitable<asio::error_code> handshake(TlsStream& stream,
                                            asio::ssl::stream_base::handshake_type type) {
  asio::error_code ec;
  co_await stream.async_handshake(type, asio::redirect_error(asio::use_awaitable, ec));
  co_return ec;
}

HandshakeInfo describe(const SSL* ssl) {
  HandshakeInfo hi;
  hi.alpn = selectedAlpn(ssl);
  hi.sni = sentSni(ssl);
  hi.resumed = SSL_session_reused(ssl) == 1;
  hi.version = SSL_get_version(ssl);
  if (SSL_is_server(ssl) == 1) {
    hi.selection = ServerContextSet::selection(ssl);
    hi.client_cert = ServerContextSet::clientCertStatus(ssl);
  }
  return hi;
}

asio::awaitable<PeekResult> readClientHello(asio::ip::tcp::socket& socket, uint8_t* buf, size_t cap,
                                            size_t* filled, ClientHelloInfo* info,
                                            asio::error_code* ec) {
  *ec = {};
  for (;;) {
    PeekResult r = peekClientHello(buf, *filled, info);
    if (r.status != PeekStatus::kNeedMore) co_return r;
    if (*filled >= cap) co_return PeekResult{PeekStatus::kMalformed, "ClientHello does not fit"};
    size_t n = co_await socket.async_read_some(asio::buffer(buf + *filled, cap - *filled),
                                               asio::redirect_error(asio::use_awaitable, *ec));
    if (*ec) co_return r;
    *filled += n;
  }
}

}  // namespace gantry::dataplane::tls

// Small text helpers for writing HTTP messages, shared by every proxy path (HTTP/1.1 downstream in
// proxy.cc, HTTP/2 downstream to HTTP/1.1 in http2/proxy_h1.cc, HTTP/1.1 to h2 backends in
// upstream/h1_to_h2.cc, gRPC in grpc/grpc_proxy.cc). Inline: several run once or more per request.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "dataplane/http1/syntax.h"

namespace gantry::dataplane::http1 {

// Lower-case hexadecimal, no leading zeros (chunk sizes, RFC 9112 7.1).
inline void appendHex(std::string& s, uint64_t v) {
  char buf[20];
  int n = 0;
  do {
    buf[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v != 0);
  while (n > 0) s.push_back(buf[--n]);
}

// Decimal without std::to_string's temporary (Content-Length, status codes).
inline void appendDec(std::string& s, uint64_t v) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) s.push_back(buf[--n]);
}

// Appends the field line "name: value\r\n" with one size change and plain copies: four
// std::string appends per field (each with its own capacity check, two with a strlen) cost ~1,300
// instructions per proxied request across the request and response heads (bench/README.md
// "Where the time goes").
inline void appendField(std::string& s, std::string_view name, std::string_view value) {
  const size_t at = s.size();
  s.resize(at + name.size() + value.size() + 4);
  char* p = s.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  p[0] = ':';
  p[1] = ' ';
  p += 2;
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  p[0] = '\r';
  p[1] = '\n';
}

// The peer's address as text (X-Forwarded-For), written into `buf`.
inline std::string_view clientIp(const asio::ip::tcp::endpoint& peer,
                                 char (&buf)[INET6_ADDRSTRLEN]) {
  const sockaddr* sa = peer.data();
  if (sa->sa_family == AF_INET) {
    // Dotted quad by hand: glibc's inet_ntop formats IPv4 through sprintf, which cost ~1.2 % of
    // the CPU per proxied request (bench/README.md "Where the time goes").
    const auto* a =
        reinterpret_cast<const unsigned char*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      unsigned v = a[i];
      if (v >= 100) *p++ = static_cast<char>('0' + v / 100);
      if (v >= 10) *p++ = static_cast<char>('0' + v / 10 % 10);
      *p++ = static_cast<char>('0' + v % 10);
      if (i < 3) *p++ = '.';
    }
    return std::string_view(buf, static_cast<size_t>(p - buf));
  }
  if (sa->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, buf, sizeof buf);
    return buf;
  }
  return "unknown";
}

inline std::string clientIp(const asio::ip::tcp::endpoint& peer) {
  char buf[INET6_ADDRSTRLEN];
  return std::string(clientIp(peer, buf));
}

// ASCII lower case (field names, RFC 9110 5.1: case-insensitive; HTTP/2 wants them lower case).
inline std::string lowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// Calls fn(name, value) for each "Name: value\r\n" line of `lines` (parser trailers, filter and
// session output), value without surrounding whitespace; lines without a name are skipped.
template <class Fn>
void forEachFieldLine(std::string_view lines, Fn&& fn) {
  while (!lines.empty()) {
    size_t eol = lines.find("\r\n");
    std::string_view line = lines.substr(0, eol);
    lines = eol == std::string_view::npos ? std::string_view() : lines.substr(eol + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    fn(line.substr(0, colon), trimOws(line.substr(colon + 1)));
  }
}

}  // namespace gantry::dataplane::http1

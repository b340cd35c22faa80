// ClientHello peeker: reads the server_name (SNI) and ALPN extensions out of the first bytes a
// client sends, so that a TLS passthrough listener (TLSRoute) can pick a backend without
// terminating TLS. It only reads public plaintext fields of the first flight (RFC 8446 section
// 4.1.2, RFC 5246 section 7.4.1.2); it never decrypts and never answers. Handshakes are done by
// OpenSSL (tls/server_context.h), never here.
//
// Who calls it: the passthrough connection coroutine on its worker thread, after every read, with
// ALL bytes received so far (peekClientHello is pure: same input, same answer). It performs no
// allocation and keeps no state between calls; the result owns copies of the fields it reports,
// so the caller may reuse or move its buffer afterwards. Cost is linear in the input.
//
// What it accepts (strict, every length checked against its enclosing length):
//   - TLS records of content type handshake(22) with legacy_record_version 0x03XX, fragment length
//     1..2^14 (RFC 8446 section 5.1: zero-length handshake fragments are forbidden, records are at
//     most 2^14 bytes);
//   - one ClientHello handshake message, possibly split over any number of records and reads;
//     records after the one that completes the ClientHello are not looked at;
//   - at most kMaxClientHelloBytes of handshake message and kMaxClientHelloWireBytes of records
//     (beyond that: kMalformed, so a peer cannot make the caller buffer without bound);
//   - extensions: server_name (RFC 6066 section 3: first host_name entry; ASCII letters, digits,
//     '-', '.', '_'; 1..255 bytes; no trailing dot) and
//     application_layer_protocol_negotiation (RFC 7301 section 3.1); each at most once (RFC 8446
//     section 4.2); other extensions are skipped after their length is checked.
// SSLv2-compatible hellos (first byte with the high bit set) and anything whose first byte is not
// 22 are kNotTls, so a plaintext client on a TLS port can be told apart from a broken TLS client.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace gantry::dataplane::tls {

enum class PeekStatus : uint8_t {
  kNeedMore,   // valid so far; read more bytes and call again
  kNotTls,     // the bytes are not a TLS handshake record (e.g. plaintext HTTP)
  kMalformed,  // a TLS record/ClientHello that breaks the format or our limits
  kOk,         // a complete ClientHello was parsed; ClientHelloInfo is filled
};

const char* toString(PeekStatus s);

// Handshake message body limit. Real ClientHellos are 200..2000 bytes (post-quantum key shares
// push them to ~1800); 64 KiB leaves room for large PSK identities and padding, like Envoy's
// tls_inspector default.
inline constexpr size_t kMaxClientHelloBytes = 64 * 1024;
// Wire bytes (record headers included) the peeker is willing to look at: a peer splitting its
// ClientHello into 1-byte records costs 6 bytes of wire per byte of message; this bounds it.
inline constexpr size_t kMaxClientHelloWireBytes = 128 * 1024;
inline constexpr size_t kMaxSniBytes = 255;       // a DNS name (RFC 1035 section 2.3.4)
inline constexpr size_t kMaxAlpnListBytes = 512;  // protocol names kept (wire format)

struct ClientHelloInfo {
  // SNI host_name, lower-cased (DNS names are case-insensitive, RFC 4343). Empty when the client
  // sent no server_name extension (e.g. connecting by IP address).
  std::string_view sni() const { return std::string_view(sni_buf, sni_len); }
  bool hasSni() const { return sni_len != 0; }

  // ALPN protocol names the client offered, in its order of preference.
  bool hasAlpn() const { return has_alpn; }
  size_t alpnCount() const { return alpn_count; }
  // i-th offered protocol (0 <= i < alpnCount()). Linear in i; lists are short.
  std::string_view alpn(size_t i) const;
  // ALPN protocol_name_list in wire format (length-prefixed names), as OpenSSL's
  // SSL_select_next_proto takes it.
  std::string_view alpnWire() const {
    return std::string_view(reinterpret_cast<const char*>(alpn_buf), alpn_len);
  }
  // True when the client offered more ALPN names than fit kMaxAlpnListBytes; the first ones
  // (whole names only) are kept.
  bool alpn_truncated = false;

  uint16_t legacy_version = 0;  // ClientHello.legacy_version (0x0303 for TLS 1.2 and 1.3)
  bool offers_tls13 = false;    // supported_versions lists 0x0304 (RFC 8446 section 4.2.1)
  size_t handshake_bytes = 0;   // ClientHello body length (handshake header excluded)
  size_t wire_bytes = 0;        // bytes of input up to the end of the record completing it

  // Storage (public so that the struct stays an aggregate; use the accessors).
  char sni_buf[kMaxSniBytes] = {};
  uint8_t sni_len = 0;
  bool has_alpn = false;
  uint16_t alpn_len = 0;
  uint16_t alpn_count = 0;
  uint8_t alpn_buf[kMaxAlpnListBytes] = {};
};

struct PeekResult {
  PeekStatus status = PeekStatus::kNeedMore;
  // For kMalformed/kNotTls: a static string saying what was wrong (for debug logs); else "".
  const char* reason = "";
};

// Parses `data` (everything received so far on the connection). On kOk fills `*info`; on other
// results `*info` is left in an unspecified but valid state.
PeekResult peekClientHello(const uint8_t* data, size_t size, ClientHelloInfo* info);

inline PeekResult peekClientHello(std::string_view data, ClientHelloInfo* info) {
  return peekClientHello(reinterpret_cast<const uint8_t*>(data.data()), data.size(), info);
}

}  // namespace gantry::dataplane::tls

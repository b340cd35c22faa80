#include "dataplane/tls/client_hello.h"

namespace gantry::dataplane::tls {

namespace {

constexpr uint8_t kContentTypeHandshake = 22;  // RFC 8446 section 5.1, ContentType
constexpr uint8_t kHandshakeClientHello = 1;   // RFC 8446 section 4, HandshakeType
constexpr size_t kRecordHeaderBytes = 5;
constexpr size_t kMaxRecordFragment = 1 << 14;  // RFC 8446 section 5.1, TLSPlaintext.length
constexpr uint16_t kExtServerName = 0;          // RFC 6066 section 3
constexpr uint16_t kExtAlpn = 16;               // RFC 7301 section 3.1
constexpr uint16_t kExtSupportedVersions = 43;  // RFC 8446 section 4.2.1
constexpr uint8_t kNameTypeHostName = 0;

enum class Rd : uint8_t { kOk, kNeedMore, kBad };

// Forward-only reader over the handshake-message bytes carried by consecutive handshake records:
// record headers are validated and skipped as they are crossed, so a ClientHello split over many
// records (and reads) is seen as one byte stream without copying it anywhere.
class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : d_(data), n_(size) {}

  // Message bytes consumed so far (handshake header included).
  size_t consumed() const { return consumed_; }
  size_t wirePos() const { return pos_; }
  const char* why() const { return why_; }
  Rd bad(const char* why) {
    why_ = why;
    return Rd::kBad;
  }

  Rd u8(uint8_t* out) {
    Rd r = fill();
    if (r != Rd::kOk) return r;
    *out = d_[pos_];
    advance(1);
    return Rd::kOk;
  }
  Rd u16(uint16_t* out) {
    uint8_t a = 0, b = 0;
    Rd r = u8(&a);
    if (r == Rd::kOk) r = u8(&b);
    *out = static_cast<uint16_t>((a << 8) | b);
    return r;
  }
  Rd u24(uint32_t* out) {
    uint8_t a = 0, b = 0, c = 0;
    Rd r = u8(&a);
    if (r == Rd::kOk) r = u8(&b);
    if (r == Rd::kOk) r = u8(&c);
    *out = (uint32_t{a} << 16) | (uint32_t{b} << 8) | c;
    return r;
  }
  // Copies len bytes to dst (dst may be null: skip).
  Rd copy(uint8_t* dst, size_t len) {
    while (len > 0) {
      Rd r = fill();
      if (r != Rd::kOk) return r;
      size_t take = frag_left_;
      if (take > n_ - pos_) take = n_ - pos_;
      if (take > len) take = len;
      if (dst != nullptr) {
        for (size_t i = 0; i < take; ++i) dst[i] = d_[pos_ + i];
        dst += take;
      }
      advance(take);
      len -= take;
    }
    return Rd::kOk;
  }
  Rd skip(size_t len) { return copy(nullptr, len); }

  // Set while reading the first record header: a wrong content type there means "not TLS" rather
  // than "broken TLS".
  bool first_record = true;

 private:
  void advance(size_t k) {
    pos_ += k;
    frag_left_ -= k;
    consumed_ += k;
  }

  // Makes at least one fragment byte available at pos_, crossing record headers.
  Rd fill() {
    while (frag_left_ == 0) {
      size_t have = n_ - pos_;
      // Validate the header bytes we have even if the header is incomplete, so that garbage is
      // rejected at once instead of waiting for more of it.
      if (have >= 1 && d_[pos_] != kContentTypeHandshake) {
        // RFC 8446 section 5.1: handshake messages MUST NOT be interleaved with other record
        // types.
        return bad(first_record ? "first byte is not a TLS handshake record"
                                : "non-handshake record inside the ClientHello");
      }
      if (have >= 2 && d_[pos_ + 1] != 3) {
        return bad(first_record ? "record version major is not 3" : "bad record version");
      }
      if (have < kRecordHeaderBytes) return Rd::kNeedMore;
      size_t len = (size_t{d_[pos_ + 3]} << 8) | d_[pos_ + 4];
      first_record = false;
      // RFC 8446 section 5.1: zero-length handshake fragments MUST NOT be sent.
      if (len == 0) return bad("zero-length handshake record");
      if (len > kMaxRecordFragment) return bad("record longer than 2^14");
      pos_ += kRecordHeaderBytes;
      frag_left_ = len;
      if (pos_ > kMaxClientHelloWireBytes) return bad("ClientHello spans too many wire bytes");
    }
    if (pos_ >= n_) return Rd::kNeedMore;
    return Rd::kOk;
  }

  const uint8_t* d_;
  size_t n_;
  size_t pos_ = 0;        // wire position
  size_t frag_left_ = 0;  // bytes of the current record's fragment not yet read
  size_t consumed_ = 0;
  const char* why_ = "";
};

#define PEEK_TRY(expr)        \
  do {                        \
    Rd peek_r_ = (expr);      \
    if (peek_r_ != Rd::kOk) { \
      return peek_r_;         \
    }                         \
  } while (0)

bool hostChar(uint8_t c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// server_name extension body (RFC 6066 section 3). Like OpenSSL (ssl/statem/extensions_srvr.c),
// exactly one host_name entry is accepted: RFC 6066 forbids two names of one type and no other
// type was ever defined, and a list OpenSSL would refuse is not worth routing.
Rd parseServerName(Reader& r, size_t ext_len, ClientHelloInfo* info) {
  uint16_t list_len = 0;
  if (ext_len < 2) return r.bad("server_name extension too short");
  PEEK_TRY(r.u16(&list_len));
  if (list_len != ext_len - 2 || list_len < 3) return r.bad("bad ServerNameList length");
  uint8_t type = 0;
  uint16_t name_len = 0;
  PEEK_TRY(r.u8(&type));
  if (type != kNameTypeHostName) return r.bad("server_name entry is not host_name");
  PEEK_TRY(r.u16(&name_len));
  if (name_len != list_len - 3) return r.bad("ServerNameList must hold exactly one host_name");
  if (name_len == 0 || name_len > kMaxSniBytes) return r.bad("bad host_name length");
  uint8_t* out = reinterpret_cast<uint8_t*>(info->sni_buf);
  PEEK_TRY(r.copy(out, name_len));
  for (size_t i = 0; i < name_len; ++i) {
    uint8_t c = out[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<uint8_t>(c - 'A' + 'a');
    if (!hostChar(c)) return r.bad("host_name has a character not allowed in a DNS name");
    if (c == '.' && (i == 0 || out[i - 1] == '.')) return r.bad("host_name has an empty label");
    out[i] = c;
  }
  // RFC 6066 section 3: "without a trailing dot".
  if (out[name_len - 1] == '.') return r.bad("host_name ends with a dot");
  info->sni_len = static_cast<uint8_t>(name_len);
  return Rd::kOk;
}

// application_layer_protocol_negotiation body (RFC 7301 section 3.1):
// ProtocolName protocol_name_list<2..2^16-1>, ProtocolName = opaque<1..2^8-1>.
Rd parseAlpn(Reader& r, size_t ext_len, ClientHelloInfo* info) {
  uint16_t list_len = 0;
  if (ext_len < 2) return r.bad("ALPN extension too short");
  PEEK_TRY(r.u16(&list_len));
  if (list_len != ext_len - 2 || list_len < 2) return r.bad("bad ProtocolNameList length");
  size_t left = list_len;
  info->has_alpn = true;
  while (left > 0) {
    uint8_t len = 0;
    PEEK_TRY(r.u8(&len));
    --left;
    if (len == 0) return r.bad("empty ALPN protocol name");
    if (len > left) return r.bad("ALPN protocol name overruns its list");
    if (!info->alpn_truncated && info->alpn_len + 1u + len <= kMaxAlpnListBytes) {
      info->alpn_buf[info->alpn_len] = len;
      PEEK_TRY(r.copy(info->alpn_buf + info->alpn_len + 1, len));
      info->alpn_len = static_cast<uint16_t>(info->alpn_len + 1 + len);
      ++info->alpn_count;
    } else {
      info->alpn_truncated = true;
      PEEK_TRY(r.skip(len));
    }
    left -= len;
  }
  return Rd::kOk;
}

// supported_versions body in a ClientHello (RFC 8446 section 4.2.1):
// ProtocolVersion versions<2..254>.
Rd parseSupportedVersions(Reader& r, size_t ext_len, ClientHelloInfo* info) {
  uint8_t list_len = 0;
  if (ext_len < 1) return r.bad("supported_versions too short");
  PEEK_TRY(r.u8(&list_len));
  if (list_len != ext_len - 1 || list_len < 2 || list_len % 2 != 0) {
    return r.bad("bad supported_versions length");
  }
  for (size_t i = 0; i < list_len; i += 2) {
    uint16_t v = 0;
    PEEK_TRY(r.u16(&v));
    if (v == 0x0304) info->offers_tls13 = true;
  }
  return Rd::kOk;
}

Rd parse(Reader& r, ClientHelloInfo* info) {
  // Handshake header: msg_type(1) length(3) (RFC 8446 section 4).
  uint8_t type = 0;
  PEEK_TRY(r.u8(&type));
  if (type != kHandshakeClientHello) return r.bad("first handshake message is not a ClientHello");
  uint32_t body_len = 0;
  PEEK_TRY(r.u24(&body_len));
  if (body_len > kMaxClientHelloBytes) return r.bad("ClientHello larger than the limit");
  const size_t msg_end = r.consumed() + body_len;
  info->handshake_bytes = body_len;

  // Fixed part: legacy_version(2) random(32) legacy_session_id<0..32>
  // cipher_suites<2..2^16-2> legacy_compression_methods<1..2^8-1>.
  // 2 + 32 + 1 + 2 + 2 + 1 + 1 = 41 bytes at least.
  if (body_len < 41) return r.bad("ClientHello too short");
  PEEK_TRY(r.u16(&info->legacy_version));
  if ((info->legacy_version >> 8) != 3) return r.bad("ClientHello.legacy_version major is not 3");
  PEEK_TRY(r.skip(32));
  uint8_t sid_len = 0;
  PEEK_TRY(r.u8(&sid_len));
  if (sid_len > 32) return r.bad("legacy_session_id longer than 32");
  PEEK_TRY(r.skip(sid_len));
  uint16_t cs_len = 0;
  PEEK_TRY(r.u16(&cs_len));
  if (cs_len < 2 || cs_len % 2 != 0) return r.bad("bad cipher_suites length");
  if (r.consumed() + cs_len > msg_end) return r.bad("cipher_suites overrun the ClientHello");
  PEEK_TRY(r.skip(cs_len));
  uint8_t comp_len = 0;
  if (r.consumed() + 1 > msg_end) return r.bad("ClientHello ends before compression methods");
  PEEK_TRY(r.u8(&comp_len));
  if (comp_len < 1) return r.bad("empty legacy_compression_methods");
  if (r.consumed() + comp_len > msg_end) return r.bad("compression methods overrun");
  PEEK_TRY(r.skip(comp_len));

  // RFC 5246 section 7.4.1.2: a TLS 1.2 ClientHello may end here (no extensions).
  if (r.consumed() == msg_end) return Rd::kOk;
  if (r.consumed() + 2 > msg_end) return r.bad("truncated extensions length");
  uint16_t exts_len = 0;
  PEEK_TRY(r.u16(&exts_len));
  if (r.consumed() + exts_len != msg_end) {
    return r.bad("extensions length does not match the ClientHello length");
  }
  bool seen_sni = false, seen_alpn = false, seen_versions = false;
  while (r.consumed() < msg_end) {
    if (r.consumed() + 4 > msg_end) return r.bad("truncated extension header");
    uint16_t ext_type = 0, ext_len = 0;
    PEEK_TRY(r.u16(&ext_type));
    PEEK_TRY(r.u16(&ext_len));
    const size_t ext_end = r.consumed() + ext_len;
    if (ext_end > msg_end) return r.bad("extension overruns the ClientHello");
    switch (ext_type) {
      case kExtServerName:
        // RFC 8446 section 4.2: no more than one extension of the same type.
        if (seen_sni) return r.bad("duplicate server_name extension");
        seen_sni = true;
        PEEK_TRY(parseServerName(r, ext_len, info));
        break;
      case kExtAlpn:
        if (seen_alpn) return r.bad("duplicate ALPN extension");
        seen_alpn = true;
        PEEK_TRY(parseAlpn(r, ext_len, info));
        break;
      case kExtSupportedVersions:
        if (seen_versions) return r.bad("duplicate supported_versions extension");
        seen_versions = true;
        PEEK_TRY(parseSupportedVersions(r, ext_len, info));
        break;
      default:
        PEEK_TRY(r.skip(ext_len));
        break;
    }
    if (r.consumed() != ext_end) return r.bad("extension body length mismatch");
  }
  return Rd::kOk;
}

}  // namespace

const char* toString(PeekStatus s) {
  switch (s) {
    case PeekStatus::kNeedMore:
      return "need-more";
    case PeekStatus::kNotTls:
      return "not-tls";
    case PeekStatus::kMalformed:
      return "malformed";
    case PeekStatus::kOk:
      return "ok";
  }
  return "?";
}

std::string_view ClientHelloInfo::alpn(size_t i) const {
  size_t off = 0;
  for (size_t k = 0; off < alpn_len; ++k) {
    size_t len = alpn_buf[off];
    if (k == i) return std::string_view(reinterpret_cast<const char*>(alpn_buf + off + 1), len);
    off += 1 + len;
  }
  return {};
}

PeekResult peekClientHello(const uint8_t* data, size_t size, ClientHelloInfo* info) {
  info->sni_len = 0;
  info->has_alpn = false;
  info->alpn_len = 0;
  info->alpn_count = 0;
  info->alpn_truncated = false;
  info->legacy_version = 0;
  info->offers_tls13 = false;
  info->handshake_bytes = 0;
  info->wire_bytes = 0;
  if (size == 0) return {PeekStatus::kNeedMore, ""};
  Reader r(data, size);
  Rd res = parse(r, info);
  switch (res) {
    case Rd::kOk:
      info->wire_bytes = r.wirePos();
      return {PeekStatus::kOk, ""};
    case Rd::kNeedMore:
      return {PeekStatus::kNeedMore, ""};
    case Rd::kBad:
      break;
  }
  // A first byte that is not a handshake record, or a first record whose version major is not 3,
  // is not TLS at all (plaintext HTTP starts with a letter, SSLv2 hellos with 0x80).
  if (r.first_record) return {PeekStatus::kNotTls, r.why()};
  return {PeekStatus::kMalformed, r.why()};
}

}  // namespace gantry::dataplane::tls

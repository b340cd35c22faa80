#include "dataplane/upstream/resilience.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace gantry::dataplane::upstream {

bool retryableStatus(const ir::Retry& r, unsigned status) {
  return std::find(r.codes.begin(), r.codes.end(), status) != r.codes.end();
}

uint32_t backoffMs(const ir::Retry& r, uint32_t retry) {
  if (r.backoff_ms == 0 || retry == 0) return 0;
  uint32_t shift = std::min<uint32_t>(retry - 1, 3);  // 1x, 2x, 4x, 8x, 8x...
  uint64_t ms = static_cast<uint64_t>(r.backoff_ms) << shift;
  return static_cast<uint32_t>(std::min<uint64_t>(ms, UINT32_MAX));
}

void Replay::capture(const std::vector<asio::const_buffer>& bufs, size_t from) {
  if (!active_ || overflow_) return;
  for (size_t i = from; i < bufs.size(); ++i) {
    if (body_.size() + bufs[i].size() > kMaxReplayBody) {
      overflow_ = true;
      body_.clear();
      return;
    }
    body_.append(static_cast<const char*>(bufs[i].data()), bufs[i].size());
  }
}

void Replay::shrink() {
  active_ = false;
  if (body_.capacity() > 16 * 1024) std::string().swap(body_);
  if (head_.capacity() > 16 * 1024) std::string().swap(head_);
  body_.clear();
  head_.clear();
}

bool sampleFraction(uint32_t numerator, uint32_t denominator, uint64_t random) {
  if (denominator == 0 || numerator == 0) return false;
  if (numerator >= denominator) return true;
  // Multiply-shift maps the 64-bit value onto [0, denominator) without a division bias worth
  // measuring (denominators are small).
  uint64_t x = static_cast<uint64_t>((static_cast<unsigned __int128>(random) * denominator) >> 64);
  return x < numerator;
}

FastRandom& threadRandom() {
  thread_local FastRandom r(
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
      (std::hash<std::thread::id>{}(std::this_thread::get_id()) << 1));
  return r;
}

namespace {

using Key = std::array<unsigned char, 32>;

const Key& sessionKey() {
  static const Key key = [] {
    Key k{};
    const char* env = std::getenv("GANTRY_SESSION_KEY");
    if (env != nullptr && env[0] != '\0') {
      // Any length: the key is the SHA-256 of the given string.
      unsigned int n = 0;
      EVP_Digest(env, std::strlen(env), k.data(), &n, EVP_sha256(), nullptr);
    } else if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      // No entropy source: fall back to a time-derived key (tokens stay opaque enough for
      // stickiness; they are not a security boundary).
      uint64_t t =
          static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count());
      std::memcpy(k.data(), &t, sizeof t);
    }
    return k;
  }();
  return key;
}

void mac(const unsigned char* data, size_t len, unsigned char out[32]) {
  const Key& k = sessionKey();
  unsigned int n = 0;
  HMAC(EVP_sha256(), k.data(), static_cast<int>(k.size()), data, len, out, &n);
}

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int b64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

void putBe(unsigned char* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<unsigned char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t getBe(const unsigned char* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

constexpr size_t kTokenBytes = 24;  // id 8, created 4, last used 4, MAC 8
constexpr size_t kTokenChars = kTokenBytes / 3 * 4;

}  // namespace

uint64_t endpointId(std::string_view backend_name, const asio::ip::tcp::endpoint& ep) {
  std::string s(backend_name);
  s.push_back('|');
  s.append(ep.address().to_string());
  s.push_back('|');
  s.append(std::to_string(ep.port()));
  unsigned char h[32];
  mac(reinterpret_cast<const unsigned char*>(s.data()), s.size(), h);
  return getBe(h, 8);
}

std::string encodeSessionToken(const SessionToken& t) {
  unsigned char b[kTokenBytes];
  putBe(b, t.endpoint_id, 8);
  putBe(b + 8, t.created_s, 4);
  putBe(b + 12, t.last_used_s, 4);
  unsigned char h[32];
  mac(b, 16, h);
  std::memcpy(b + 16, h, 8);
  std::string out;
  out.reserve(kTokenChars);
  for (size_t i = 0; i < kTokenBytes; i += 3) {
    uint32_t v = (uint32_t{b[i]} << 16) | (uint32_t{b[i + 1]} << 8) | b[i + 2];
    out.push_back(kB64[(v >> 18) & 63]);
    out.push_back(kB64[(v >> 12) & 63]);
    out.push_back(kB64[(v >> 6) & 63]);
    out.push_back(kB64[v & 63]);
  }
  return out;
}

std::optional<SessionToken> decodeSessionToken(std::string_view s) {
  if (s.size() != kTokenChars) return std::nullopt;
  unsigned char b[kTokenBytes];
  for (size_t i = 0, o = 0; i < kTokenChars; i += 4, o += 3) {
    uint32_t v = 0;
    for (size_t j = 0; j < 4; ++j) {
      int d = b64Value(s[i + j]);
      if (d < 0) return std::nullopt;
      v = (v << 6) | static_cast<uint32_t>(d);
    }
    b[o] = static_cast<unsigned char>(v >> 16);
    b[o + 1] = static_cast<unsigned char>(v >> 8);
    b[o + 2] = static_cast<unsigned char>(v);
  }
  unsigned char h[32];
  mac(b, 16, h);
  if (CRYPTO_memcmp(h, b + 16, 8) != 0) return std::nullopt;
  SessionToken t;
  t.endpoint_id = getBe(b, 8);
  t.created_s = static_cast<uint32_t>(getBe(b + 8, 4));
  t.last_used_s = static_cast<uint32_t>(getBe(b + 12, 4));
  return t;
}

bool sessionValid(const ir::SessionPersistence& sp, const SessionToken& t, uint32_t now_s) {
  // A token from the future (clock step back, or a forged time under a leaked key) is invalid.
  if (uint64_t{t.created_s} > uint64_t{now_s} + 60 ||
      uint64_t{t.last_used_s} > uint64_t{now_s} + 60)
    return false;
  if (sp.absolute_timeout_s != 0 && now_s >= t.created_s + uint64_t{sp.absolute_timeout_s})
    return false;
  if (sp.idle_timeout_s != 0 && now_s >= t.last_used_s + uint64_t{sp.idle_timeout_s}) return false;
  return true;
}

std::optional<std::string_view> findCookie(std::string_view header, std::string_view name) {
  // RFC 6265 5.4: cookie-string = cookie-pair *( ";" SP cookie-pair ); be lenient with spaces.
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view pair = header.substr(0, semi);
    header = semi == std::string_view::npos ? std::string_view() : header.substr(semi + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view n = pair.substr(0, eq);
    while (!n.empty() && (n.back() == ' ' || n.back() == '\t')) n.remove_suffix(1);
    if (n != name) continue;
    std::string_view v = pair.substr(eq + 1);
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
    return v;
  }
  return std::nullopt;
}

void appendSessionField(const ir::SessionPersistence& sp, std::string_view token,
                        std::string& out) {
  if (sp.type == ir::SessionPersistenceType::kCookie) {
    out.append("set-cookie: ").append(sp.name).push_back('=');
    out.append(token).append("; Path=/; HttpOnly");
    if (sp.permanent_cookie && sp.absolute_timeout_s != 0) {
      out.append("; Max-Age=").append(std::to_string(sp.absolute_timeout_s));
    }
    out.append("\r\n");
  } else if (sp.type == ir::SessionPersistenceType::kHeader) {
    out.append(sp.name).append(": ").append(token).append("\r\n");
  }
}

uint32_t wallClockSeconds() {
  return static_cast<uint32_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace gantry::dataplane::upstream

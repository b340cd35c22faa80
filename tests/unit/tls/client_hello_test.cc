// ClientHello peeker against real ClientHellos produced by OpenSSL clients (captured in memory:
// the client's first flight is whatever SSL_connect writes before it needs the server), plus
// hand-built and mutated ones for the error paths.
#include "dataplane/tls/client_hello.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

namespace gantry::dataplane::tls {
namespace {

struct HelloOptions {
  std::string sni;
  std::vector<std::string> alpn;
  int max_version = TLS1_3_VERSION;
};

// The bytes an OpenSSL client sends first (its ClientHello, as TLS records).
std::string captureClientHello(const HelloOptions& o) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(ctx, o.max_version);
  SSL* ssl = SSL_new(ctx);
  BIO* rbio = BIO_new(BIO_s_mem());
  BIO* wbio = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, rbio, wbio);
  if (!o.sni.empty()) SSL_set_tlsext_host_name(ssl, o.sni.c_str());
  if (!o.alpn.empty()) {
    std::string wire;
    for (const auto& p : o.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  int r = SSL_connect(ssl);
  EXPECT_EQ(SSL_get_error(ssl, r), SSL_ERROR_WANT_READ);
  char* p = nullptr;
  long n = BIO_get_mem_data(wbio, &p);
  std::string out(p, static_cast<size_t>(n));
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  return out;
}

// Re-splits the handshake bytes of `wire` (one or more handshake records) into records carrying
// at most `chunk` bytes each.
std::string refragment(const std::string& wire, size_t chunk) {
  std::string hs;
  size_t pos = 0;
  while (pos + 5 <= wire.size()) {
    size_t len = (static_cast<uint8_t>(wire[pos + 3]) << 8) | static_cast<uint8_t>(wire[pos + 4]);
    hs += wire.substr(pos + 5, len);
    pos += 5 + len;
  }
  std::string out;
  for (size_t off = 0; off < hs.size(); off += chunk) {
    size_t n = std::min(chunk, hs.size() - off);
    out.push_back(22);
    out.push_back(3);
    out.push_back(1);
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xff));
    out += hs.substr(off, n);
  }
  return out;
}

PeekResult peek(const std::string& s, ClientHelloInfo* info) { return peekClientHello(s, info); }

// --- Hand-built ClientHellos ---------------------------------------------------------------

void put16(std::string& s, size_t v) {
  s.push_back(static_cast<char>((v >> 8) & 0xff));
  s.push_back(static_cast<char>(v & 0xff));
}
void put24(std::string& s, size_t v) {
  s.push_back(static_cast<char>((v >> 16) & 0xff));
  put16(s, v);
}

std::string ext(uint16_t type, const std::string& body) {
  std::string e;
  put16(e, type);
  put16(e, body.size());
  return e + body;
}

std::string sniExt(const std::string& host) {
  std::string list;
  list.push_back(0);
  put16(list, host.size());
  list += host;
  std::string body;
  put16(body, list.size());
  return ext(0, body + list);
}

// A minimal ClientHello with the given extensions block (nullptr-like "none" = no block).
std::string buildHello(const std::string& exts, bool with_exts = true) {
  std::string body;
  put16(body, 0x0303);
  body += std::string(32, '\x42');
  body.push_back(0);  // session id
  put16(body, 2);     // cipher suites
  put16(body, 0x1301);
  body.push_back(1);  // compression methods
  body.push_back(0);
  if (with_exts) {
    put16(body, exts.size());
    body += exts;
  }
  std::string hs;
  hs.push_back(1);
  put24(hs, body.size());
  hs += body;
  std::string rec;
  rec.push_back(22);
  rec.push_back(3);
  rec.push_back(1);
  put16(rec, hs.size());
  return rec + hs;
}

TEST(ClientHelloTest, RealHelloWithSniAndAlpn) {
  std::string hello = captureClientHello({"Api.Example.com", {"h2", "http/1.1"}});
  ASSERT_GT(hello.size(), 100u);
  ClientHelloInfo info;
  PeekResult r = peek(hello, &info);
  ASSERT_EQ(r.status, PeekStatus::kOk) << r.reason;
  EXPECT_EQ(info.sni(), "api.example.com");  // lower-cased
  EXPECT_TRUE(info.hasAlpn());
  ASSERT_EQ(info.alpnCount(), 2u);
  EXPECT_EQ(info.alpn(0), "h2");
  EXPECT_EQ(info.alpn(1), "http/1.1");
  EXPECT_EQ(info.alpn(2), "");
  EXPECT_EQ(info.alpnWire(), std::string("\x02h2\x08http/1.1"));
  EXPECT_FALSE(info.alpn_truncated);
  EXPECT_TRUE(info.offers_tls13);
  EXPECT_EQ(info.legacy_version, 0x0303);
  EXPECT_EQ(info.wire_bytes, hello.size());
  EXPECT_EQ(info.handshake_bytes + 4 + 5, hello.size());
}

TEST(ClientHelloTest, RealHelloWithoutSni) {
  std::string hello = captureClientHello({"", {}});
  ClientHelloInfo info;
  ASSERT_EQ(peek(hello, &info).status, PeekStatus::kOk);
  EXPECT_FALSE(info.hasSni());
  EXPECT_EQ(info.sni(), "");
  EXPECT_FALSE(info.hasAlpn());
  EXPECT_EQ(info.alpnCount(), 0u);
}

TEST(ClientHelloTest, Tls12OnlyClient) {
  std::string hello = captureClientHello({"legacy.example.com", {"http/1.1"}, TLS1_2_VERSION});
  ClientHelloInfo info;
  ASSERT_EQ(peek(hello, &info).status, PeekStatus::kOk);
  EXPECT_EQ(info.sni(), "legacy.example.com");
  EXPECT_FALSE(info.offers_tls13);
  ASSERT_EQ(info.alpnCount(), 1u);
  EXPECT_EQ(info.alpn(0), "http/1.1");
}

TEST(ClientHelloTest, EveryPrefixNeedsMore) {
  std::string hello = captureClientHello({"a.example.com", {"h2"}});
  ClientHelloInfo info;
  for (size_t n = 0; n < hello.size(); ++n) {
    PeekResult r = peekClientHello(reinterpret_cast<const uint8_t*>(hello.data()), n, &info);
    ASSERT_EQ(r.status, PeekStatus::kNeedMore) << "prefix " << n << ": " << r.reason;
  }
}

TEST(ClientHelloTest, SplitAcrossRecordsAndReads) {
  std::string hello = captureClientHello({"split.example.com", {"h2", "http/1.1"}});
  for (size_t chunk : {1u, 2u, 3u, 7u, 64u, 100u, 511u}) {
    std::string wire = refragment(hello, chunk);
    ClientHelloInfo info;
    // Every prefix (= state after some reads) needs more; the whole is Ok.
    for (size_t n = 0; n < wire.size(); n += 1 + n / 16) {
      PeekResult r = peekClientHello(reinterpret_cast<const uint8_t*>(wire.data()), n, &info);
      ASSERT_EQ(r.status, PeekStatus::kNeedMore) << "chunk " << chunk << " prefix " << n;
    }
    PeekResult r = peek(wire, &info);
    ASSERT_EQ(r.status, PeekStatus::kOk) << "chunk " << chunk << ": " << r.reason;
    EXPECT_EQ(info.sni(), "split.example.com");
    ASSERT_EQ(info.alpnCount(), 2u);
    EXPECT_EQ(info.alpn(1), "http/1.1");
    EXPECT_EQ(info.wire_bytes, wire.size());
  }
}

TEST(ClientHelloTest, TrailingBytesAfterTheHelloAreIgnored) {
  std::string hello = captureClientHello({"x.example.com", {}});
  std::string more = hello + std::string("\x17\x03\x03\x00\x05hello", 10);  // early data record
  ClientHelloInfo info;
  ASSERT_EQ(peek(more, &info).status, PeekStatus::kOk);
  EXPECT_EQ(info.wire_bytes, hello.size());
}

TEST(ClientHelloTest, NotTls) {
  ClientHelloInfo info;
  EXPECT_EQ(peek("GET / HTTP/1.1\r\nHost: x\r\n\r\n", &info).status, PeekStatus::kNotTls);
  EXPECT_EQ(peek("G", &info).status, PeekStatus::kNotTls);
  EXPECT_EQ(peek("PRI * HTTP/2.0\r\n", &info).status, PeekStatus::kNotTls);
  // SSLv2-compatible ClientHello: high bit set in the first byte.
  EXPECT_EQ(peek(std::string("\x80\x2e\x01\x03\x01", 5), &info).status, PeekStatus::kNotTls);
  // Handshake content type but a version major that is not 3.
  EXPECT_EQ(peek(std::string("\x16\x02", 2), &info).status, PeekStatus::kNotTls);
  EXPECT_EQ(peek(std::string("\x16", 1), &info).status, PeekStatus::kNeedMore);
  EXPECT_EQ(peek(std::string("\x16\x03\x01\x00", 4), &info).status, PeekStatus::kNeedMore);
}

TEST(ClientHelloTest, HandBuiltHelloWithoutExtensions) {
  ClientHelloInfo info;
  PeekResult r = peek(buildHello("", /*with_exts=*/false), &info);
  ASSERT_EQ(r.status, PeekStatus::kOk) << r.reason;
  EXPECT_FALSE(info.hasSni());
  EXPECT_FALSE(info.offers_tls13);
}

TEST(ClientHelloTest, HandBuiltSni) {
  ClientHelloInfo info;
  PeekResult r = peek(buildHello(sniExt("Foo-Bar_1.Example.COM")), &info);
  ASSERT_EQ(r.status, PeekStatus::kOk) << r.reason;
  EXPECT_EQ(info.sni(), "foo-bar_1.example.com");
  std::string longest(255, 'a');
  for (size_t i = 63; i < 255; i += 64) longest[i] = '.';
  ASSERT_EQ(peek(buildHello(sniExt(longest)), &info).status, PeekStatus::kOk);
  EXPECT_EQ(info.sni().size(), 255u);
}

TEST(ClientHelloTest, MalformedSni) {
  ClientHelloInfo info;
  for (const std::string& bad :
       {std::string("a.example.com."), std::string(".a.com"), std::string("a..b"),
        std::string("a b.com"), std::string("a\0b.com", 7), std::string(256, 'a'),
        std::string("caf\xc3\xa9.com")}) {
    PeekResult r = peek(buildHello(sniExt(bad)), &info);
    EXPECT_EQ(r.status, PeekStatus::kMalformed) << "'" << bad << "'";
  }
  // Two extensions of the same type (RFC 8446 section 4.2).
  EXPECT_EQ(peek(buildHello(sniExt("a.com") + sniExt("b.com")), &info).status,
            PeekStatus::kMalformed);
  // Empty server_name extension (only a server sends that).
  EXPECT_EQ(peek(buildHello(ext(0, "")), &info).status, PeekStatus::kMalformed);
  // A name type other than host_name.
  std::string list(
      "\x01\x00\x03"
      "abc",
      6);
  std::string body;
  put16(body, list.size());
  EXPECT_EQ(peek(buildHello(ext(0, body + list)), &info).status, PeekStatus::kMalformed);
}

TEST(ClientHelloTest, MalformedAlpn) {
  ClientHelloInfo info;
  // Empty protocol name.
  EXPECT_EQ(peek(buildHello(ext(16, std::string("\x00\x01\x00", 3))), &info).status,
            PeekStatus::kMalformed);
  // Name overrunning its list.
  EXPECT_EQ(peek(buildHello(ext(16, std::string("\x00\x03\x05h2x", 6))), &info).status,
            PeekStatus::kMalformed);
  // List length disagreeing with the extension length.
  EXPECT_EQ(peek(buildHello(ext(16, std::string("\x00\x04\x02h2", 5))), &info).status,
            PeekStatus::kMalformed);
  // Valid, for contrast.
  ASSERT_EQ(peek(buildHello(ext(16, std::string("\x00\x03\x02h2", 5))), &info).status,
            PeekStatus::kOk);
  EXPECT_EQ(info.alpn(0), "h2");
}

TEST(ClientHelloTest, AlpnListLongerThanKeptIsTruncatedOnNameBoundaries) {
  std::string list;
  for (int i = 0; i < 20; ++i) {
    std::string name = "proto-" + std::to_string(i) + std::string(40, 'x');
    list.push_back(static_cast<char>(name.size()));
    list += name;
  }
  std::string body;
  put16(body, list.size());
  ClientHelloInfo info;
  ASSERT_EQ(peek(buildHello(ext(16, body + list)), &info).status, PeekStatus::kOk);
  EXPECT_TRUE(info.alpn_truncated);
  EXPECT_GT(info.alpnCount(), 5u);
  EXPECT_LT(info.alpnCount(), 20u);
  EXPECT_EQ(info.alpn(0).substr(0, 8), "proto-0x");
}

TEST(ClientHelloTest, MalformedRecordsAndLengths) {
  std::string good = buildHello(sniExt("ok.com"));
  ClientHelloInfo info;
  ASSERT_EQ(peek(good, &info).status, PeekStatus::kOk);

  std::string zero_rec = std::string("\x16\x03\x01\x00\x00", 5) + good;
  EXPECT_EQ(peek(zero_rec, &info).status, PeekStatus::kMalformed);

  std::string huge_rec = good;
  huge_rec[3] = '\x40';  // length 0x40xx > 2^14
  huge_rec[4] = '\x01';
  EXPECT_EQ(peek(huge_rec, &info).status, PeekStatus::kMalformed);

  std::string not_ch = good;
  not_ch[5] = 2;  // ServerHello
  EXPECT_EQ(peek(not_ch, &info).status, PeekStatus::kMalformed);

  std::string too_big = good;
  too_big[6] = 0x10;  // handshake length 1 MiB+
  EXPECT_EQ(peek(too_big, &info).status, PeekStatus::kMalformed);

  // Alert record interleaved in the middle of a fragmented ClientHello.
  std::string frag = refragment(captureClientHello({"a.com", {}}), 50);
  std::string interleaved = frag.substr(0, 55) + std::string("\x15\x03\x03\x00\x02\x02\x28", 7);
  EXPECT_EQ(peek(interleaved, &info).status, PeekStatus::kMalformed);

  // Extensions block length disagreeing with the message length.
  std::string short_exts = buildHello(sniExt("ok.com"));
  short_exts[5 + 4 + 2 + 32 + 1 + 2 + 2 + 2 + 1] ^= 0x01;  // low byte of extensions length
  EXPECT_EQ(peek(short_exts, &info).status, PeekStatus::kMalformed);

  // Session id longer than 32.
  std::string sid = good;
  sid[5 + 4 + 2 + 32] = 33;
  EXPECT_EQ(peek(sid, &info).status, PeekStatus::kMalformed);
}

TEST(ClientHelloTest, TooManyWireBytesIsMalformed) {
  // A ClientHello claiming 60 KiB, sent as 1-byte records: more than kMaxClientHelloWireBytes of
  // wire before it could complete, so the peeker gives up instead of asking for more forever.
  std::string body;
  put16(body, 0x0303);
  body += std::string(32, 'r');
  body.push_back(0);
  put16(body, 61400);  // cipher suites: long but valid so far
  body += std::string(61400, '\x13');
  body += std::string("\x02\x00\x00", 3);
  ASSERT_EQ(body.size(), 0xf000u);
  std::string hs("\x01\x00\xf0\x00", 4);
  hs += body;
  std::string wire;
  for (char c : hs) {
    wire += std::string("\x16\x03\x01\x00\x01", 5);
    wire.push_back(c);
  }
  ClientHelloInfo info;
  EXPECT_EQ(peek(wire, &info).status, PeekStatus::kMalformed);
}

TEST(ClientHelloTest, SingleByteMutationsNeverCrash) {
  // Every single-byte change of a real ClientHello gives one of the four answers; when it still
  // parses, the SNI it reports is well formed (lower-case DNS characters only).
  std::string hello = captureClientHello({"mutate.example.com", {"h2", "http/1.1"}});
  ClientHelloInfo info;
  for (size_t i = 0; i < hello.size(); ++i) {
    for (int delta : {1, 0x80, 0xff}) {
      std::string m = hello;
      m[i] = static_cast<char>(static_cast<uint8_t>(m[i]) + delta);
      PeekResult r = peek(m, &info);
      if (r.status == PeekStatus::kOk) {
        for (char c : info.sni()) {
          ASSERT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                      c == '_')
              << "byte " << i;
        }
      }
    }
  }
}

TEST(ClientHelloTest, CheckedInCorpusIsRealClientHellos) {
  // fuzz/tls_client_hello/corpus holds ClientHellos captured from `openssl s_client`
  // (make_corpus.py); every seed must parse, whole and re-fragmented.
  const std::map<std::string, std::string> expected_sni = {
      {"sni_alpn_h2_h11", "api.example.com"},
      {"sni_only", "www.example.org"},
      {"no_sni", ""},
      {"no_sni_alpn", ""},
      {"tls12_only", "legacy.example.com"},
      {"tls13_only", "new.example.com"},
      {"groups_p384", "ec.example.com"},
      {"many_alpn", "a.b"},
  };
  std::filesystem::path dir =
      std::filesystem::path(GANTRY_SOURCE_DIR) / "fuzz" / "tls_client_hello" / "corpus";
  size_t seen = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    ClientHelloInfo info;
    PeekResult r = peek(bytes, &info);
    ASSERT_EQ(r.status, PeekStatus::kOk) << entry.path() << ": " << r.reason;
    std::string stem = entry.path().stem().string();
    if (auto pos = stem.find("_frag40"); pos != std::string::npos) stem.resize(pos);
    if (auto it = expected_sni.find(stem); it != expected_sni.end()) {
      EXPECT_EQ(info.sni(), it->second) << stem;
    }
    if (stem == "many_alpn") {
      EXPECT_EQ(info.alpnCount(), 40u);
    } else if (stem == "sni_alpn_h2_h11") {
      EXPECT_EQ(info.alpn(0), "h2");
    } else if (stem == "tls12_only") {
      EXPECT_FALSE(info.offers_tls13);
    }
    ++seen;
  }
  EXPECT_GE(seen, 18u);
}

}  // namespace
}  // namespace gantry::dataplane::tls

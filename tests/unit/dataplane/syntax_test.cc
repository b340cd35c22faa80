// Framing and header rules (RFC 9112), host validation and path normalisation.
#include "dataplane/http1/syntax.h"

#include <gtest/gtest.h>

#include <string>

namespace gantry::dataplane::http1 {
namespace {

HeadStatus scanAll(std::string_view s, bool request = true, uint32_t max_bytes = 65536,
                   uint32_t max_fields = 100) {
  HeadScanner sc(max_bytes, max_fields, request);
  return sc.scan(s.data(), s.size());
}

TEST(HeadScanner, CompleteRequest) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\n\r\nextra";
  HeadScanner sc(65536, 100, true);
  EXPECT_EQ(sc.scan(s.data(), s.size()), HeadStatus::kComplete);
  EXPECT_EQ(sc.headLen(), s.size() - 5);
}

TEST(HeadScanner, IncrementalFeedIsLinearAndCorrect) {
  std::string s = "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n";
  HeadScanner sc(65536, 100, true);
  for (size_t i = 1; i < s.size(); ++i) {
    ASSERT_EQ(sc.scan(s.data(), i), HeadStatus::kIncomplete) << i;
  }
  EXPECT_EQ(sc.scan(s.data(), s.size()), HeadStatus::kComplete);
}

TEST(HeadScanner, LeadingEmptyLinesSkipped) {
  std::string s = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  HeadScanner sc(65536, 100, true);
  EXPECT_EQ(sc.scan(s.data(), s.size()), HeadStatus::kComplete);
  EXPECT_EQ(sc.startLineOffset(), 4u);
}

TEST(HeadScanner, RejectsBareLf) {
  EXPECT_EQ(scanAll("GET / HTTP/1.1\nHost: a\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nHost: a\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nHost: a\r\n\n"), HeadStatus::kBad);
}

TEST(HeadScanner, RejectsBareCrNulAndCtl) {
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll(std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29)), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: a\x01\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: a\x7f\r\n\r\n"), HeadStatus::kBad);
  // HTAB and obs-text are allowed in values.
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: a\tb\xe9\r\n\r\n"), HeadStatus::kComplete);
}

TEST(HeadScanner, RejectsObsFold) {
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n"), HeadStatus::kBad);
}

TEST(HeadScanner, RejectsBadFieldNames) {
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), HeadStatus::kBad);  // RFC 9112 5.1
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\n: a\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX(y): a\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nnocolon\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET / HTTP/1.1\r\nX-Ok_1!#$%&'*+.^`|~: a\r\n\r\n"), HeadStatus::kComplete);
}

TEST(HeadScanner, RequestLineMustBePrintableAscii) {
  EXPECT_EQ(scanAll("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"), HeadStatus::kBad);
  EXPECT_EQ(scanAll("GET /\t HTTP/1.1\r\nHost: a\r\n\r\n"), HeadStatus::kBad);
  // A status line's reason phrase may carry obs-text.
  EXPECT_EQ(scanAll("HTTP/1.1 200 \xe9t\xe9\r\n\r\n", false), HeadStatus::kComplete);
}

TEST(HeadScanner, Limits) {
  std::string big = "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a') + "\r\n\r\n";
  EXPECT_EQ(scanAll(big, true, 1024), HeadStatus::kTooLarge);
  // Too large even before a line ends.
  std::string partial = "GET / HTTP/1.1\r\nX: " + std::string(2000, 'a');
  EXPECT_EQ(scanAll(partial, true, 1024), HeadStatus::kTooLarge);
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 11; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  EXPECT_EQ(scanAll(many, true, 65536, 10), HeadStatus::kTooMany);
  EXPECT_EQ(scanAll(many, true, 65536, 11), HeadStatus::kComplete);
}

ChunkedValidator::Result chunked(std::string_view s, size_t* used = nullptr) {
  ChunkedValidator v;
  size_t u = 0;
  auto r = v.feed(s.data(), s.size(), &u);
  if (used) *used = u;
  return r;
}

TEST(ChunkedValidator, Valid) {
  size_t used = 0;
  EXPECT_EQ(chunked("5\r\nhello\r\n0\r\n\r\nNEXT", &used), ChunkedValidator::kDone);
  EXPECT_EQ(used, 15u);
  EXPECT_EQ(chunked("5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nT: v\r\n\r\n"),
            ChunkedValidator::kDone);
  EXPECT_EQ(chunked("5\r\nhel"), ChunkedValidator::kMore);
}

TEST(ChunkedValidator, ByteByByte) {
  std::string s = "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n";
  ChunkedValidator v;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    size_t used;
    ASSERT_EQ(v.feed(s.data() + i, 1, &used), ChunkedValidator::kMore) << i;
  }
  size_t used;
  EXPECT_EQ(v.feed(s.data() + s.size() - 1, 1, &used), ChunkedValidator::kDone);
}

TEST(ChunkedValidator, RejectsSmugglingShapes) {
  EXPECT_EQ(chunked("zz\r\nhello\r\n0\r\n\r\n"), ChunkedValidator::kBad);
  EXPECT_EQ(chunked("-5\r\nhello\r\n0\r\n\r\n"), ChunkedValidator::kBad);
  EXPECT_EQ(chunked("fffffffffffffffff\r\n"), ChunkedValidator::kBad);  // overflow
  EXPECT_EQ(chunked("5\r\nhelloXX0\r\n\r\n"), ChunkedValidator::kBad);  // data overrun
  EXPECT_EQ(chunked("5\nhello\n0\n\n"), ChunkedValidator::kBad);        // bare LF
  EXPECT_EQ(chunked("5\r\nhello\r\n0\r\nT: v\n\r\n"), ChunkedValidator::kBad);
  EXPECT_EQ(chunked("5\r\nhello\r\n0\r\n fold\r\n\r\n"), ChunkedValidator::kBad);
  EXPECT_EQ(chunked("\r\n"), ChunkedValidator::kBad);  // empty size
  EXPECT_EQ(chunked("5;\x01\r\n"), ChunkedValidator::kBad);
}

TEST(Host, Valid) {
  std::string h;
  EXPECT_TRUE(parseHost("Example.COM:8080", &h));
  EXPECT_EQ(h, "example.com");
  EXPECT_TRUE(parseHost("[::1]:80", &h));
  EXPECT_EQ(h, "[::1]");
  EXPECT_TRUE(parseHost("10.0.0.1", &h));
  EXPECT_EQ(h, "10.0.0.1");
  EXPECT_TRUE(parseHost("a.b:", &h));  // port = *DIGIT
  EXPECT_EQ(h, "a.b");
}

TEST(Host, Malformed) {
  std::string h;
  for (const char* bad : {"a b", "a:b", "a:99999", "a:123456", ":80", "[::1", "[zz]", "a/b", "a@b",
                          "a\"b", "[::1]x", "a:8:8"}) {
    EXPECT_FALSE(parseHost(bad, &h)) << bad;
  }
}

std::string norm(std::string_view in, bool merge = false) {
  std::string out;
  if (!normalizePath(in, &out, merge)) return "<invalid>";
  return out;
}

TEST(Path, DotSegments) {
  EXPECT_EQ(norm("/a/b/../c"), "/a/c");
  EXPECT_EQ(norm("/a/./b"), "/a/b");
  EXPECT_EQ(norm("/a/."), "/a/");
  EXPECT_EQ(norm("/a/.."), "/");
  EXPECT_EQ(norm("/.."), "/");
  EXPECT_EQ(norm("/../../x"), "/x");
  EXPECT_EQ(norm("/a/..b/c"), "/a/..b/c");
  EXPECT_EQ(norm("/a/b/.."), "/a/");
}

TEST(Path, PercentDecodingOnlyUnreserved) {
  EXPECT_EQ(norm("/%61%62c"), "/abc");
  EXPECT_EQ(norm("/a%2fb"), "/a%2Fb");  // kept encoded, hex upper-cased
  EXPECT_EQ(norm("/a%5Cb"), "/a%5Cb");
  EXPECT_EQ(norm("/a%23b"), "/a%23b");
  EXPECT_EQ(norm("/a%00b"), "/a%00b");
  EXPECT_EQ(norm("/a%20b"), "/a%20b");
  // Encoded dots are decoded first, then removed: routing and forwarding see the same "/x".
  EXPECT_EQ(norm("/admin/%2e%2e/x"), "/x");
  EXPECT_EQ(norm("/admin/%2E./x"), "/x");
  // But an encoded slash never becomes a separator.
  EXPECT_EQ(norm("/a%2f..%2fb"), "/a%2F..%2Fb");
}

TEST(Path, SlashesNotMergedByDefault) {
  EXPECT_EQ(norm("//a///b"), "//a///b");
  EXPECT_EQ(norm("//a///b", true), "/a/b");
}

TEST(Path, Invalid) {
  for (const char* bad :
       {"", "a", "/a%", "/a%4", "/a%zz", "/a b", "/a\\b", "/a#b", "/\x80", "/a\x7f"}) {
    EXPECT_EQ(norm(bad), "<invalid>") << bad;
  }
}

TEST(Tokens, ConnectionTokens) {
  EXPECT_TRUE(hasToken("keep-alive, Upgrade", "upgrade"));
  EXPECT_TRUE(hasToken(" close ", "close"));
  EXPECT_FALSE(hasToken("upgrades", "upgrade"));
  EXPECT_FALSE(hasToken("", "close"));
}

}  // namespace
}  // namespace gantry::dataplane::http1

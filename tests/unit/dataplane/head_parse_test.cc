// Parser::feedHead (the single-pass incremental head parse of the proxy's hot path) against the
// two-pass reference it replaced there: HeadScanner's strict checks, then parseHead() over the
// head. For every head of a corpus of valid and malformed ones, and for every way of splitting it
// into two reads (with the buffer moved between them, as ByteBuf::compact/grow do), both must
// accept or reject alike, and agree on the head length, fields, target, status and framing.
#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dataplane/http1/parser.h"
#include "dataplane/http1/syntax.h"

namespace gantry::dataplane::http1 {
namespace {

struct Outcome {
  HeadStatus status = HeadStatus::kIncomplete;
  size_t head_len = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  std::string target;
  unsigned status_code = 0;
  bool chunked = false;
  bool has_cl = false;
  uint64_t cl = 0;
  bool keep_alive = false;
  bool done = false;  // the message ended with the head (no body)

  // Rejections compare by class: which of 400/431 a head that is both malformed and too large
  // gets depends on where each check looks first.
  static bool rejected(HeadStatus s) {
    return s == HeadStatus::kBad || s == HeadStatus::kTooLarge || s == HeadStatus::kTooMany;
  }
};

Outcome fill(const Parser& p, HeadStatus st, size_t head_len, const std::vector<Header>& h) {
  Outcome o;
  o.status = st;
  if (st != HeadStatus::kComplete) return o;
  o.head_len = head_len;
  for (const Header& x : h) o.fields.emplace_back(std::string(x.name), std::string(x.value));
  o.target = std::string(p.target());
  o.status_code = p.status();
  o.chunked = p.chunked();
  o.has_cl = p.hasContentLength();
  o.cl = p.contentLength();
  o.keep_alive = p.keepAlive();
  o.done = p.done();
  return o;
}

// The reference: HeadScanner over the whole input, then parseHead over the head it found.
Outcome reference(const std::string& s, bool request, uint32_t max_bytes, uint32_t max_fields,
                  bool head_request) {
  HeadScanner sc(max_bytes, max_fields, request);
  HeadStatus st = sc.scan(s.data(), s.size());
  if (st != HeadStatus::kComplete) return fill(Parser(), st, 0, {});
  Parser p;
  p.reset(request ? HTTP_REQUEST : HTTP_RESPONSE);
  std::vector<Header> h;
  const char* head = s.data() + sc.startLineOffset();
  size_t head_bytes = sc.headLen() - sc.startLineOffset();
  bool no_body = false;
  if (!request) {
    unsigned code = 0;
    if (head_bytes >= 12) {
      for (int i = 9; i < 12; ++i) code = code * 10 + static_cast<unsigned>(head[i] - '0');
    }
    no_body = head_request || (code >= 100 && code < 200) || code == 204 || code == 304;
  }
  if (!p.parseHead(head, head_bytes, &h, no_body)) return fill(p, HeadStatus::kBad, 0, {});
  return fill(p, st, sc.headLen(), h);
}

// feedHead over s delivered in two reads split at `split`; the second read lands in a new buffer
// (the bytes move, as when the proxy compacts or grows its read buffer).
Outcome incremental(const std::string& s, size_t split, bool request, uint32_t max_bytes,
                    uint32_t max_fields, bool head_request) {
  Parser p;
  std::vector<Header> h;
  p.beginHead(request ? HTTP_REQUEST : HTTP_RESPONSE, &h, max_bytes, max_fields, head_request);
  auto a = std::make_unique<char[]>(s.size() + 1);
  std::memcpy(a.get(), s.data(), split);
  HeadStatus st = p.feedHead(a.get(), split);
  if (st == HeadStatus::kIncomplete && split < s.size()) {
    auto b = std::make_unique<char[]>(s.size() + 1);
    std::memcpy(b.get(), s.data(), s.size());
    std::memset(a.get(), 'Z', split);  // the old copy must not be read any more
    st = p.feedHead(b.get(), s.size());
    return fill(p, st, p.headLen(), h);
  }
  return fill(p, st, p.headLen(), h);
}

void expectSame(const std::string& s, bool request, uint32_t max_bytes = 65536,
                uint32_t max_fields = 100, bool head_request = false) {
  Outcome want = reference(s, request, max_bytes, max_fields, head_request);
  for (size_t split = 0; split <= s.size(); ++split) {
    SCOPED_TRACE(testing::Message()
                 << "input " << testing::PrintToString(s) << " split at " << split);
    Outcome got = incremental(s, split, request, max_bytes, max_fields, head_request);
    if (Outcome::rejected(want.status)) {
      EXPECT_TRUE(Outcome::rejected(got.status)) << static_cast<int>(got.status);
      continue;
    }
    ASSERT_EQ(static_cast<int>(got.status), static_cast<int>(want.status));
    EXPECT_EQ(got.head_len, want.head_len);
    EXPECT_EQ(got.fields, want.fields);
    EXPECT_EQ(got.target, want.target);
    EXPECT_EQ(got.status_code, want.status_code);
    EXPECT_EQ(got.chunked, want.chunked);
    EXPECT_EQ(got.has_cl, want.has_cl);
    EXPECT_EQ(got.cl, want.cl);
    EXPECT_EQ(got.keep_alive, want.keep_alive);
    EXPECT_EQ(got.done, want.done);
  }
}

const char* const kRequests[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /x?y=1 HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
    "POST /u HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "POST /u HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\nXYZ",
    "GET / HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\nGET / HTTP/1.1\r\n\r\n",
    "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nX:\r\nY: \t \r\nZ: a  b \r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nX: \xc3\xa9t\xc3\xa9\r\nHost: a\r\n\r\n",
    "GET  /  HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    // Malformed: bare LF anywhere, bare CR, obs-fold, bad names, control octets.
    "\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "\rGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\n",
    "GET / HTTP/1.1\n\n",
    "GET / HTTP/1.1\r\n\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\rX\r\n\r\n",
    "GET / HTTP/1.1\r\nX:\rY: a\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nX:\nY: a\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nX: \t\r\n b\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nX:\r\n\tb\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX:\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: \x80\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n",
    "GET / HTTP/1.1\r\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\n\tb\r\n\r\n",
    "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "GET / HTTP/1.1\r\nHo st: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost\r\n\r\n",
    "GET / HTTP/1.1\r\n: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHo(st: a\r\n\r\n",
    "GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /a\fb HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET / H\x01TP/1.1\r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1 \r\nHost: a\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n",
    ("GET / HTTP/1.1\r\nHost: \x01"
     "a\r\n\r\n"),
    "GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n\r\n",
    "GETT / HTTP/1.1\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
};

TEST(HeadParse, RequestsMatchTwoPassReference) {
  for (const char* r : kRequests) expectSame(r, true);
  // NUL octets (not expressible in the C strings above).
  expectSame(std::string("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n", 29), true);
  expectSame(std::string("GET /\0 HTTP/1.1\r\nHost: a\r\n\r\n", 28), true);
  expectSame(std::string("GET / HTTP/1.1\r\nHo\0st: a\r\n\r\n", 29), true);
}

TEST(HeadParse, RequestLimitsMatch) {
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 10; ++i) many += "X" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  expectSame(many, true, 65536, 10);
  expectSame(many, true, 65536, 9);
  expectSame(many, true, static_cast<uint32_t>(many.size()), 100);
  expectSame(many, true, static_cast<uint32_t>(many.size() - 1), 100);
  expectSame(many, true, 40, 100);
  std::string empties = "\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
  expectSame(empties, true);
}

const char* const kResponses[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
    ("HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: x\r\nContent-Type: text/plain\r\n"
     "Content-Length: 29\r\nConnection: keep-alive\r\n\r\nhello from the bench backend\n"),
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\r\nuntil eof",
    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nX",
    "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 O\tK \xc3\xa9\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.0 200 OK\r\n\r\n",
    "\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    // Malformed.
    "HTTP/1.1 200 O\rK\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n",
    "HTTP/1.1 200 OK\r\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n",
    "HTTP/1.1 200 OK\r\nX : a\r\n\r\n",
    "HXYZ/1.1 200 OK\r\n\r\n",
    "HTTP/1.1 2000 OK\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
};

TEST(HeadParse, ResponsesMatchTwoPassReference) {
  for (const char* r : kResponses) {
    expectSame(r, false);
    expectSame(r, false, 65536, 100, /*head_request=*/true);
  }
  expectSame(std::string("HTTP/1.1 200 O\0K\r\nContent-Length: 0\r\n\r\n", 39), false);
}

TEST(HeadParse, BodyFollowsTheHead) {
  std::string s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET";
  Parser p;
  std::vector<Header> h;
  p.beginHead(HTTP_REQUEST, &h, 65536, 100);
  ASSERT_EQ(p.feedHead(s.data(), s.size()), HeadStatus::kComplete);
  ASSERT_EQ(p.headLen(), s.size() - 8);
  struct Collect : BodySink {
    std::string body;
    void onBody(const char* d, size_t n) override { body.append(d, n); }
  } c;
  size_t n = p.feedBody(s.data() + p.headLen(), 8, &c);
  EXPECT_EQ(n, 5u);  // stops before the pipelined next request
  EXPECT_TRUE(p.done());
  EXPECT_EQ(c.body, "hello");
}

TEST(HeadParse, ByteAtATime) {
  // One byte per read: every token is split across feeds.
  std::string s =
      "GET /path?q=1 HTTP/1.1\r\nHost: a.example\r\nX-Long-Name: some value\r\nY:\r\n\r\n";
  Parser p;
  std::vector<Header> h;
  p.beginHead(HTTP_REQUEST, &h, 65536, 100);
  HeadStatus st = HeadStatus::kIncomplete;
  for (size_t i = 1; i <= s.size() && st == HeadStatus::kIncomplete; ++i) {
    st = p.feedHead(s.data(), i);
  }
  ASSERT_EQ(st, HeadStatus::kComplete);
  EXPECT_EQ(p.headLen(), s.size());
  EXPECT_EQ(p.target(), "/path?q=1");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[1].name, "X-Long-Name");
  EXPECT_EQ(h[1].value, "some value");
  EXPECT_EQ(h[2].value, "");
}

}  // namespace
}  // namespace gantry::dataplane::http1

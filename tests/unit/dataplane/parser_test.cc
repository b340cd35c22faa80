// llhttp wrapper: head parsing over a pre-validated head, body feeding, pipelining stop.
#include "dataplane/http1/parser.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace gantry::dataplane::http1 {
namespace {

struct Collect : BodySink {
  std::string body;
  void onBody(const char* d, size_t n) override { body.append(d, n); }
};

TEST(Parser, RequestHead) {
  std::string s = "POST /x?y=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX: 1\r\n\r\n";
  Parser p;
  p.reset(HTTP_REQUEST);
  std::vector<Header> h;
  ASSERT_TRUE(p.parseHead(s.data(), s.size(), &h));
  EXPECT_EQ(p.target(), "/x?y=1");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].name, "Host");
  EXPECT_EQ(h[0].value, "a");
  EXPECT_TRUE(p.hasContentLength());
  EXPECT_EQ(p.contentLength(), 5u);
  EXPECT_TRUE(p.keepAlive());
  EXPECT_FALSE(p.done());
  Collect c;
  std::string body = "helloGET / HTTP/1.1\r\n";
  size_t n = p.feedBody(body.data(), body.size(), &c);
  EXPECT_EQ(n, 5u);  // stops at the end of the message: the rest is the next request
  EXPECT_TRUE(p.done());
  EXPECT_EQ(c.body, "hello");
}

TEST(Parser, ChunkedWithTrailers) {
  std::string s = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  Parser p;
  p.reset(HTTP_REQUEST);
  std::vector<Header> h;
  ASSERT_TRUE(p.parseHead(s.data(), s.size(), &h));
  EXPECT_TRUE(p.chunked());
  Collect c;
  std::string body = "3\r\nabc\r\n2\r\nde\r\n0\r\nX-Sum: 9\r\n\r\n";
  // Byte by byte: the body and the trailers survive any split.
  for (char ch : body) p.feedBody(&ch, 1, &c);
  EXPECT_TRUE(p.done());
  EXPECT_EQ(c.body, "abcde");
  EXPECT_EQ(p.trailers(), "X-Sum: 9\r\n");
}

TEST(Parser, DuplicateContentLengthIsAnError) {
  std::string s = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n";
  Parser p;
  p.reset(HTTP_REQUEST);
  std::vector<Header> h;
  EXPECT_FALSE(p.parseHead(s.data(), s.size(), &h));
}

TEST(Parser, ResponseSkipBodyForHead) {
  std::string s = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
  Parser p;
  p.reset(HTTP_RESPONSE);
  std::vector<Header> h;
  ASSERT_TRUE(p.parseHead(s.data(), s.size(), &h, /*skip_body=*/true));
  EXPECT_TRUE(p.done());
  EXPECT_EQ(p.status(), 200u);
  EXPECT_EQ(p.contentLength(), 100u);
}

TEST(Parser, ResponseUntilEof) {
  std::string s = "HTTP/1.1 200 OK\r\n\r\n";
  Parser p;
  p.reset(HTTP_RESPONSE);
  std::vector<Header> h;
  ASSERT_TRUE(p.parseHead(s.data(), s.size(), &h));
  EXPECT_TRUE(p.bodyUntilEof());
  Collect c;
  std::string b = "abc";
  p.feedBody(b.data(), b.size(), &c);
  EXPECT_FALSE(p.done());
  p.feedEof(&c);
  EXPECT_TRUE(p.done());
  EXPECT_EQ(c.body, "abc");
}

// RFC 9110 2.5: a higher minor version is processed as the highest we implement, and another
// major version reaches the caller (which answers 505) instead of failing the parse.
TEST(Parser, OtherVersionsReachTheCaller) {
  for (const char* s : {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", "GET / HTTP/3.0\r\nHost: a\r\n\r\n"}) {
    Parser p;
    std::vector<Header> h;
    p.beginHead(HTTP_REQUEST, &h, 1024, 10);
    ASSERT_EQ(p.feedHead(s, std::strlen(s)), HeadStatus::kComplete) << s;
    EXPECT_EQ(p.major(), s[11] == '1' ? 1u : 3u);
  }
  const std::string r = "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n";
  Parser p;
  std::vector<Header> h;
  p.beginHead(HTTP_RESPONSE, &h, 1024, 10);
  ASSERT_EQ(p.feedHead(r.data(), r.size()), HeadStatus::kComplete);
  EXPECT_EQ(p.minor(), 2u);
  EXPECT_TRUE(p.done());
  // Not a version at all: still an error.
  const std::string bad = "GET / HTTP/1.10\r\nHost: a\r\n\r\n";
  p.beginHead(HTTP_REQUEST, &h, 1024, 10);
  EXPECT_EQ(p.feedHead(bad.data(), bad.size()), HeadStatus::kBad);
}

// llhttp has no limit on a trailer section; the copy in trailers() is bounded.
TEST(Parser, TrailersAreBounded) {
  const std::string head = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
  const std::string big = "0\r\nX-Big: " + std::string(200, 'b') + "\r\n\r\n";
  const std::string small = "0\r\nX-Small: s\r\n\r\n";
  Parser::setMaxTrailerBytes(100);
  for (const std::string* body : {&big, &small}) {
    Parser p;
    p.reset(HTTP_REQUEST);
    std::vector<Header> h;
    ASSERT_TRUE(p.parseHead(head.data(), head.size(), &h));
    Collect c;
    p.feedBody(body->data(), body->size(), &c);
    EXPECT_EQ(p.failed(), body == &big);
    EXPECT_EQ(p.done(), body == &small);
  }
  Parser::setMaxTrailerBytes(80 * 1024);
}

}  // namespace
}  // namespace gantry::dataplane::http1

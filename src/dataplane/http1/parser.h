// A thin, allocation-free wrapper over http-parser (nodejs 2.9) for one HTTP/1 message at a time.
//
// Usage per message: reset(); parseHead() over exactly the head bytes found by HeadScanner (so all
// field views point into one contiguous buffer, no copies); then feedBody() with the following
// bytes until done(). The parser pauses itself at the end of the message, so bytes of a pipelined
// next message are never consumed.
//
// Owned by one connection; called on its worker thread only. Never throws.
#pragma once

#include <http_parser.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gantry::dataplane::http1 {

struct Header {
  std::string_view name;
  std::string_view value;
};

// Receives decoded body bytes and trailers while feedBody() runs.
class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void onBody(const char* data, size_t len) = 0;
};

class Parser {
 public:
  Parser();
  void reset(http_parser_type type);

  // Parses a complete, pre-validated head. Fills headers (views into data) and the target (request)
  // or reason. skip_body: the message has no body whatever its headers say (response to HEAD, or
  // 1xx/204/304, RFC 9112 6.3). Returns false with error() on a parse error.
  bool parseHead(const char* data, size_t len, std::vector<Header>* headers,
                 bool skip_body = false);

  // Feeds body bytes. Returns bytes consumed; decoded body goes to sink. Trailer fields are
  // appended to trailers() as "name: value\r\n" lines.
  size_t feedBody(const char* data, size_t len, BodySink* sink);
  // Signals EOF (a response delimited by connection close).
  void feedEof(BodySink* sink);

  bool done() const { return done_; }
  bool failed() const { return failed_; }
  const char* error() const;

  std::string_view target() const { return url_; }
  unsigned major() const { return p_.http_major; }
  unsigned minor() const { return p_.http_minor; }
  unsigned status() const { return p_.status_code; }
  http_method method() const { return static_cast<http_method>(p_.method); }
  bool chunked() const { return (p_.flags & F_CHUNKED) != 0; }
  // Content-Length given (and not chunked); value in contentLength().
  bool hasContentLength() const { return has_cl_; }
  uint64_t contentLength() const { return cl_; }
  bool keepAlive() const { return keep_alive_; }
  bool upgradeFlag() const { return p_.upgrade != 0; }
  // The body is delimited by connection close (responses without CL or chunked).
  bool bodyUntilEof() const { return until_eof_; }
  const std::string& trailers() const { return trailers_; }

  // http-parser callbacks (public only so the static settings table can name them).
  static int onUrl(http_parser* p, const char* at, size_t len);
  static int onField(http_parser* p, const char* at, size_t len);
  static int onValue(http_parser* p, const char* at, size_t len);
  static int onHeadersComplete(http_parser* p);
  static int onBody(http_parser* p, const char* at, size_t len);
  static int onMessageComplete(http_parser* p);

 private:
  http_parser p_;
  std::vector<Header>* headers_ = nullptr;
  BodySink* sink_ = nullptr;
  std::string_view url_;
  std::string trailers_;
  uint64_t cl_ = 0;
  bool has_cl_ = false;
  bool keep_alive_ = false;
  bool until_eof_ = false;
  bool in_head_ = false;
  bool skip_body_ = false;
  bool done_ = false;
  bool failed_ = false;
  bool last_was_value_ = false;
};

}  // namespace gantry::dataplane::http1

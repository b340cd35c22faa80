// A thin, allocation-free wrapper over llhttp (Node.js's HTTP/1 parser, 8.1, compiled from the
// C sources Debian's node-llhttp ships; see CMakeLists.txt) for one HTTP/1 message at a time.
// llhttp runs in its default (loose) mode with every lenient flag off.
//
// Usage per message, either
//  - beginHead(), then feedHead() each time bytes arrive, until it says kComplete: llhttp
//    reads every head byte once, as it arrives, and the strict checks of RFC 9112 that it does
//    not make itself (see feedHead) are made on its callbacks' views (the hot path: the proxy's
//    request and response heads); or
//  - reset(); parseHead() over exactly the head bytes found by HeadScanner;
// then feedBody() with the following bytes until done(). All field views point into the caller's
// contiguous buffer (no copies). The parser pauses itself at the end of the message, so bytes of
// a pipelined next message are never consumed.
//
// Owned by one connection; called on its worker thread only. Never throws.
#pragma once

#include <llhttp.h>

#include "dataplane/http1/syntax.h"

#include <cstddef>
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
  void reset(llhttp_type_t type);

  // Parses a complete, pre-validated head. Fills headers (views into data) and the target (request)
  // or reason. skip_body: the message has no body whatever its headers say (response to HEAD, or
  // 1xx/204/304, RFC 9112 6.3). Returns false with error() on a parse error.
  bool parseHead(const char* data, size_t len, std::vector<Header>* headers,
                 bool skip_body = false);

  // Starts an incremental head (request or response). head_request: the response answers a HEAD
  // request (no body whatever its headers say); 1xx/204/304 responses have none either (RFC 9112
  // 6.3). Limits as for HeadScanner: a head longer than max_bytes -> kTooLarge, more than
  // max_fields field lines -> kTooMany.
  void beginHead(llhttp_type_t type, std::vector<Header>* headers, uint32_t max_bytes,
                 uint32_t max_fields, bool head_request = false);
  // Feeds the head received so far: data is where the message starts (the same bytes as on the
  // previous call, possibly moved to another address, plus what arrived since), len all of it.
  // Only the new bytes are parsed. Checks, besides llhttp's own (RFC 9112 2.2, 3, 5):
  // every line ends in CRLF (no bare LF), no obs-fold, field names are tokens with no whitespace
  // before the colon, the start line is printable (request: ASCII 0x20-0x7E; status line: field
  // value octets), at most 4 empty lines before the start line. kComplete: headLen() bytes from
  // data form the head; the body (if any) follows, for feedBody().
  HeadStatus feedHead(const char* data, size_t len);
  size_t headLen() const { return head_len_; }
  // Offset of the start line from data (leading empty lines skipped, RFC 9112 2.2).
  size_t startLineOffset() const { return start_line_; }
  const char* headError() const { return head_error_; }

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
  llhttp_method_t method() const { return static_cast<llhttp_method_t>(p_.method); }
  // The method's name as sent ("GET"), for a request.
  const char* methodName() const { return llhttp_method_name(method()); }
  bool chunked() const { return (p_.flags & F_CHUNKED) != 0; }
  // Content-Length given (and not chunked); value in contentLength().
  bool hasContentLength() const { return has_cl_; }
  uint64_t contentLength() const { return cl_; }
  bool keepAlive() const { return keep_alive_; }
  bool upgradeFlag() const { return p_.upgrade != 0; }
  // The body is delimited by connection close (responses without CL or chunked).
  bool bodyUntilEof() const { return until_eof_; }
  const std::string& trailers() const { return trailers_; }

  // The most trailer bytes a chunked body may carry (process-wide; set once before the workers
  // start). llhttp has no limit of its own; trailers are copied, so they need one.
  static void setMaxTrailerBytes(uint32_t n);

  // llhttp callbacks (public only so the static settings table can name them).
  static int onUrl(llhttp_t* p, const char* at, size_t len);
  static int onField(llhttp_t* p, const char* at, size_t len);
  static int onValue(llhttp_t* p, const char* at, size_t len);
  static int onHeadersComplete(llhttp_t* p);
  static int onBody(llhttp_t* p, const char* at, size_t len);
  static int onMessageComplete(llhttp_t* p);

 private:
  HeadStatus headBad(const char* why) {
    head_error_ = why;
    return HeadStatus::kBad;
  }
  HeadStatus finishHead(const char* data, size_t lf);
  // RFC 9112 5: a complete field line: CRLF before its name, no whitespace in the name, CRLF
  // right after its value (llhttp's loose mode accepts SP inside a name and before the colon).
  bool fieldLineOk(const Header& h);
  void rebase(ptrdiff_t delta);

  llhttp_t p_;
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
  // Incremental head state (beginHead/feedHead).
  bool incremental_ = false;
  bool head_request_ = false;
  bool head_complete_ = false;  // onHeadersComplete ran (llhttp paused after the final LF)
  bool too_many_ = false;
  uint8_t leading_empty_ = 0;
  uint32_t max_bytes_ = 0;
  uint32_t max_fields_ = 0;
  const char* base_ = nullptr;  // data of the previous feedHead() call
  size_t fed_ = 0;              // bytes of data already given to llhttp (or skipped)
  size_t start_line_ = 0;
  size_t head_len_ = 0;
  const char* head_error_ = nullptr;
};

}  // namespace gantry::dataplane::http1

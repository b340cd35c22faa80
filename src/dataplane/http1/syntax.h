// Strict HTTP/1.1 syntax checks that run BEFORE and ALONGSIDE the parser (llhttp, parser.h).
//
// llhttp in its loose mode is lenient where a proxy must not be: it accepts obs-fold
// continuation lines, SP inside a field name and before the colon, HTAB and non-ASCII in the
// request target. Each of those is a request-smuggling vector when another hop parses
// differently (RFC 9112 section 11.2). So every header block and every chunked body read outside
// Parser::feedHead (which makes these checks itself) is first checked here; llhttp then does the
// actual parsing (field splitting, Content-Length arithmetic, chunk decoding) on bytes that are
// known to be well-formed.
//
// Everything here is allocation-free and never throws; called on worker threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace gantry::dataplane::http1 {

// RFC 9110 5.6.2: tchar.
bool isTchar(unsigned char c);

enum class HeadStatus : uint8_t {
  kIncomplete,  // need more bytes
  kComplete,    // head_len() bytes form the head (request/status line + fields + CRLF)
  kBad,         // malformed: bare LF/CR, obs-fold, NUL/CTL, bad field name -> 400 (502 upstream)
  kTooLarge,    // exceeds max bytes -> 431
  kTooMany,     // exceeds max field lines -> 431
};

// Incremental scanner for a message head. Feed it the whole buffer received so far (same start
// pointer, growing length); it resumes where it stopped, so total work is linear.
class HeadScanner {
 public:
  HeadScanner(uint32_t max_bytes, uint32_t max_fields, bool is_request)
      : max_bytes_(max_bytes), max_fields_(max_fields), is_request_(is_request) {}
  HeadStatus scan(const char* data, size_t len);
  size_t headLen() const { return head_len_; }
  // Byte offset where the start line begins (leading empty lines are skipped, RFC 9112 2.2).
  size_t startLineOffset() const { return start_line_; }
  const char* error() const { return error_; }

 private:
  HeadStatus checkLine(const char* line, size_t len);

  uint32_t max_bytes_;
  uint32_t max_fields_;
  bool is_request_;
  size_t pos_ = 0;  // start of the next unexamined line
  size_t start_line_ = 0;
  size_t head_len_ = 0;
  uint32_t lines_ = 0;  // non-empty lines seen (start line + fields)
  uint32_t leading_empty_ = 0;
  const char* error_ = nullptr;
};

// Strict framing check of a chunked body (RFC 9112 7.1), run over the raw bytes in parallel with
// llhttp. Rejects: non-hex or over-long chunk sizes, CTLs in extensions, anything but CRLF
// after a chunk-size line or chunk data, bare LF, obs-fold or bad names in trailers.
class ChunkedValidator {
 public:
  explicit ChunkedValidator(uint32_t max_trailer_bytes = 64 * 1024)
      : max_trailer_bytes_(max_trailer_bytes) {}
  enum Result : uint8_t { kMore, kDone, kBad };
  // Consumes up to len bytes; *used = bytes belonging to this body (< len only when kDone).
  Result feed(const char* data, size_t len, size_t* used);

 private:
  enum State : uint8_t {
    kSize,
    kSizeMore,
    kExt,
    kSizeLf,
    kData,
    kDataCr,
    kDataLf,
    kTrailerStart,
    kTrailerName,
    kTrailerValue,
    kTrailerLf,
    kEndLf,
    kFinished,
  };
  State state_ = kSize;
  uint8_t digits_ = 0;
  uint64_t size_ = 0;
  uint64_t remaining_ = 0;
  uint32_t trailer_bytes_ = 0;
  uint32_t max_trailer_bytes_;
};

// RFC 9112 3.2 / RFC 3986 3.2.2: validates a Host field value (or absolute-form authority) and
// extracts the routing host: lower-cased, port removed. IPv6 literals keep their brackets.
// Returns false for a malformed value. Empty is valid (RFC 9112 3.2: no authority).
bool parseHost(std::string_view value, std::string* host_out);

// RFC 3986 normalisation of an origin-form path (no query), used for BOTH routing and forwarding:
//  - percent-encoded unreserved characters (ALPHA DIGIT - . _ ~) are decoded (6.2.2.2);
//  - other percent-encodings are kept, hex upper-cased (6.2.2.1): so %2F, %5C, %23, %00 stay
//    encoded and never become separators;
//  - dot segments removed (5.2.4), after decoding, so "%2e%2e" is treated as "..";
//  - slashes are NOT merged (merge_slashes=false, Envoy's default too).
// Returns false (-> 400) for: not starting with '/', a bad %XX, raw bytes outside pchar/"/" that
// are CTL, SP, DEL, non-ASCII, '#', or '\' (backslash is a path separator to some backends).
bool normalizePath(std::string_view raw, std::string* out, bool merge_slashes = false);

// RFC 3986 3.4 query: printable ASCII without '#'. Returns false on violation.
bool validQuery(std::string_view q);

// Case-insensitive ASCII equality of n bytes.
bool iequalsN(const char* a, const char* b, size_t n);
// Case-insensitive ASCII equality. Inline: the proxy compares every field name with several
// candidates, and most comparisons end at the size check.
inline bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && iequalsN(a.data(), b.data(), a.size());
}
// True if the comma-separated list `value` contains `token` (case-insensitive, OWS trimmed).
bool hasToken(std::string_view value, std::string_view token);
std::string_view trimOws(std::string_view v);

// The reason phrase for a status line (RFC 9112 4: informative only; RFC 9110 15's phrases),
// "Unknown" for codes it does not name.
const char* reasonPhrase(unsigned status);

}  // namespace gantry::dataplane::http1

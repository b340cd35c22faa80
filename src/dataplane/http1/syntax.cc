#include "dataplane/http1/syntax.h"

#include <array>
#include <cstring>

namespace gantry::dataplane::http1 {
namespace {

constexpr std::array<bool, 256> makeTchar() {
  std::array<bool, 256> t{};
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}
constexpr auto kTchar = makeTchar();

// field-value octets (RFC 9110 5.5): VCHAR, obs-text, SP, HTAB.
constexpr std::array<bool, 256> makeFieldValue() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  for (int c = 0x80; c < 0x100; ++c) t[c] = true;
  t['\t'] = true;
  return t;
}
constexpr auto kFieldValue = makeFieldValue();

// Request line (RFC 9112 3): method SP request-target SP HTTP-version; only printable ASCII.
constexpr std::array<bool, 256> makeRequestLine() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x7f; ++c) t[c] = true;
  return t;
}
constexpr auto kRequestLine = makeRequestLine();

int hexVal(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool isUnreserved(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Raw bytes allowed in a path: pchar (unreserved / pct-encoded / sub-delims / ":" / "@") and "/".
// We additionally tolerate the printable "unwise" characters real clients send unescaped
// (" < > ^ ` { | } [ ]), as nginx does, but never '\', '#', controls, SP or non-ASCII.
bool pathByteOk(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return false;
  return c != '#' && c != '\\' && c != '?';
}

}  // namespace

bool isTchar(unsigned char c) { return kTchar[c]; }

HeadStatus HeadScanner::checkLine(const char* line, size_t len) {
  const auto* p = reinterpret_cast<const unsigned char*>(line);
  if (lines_ == 0) {
    // Start line.
    if (is_request_) {
      for (size_t i = 0; i < len; ++i) {
        if (!kRequestLine[p[i]]) {
          error_ = "invalid character in request line";
          return HeadStatus::kBad;
        }
      }
    } else {
      for (size_t i = 0; i < len; ++i) {
        if (!kFieldValue[p[i]]) {
          error_ = "invalid character in status line";
          return HeadStatus::kBad;
        }
      }
    }
    return HeadStatus::kIncomplete;
  }
  // RFC 9112 5.2: obs-fold is rejected (a server MUST either reject or replace; we reject).
  if (p[0] == ' ' || p[0] == '\t') {
    error_ = "obs-fold";
    return HeadStatus::kBad;
  }
  size_t i = 0;
  while (i < len && kTchar[p[i]]) ++i;
  // RFC 9112 5.1: no whitespace between field name and colon; a name is 1*tchar.
  if (i == 0 || i == len || p[i] != ':') {
    error_ = "invalid field name";
    return HeadStatus::kBad;
  }
  for (++i; i < len; ++i) {
    if (!kFieldValue[p[i]]) {
      error_ = "invalid character in field value";
      return HeadStatus::kBad;
    }
  }
  return HeadStatus::kIncomplete;
}

HeadStatus HeadScanner::scan(const char* data, size_t len) {
  while (pos_ < len) {
    const void* nl = std::memchr(data + pos_, '\n', len - pos_);
    if (nl == nullptr) break;
    size_t nl_pos = static_cast<const char*>(nl) - data;
    if (nl_pos + 1 > max_bytes_) {
      error_ = "head too large";
      return HeadStatus::kTooLarge;
    }
    // RFC 9112 2.2: a bare LF is not accepted as a line terminator here.
    if (nl_pos == pos_ || data[nl_pos - 1] != '\r') {
      error_ = "bare LF";
      return HeadStatus::kBad;
    }
    size_t line_len = nl_pos - 1 - pos_;
    const char* line = data + pos_;
    if (std::memchr(line, '\r', line_len) != nullptr || std::memchr(line, '\0', line_len)) {
      error_ = "bare CR or NUL";
      return HeadStatus::kBad;
    }
    if (line_len == 0) {
      if (lines_ == 0) {
        // RFC 9112 2.2: SHOULD ignore at least one empty line before the request line.
        if (++leading_empty_ > 4) {
          error_ = "too many empty lines";
          return HeadStatus::kBad;
        }
        pos_ = nl_pos + 1;
        start_line_ = pos_;
        continue;
      }
      head_len_ = nl_pos + 1;
      pos_ = head_len_;
      return HeadStatus::kComplete;
    }
    HeadStatus s = checkLine(line, line_len);
    if (s != HeadStatus::kIncomplete) return s;
    if (++lines_ > max_fields_ + 1) {
      error_ = "too many fields";
      return HeadStatus::kTooMany;
    }
    pos_ = nl_pos + 1;
  }
  if (len >= max_bytes_) {
    error_ = "head too large";
    return HeadStatus::kTooLarge;
  }
  // A NUL or bare CR in a partial line is rejected early (cheap and avoids waiting for LF).
  return HeadStatus::kIncomplete;
}

ChunkedValidator::Result ChunkedValidator::feed(const char* data, size_t len, size_t* used) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  while (i < len) {
    unsigned char c = p[i];
    switch (state_) {
      case kSize:
      case kSizeMore: {
        int h = hexVal(c);
        if (h >= 0) {
          // 16 hex digits overflow-check: more than 15 significant digits is absurd (> 1 EiB).
          if (++digits_ > 15) return kBad;
          size_ = size_ * 16 + static_cast<uint64_t>(h);
          state_ = kSizeMore;
          ++i;
          break;
        }
        if (state_ == kSize) return kBad;  // chunk-size = 1*HEXDIG
        if (c == ';' || c == ' ' || c == '\t') {
          state_ = kExt;
          ++i;
          break;
        }
        if (c == '\r') {
          state_ = kSizeLf;
          ++i;
          break;
        }
        return kBad;
      }
      case kExt:
        if (c == '\r') {
          state_ = kSizeLf;
        } else if (!kFieldValue[c]) {
          return kBad;
        }
        ++i;
        break;
      case kSizeLf:
        if (c != '\n') return kBad;
        ++i;
        if (size_ == 0) {
          state_ = kTrailerStart;
        } else {
          remaining_ = size_;
          state_ = kData;
        }
        size_ = 0;
        digits_ = 0;
        break;
      case kData: {
        uint64_t take = len - i;
        if (take > remaining_) take = remaining_;
        remaining_ -= take;
        i += static_cast<size_t>(take);
        if (remaining_ == 0) state_ = kDataCr;
        break;
      }
      case kDataCr:
        if (c != '\r') return kBad;
        state_ = kDataLf;
        ++i;
        break;
      case kDataLf:
        if (c != '\n') return kBad;
        state_ = kSize;
        ++i;
        break;
      case kTrailerStart:
        if (c == '\r') {
          state_ = kEndLf;
        } else if (kTchar[c]) {
          state_ = kTrailerName;
        } else {
          return kBad;  // obs-fold, bare LF, or a bad name
        }
        ++i;
        break;
      case kTrailerName:
        if (c == ':') {
          state_ = kTrailerValue;
        } else if (!kTchar[c]) {
          return kBad;
        }
        ++i;
        break;
      case kTrailerValue:
        if (c == '\r') {
          state_ = kTrailerLf;
        } else if (!kFieldValue[c]) {
          return kBad;
        }
        ++i;
        break;
      case kTrailerLf:
        if (c != '\n') return kBad;
        state_ = kTrailerStart;
        ++i;
        break;
      case kEndLf:
        if (c != '\n') return kBad;
        ++i;
        state_ = kFinished;
        *used = i;
        return kDone;
      case kFinished:
        *used = 0;
        return kDone;
    }
    if (state_ >= kTrailerStart && state_ <= kTrailerLf) {
      if (++trailer_bytes_ > max_trailer_bytes_) return kBad;
    }
  }
  *used = len;
  return state_ == kFinished ? kDone : kMore;
}

bool parseHost(std::string_view v, std::string* host_out) {
  host_out->clear();
  if (v.empty()) return true;
  size_t host_end;
  if (v[0] == '[') {
    // IP-literal = "[" ( IPv6address / IPvFuture ) "]"
    size_t close = v.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (size_t i = 1; i < close; ++i) {
      unsigned char c = v[i];
      if (!(hexVal(c) >= 0 || c == ':' || c == '.')) return false;
    }
    host_end = close + 1;
  } else {
    // reg-name / IPv4address = *( unreserved / pct-encoded / sub-delims )
    size_t i = 0;
    for (; i < v.size() && v[i] != ':'; ++i) {
      unsigned char c = v[i];
      if (isUnreserved(c)) continue;
      if (std::string_view("!$&'()*+,;=").find(static_cast<char>(c)) != std::string_view::npos)
        continue;
      if (c == '%' && i + 2 < v.size() && hexVal(v[i + 1]) >= 0 && hexVal(v[i + 2]) >= 0) {
        i += 2;
        continue;
      }
      return false;
    }
    if (i == 0) return false;  // ":80" has no host
    host_end = i;
  }
  if (host_end < v.size()) {
    if (v[host_end] != ':') return false;
    // port = *DIGIT (RFC 3986 3.2.3); we also bound it to 65535.
    std::string_view port = v.substr(host_end + 1);
    if (port.size() > 5) return false;
    uint32_t n = 0;
    for (char c : port) {
      if (c < '0' || c > '9') return false;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n > 65535) return false;
  }
  host_out->assign(v.data(), host_end);
  for (char& c : *host_out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return true;
}

bool normalizePath(std::string_view raw, std::string* out, bool merge_slashes) {
  out->clear();
  if (raw.empty() || raw[0] != '/') return false;
  // Pass 1: percent-decoding of unreserved, hex case normalisation, byte validation.
  std::string& s = *out;
  s.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    unsigned char c = raw[i];
    if (c == '%') {
      if (i + 2 >= raw.size()) return false;
      int hi = hexVal(raw[i + 1]), lo = hexVal(raw[i + 2]);
      if (hi < 0 || lo < 0) return false;
      unsigned char d = static_cast<unsigned char>(hi * 16 + lo);
      if (isUnreserved(d)) {
        s.push_back(static_cast<char>(d));
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        s.push_back('%');
        s.push_back(kHex[hi]);
        s.push_back(kHex[lo]);
      }
      i += 2;
      continue;
    }
    if (!pathByteOk(c)) return false;
    if (c == '/' && merge_slashes && !s.empty() && s.back() == '/') continue;
    s.push_back(static_cast<char>(c));
  }
  // Pass 2: RFC 3986 5.2.4 remove_dot_segments, in place. Segments are delimited by '/'; the
  // input always starts with '/'.
  bool has_dot = false;
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    if (s[i] == '/' && s[i + 1] == '.') {
      has_dot = true;
      break;
    }
  }
  if (!has_dot) return true;
  std::string result;
  result.reserve(s.size());
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    // s[i] == '/' here. Find the segment [i+1, j).
    size_t j = s.find('/', i + 1);
    if (j == std::string::npos) j = n;
    std::string_view seg(s.data() + i + 1, j - i - 1);
    bool last = (j == n);
    if (seg == ".") {
      if (last) result.push_back('/');
    } else if (seg == "..") {
      size_t cut = result.rfind('/');
      result.resize(cut == std::string::npos ? 0 : cut);
      if (last) result.push_back('/');
    } else {
      result.push_back('/');
      result.append(seg);
    }
    i = j;
  }
  if (result.empty()) result = "/";
  s.swap(result);
  return true;
}

bool validQuery(std::string_view q) {
  for (unsigned char c : q) {
    if (c <= 0x20 || c >= 0x7f || c == '#') return false;
  }
  return true;
}

bool iequalsN(const char* a, const char* b, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = x - 'A' + 'a';
    if (y >= 'A' && y <= 'Z') y = y - 'A' + 'a';
    if (x != y) return false;
  }
  return true;
}

std::string_view trimOws(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

bool hasToken(std::string_view value, std::string_view token) {
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view item = trimOws(value.substr(0, comma));
    if (iequals(item, token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

const char* reasonPhrase(unsigned status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 102:
      return "Processing";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 203:
      return "Non-Authoritative Information";
    case 204:
      return "No Content";
    case 205:
      return "Reset Content";
    case 206:
      return "Partial Content";
    case 207:
      return "Multi-Status";
    case 208:
      return "Already Reported";
    case 226:
      return "IM Used";
    case 300:
      return "Multiple Choices";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 305:
      return "Use Proxy";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 407:
      return "Proxy Authentication Required";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 422:
      return "Unprocessable Entity";
    case 423:
      return "Locked";
    case 424:
      return "Failed Dependency";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 451:
      return "Unavailable For Legal Reasons";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    case 506:
      return "Variant Also Negotiates";
    case 507:
      return "Insufficient Storage";
    case 508:
      return "Loop Detected";
    case 510:
      return "Not Extended";
    case 511:
      return "Network Authentication Required";
    default:
      return "Unknown";
  }
}

}  // namespace gantry::dataplane::http1

#include "dataplane/http1/parser.h"

#include <cstring>

namespace gantry::dataplane::http1 {
namespace {

http_parser_settings makeSettings(http_data_cb url, http_data_cb field, http_data_cb value,
                                  http_cb headers_complete, http_data_cb body,
                                  http_cb message_complete) {
  http_parser_settings s;
  http_parser_settings_init(&s);
  s.on_url = url;
  s.on_header_field = field;
  s.on_header_value = value;
  s.on_headers_complete = headers_complete;
  s.on_body = body;
  s.on_message_complete = message_complete;
  return s;
}

// Extends a view with a piece that directly follows it in memory (http-parser may split a token
// at our feed boundary only; heads are fed whole, so this is a safety net).
void extend(std::string_view* v, const char* at, size_t len) {
  if (v->data() + v->size() == at) {
    *v = std::string_view(v->data(), v->size() + len);
  } else {
    *v = std::string_view(at, len);
  }
}

// Start-line octets (RFC 9112 3 and 4): a request line is printable ASCII (http-parser lets HTAB,
// FF and non-ASCII through in the target, and anything where it expects "HTTP/"); a status line
// may also carry HTAB and obs-text in its reason phrase (RFC 9112 4: reason-phrase).
constexpr bool requestLineOctet(unsigned char c) { return c >= 0x20 && c < 0x7f; }
constexpr bool statusLineOctet(unsigned char c) { return (c >= 0x20 && c != 0x7f) || c == '\t'; }

void shift(std::string_view* v, ptrdiff_t delta) {
  if (v->data() != nullptr) *v = std::string_view(v->data() + delta, v->size());
}

}  // namespace

static const http_parser_settings& settings();

Parser::Parser() { reset(HTTP_REQUEST); }

void Parser::reset(http_parser_type type) {
  http_parser_init(&p_, type);
  p_.data = this;
  headers_ = nullptr;
  sink_ = nullptr;
  url_ = {};
  trailers_.clear();
  cl_ = 0;
  has_cl_ = false;
  keep_alive_ = false;
  until_eof_ = false;
  in_head_ = false;
  skip_body_ = false;
  done_ = false;
  failed_ = false;
  last_was_value_ = false;
  incremental_ = false;
}

void Parser::beginHead(http_parser_type type, std::vector<Header>* headers, uint32_t max_bytes,
                       uint32_t max_fields, bool head_request) {
  reset(type);
  headers_ = headers;
  headers_->clear();
  incremental_ = true;
  head_request_ = head_request;
  head_complete_ = false;
  too_many_ = false;
  leading_empty_ = 0;
  max_bytes_ = max_bytes;
  max_fields_ = max_fields;
  base_ = nullptr;
  fed_ = 0;
  start_line_ = 0;
  head_len_ = 0;
  head_error_ = nullptr;
}

void Parser::rebase(ptrdiff_t delta) {
  shift(&url_, delta);
  for (Header& h : *headers_) {
    shift(&h.name, delta);
    shift(&h.value, delta);
  }
}

bool Parser::fieldLineOk(const Header& h) {
  const char* n = h.name.data();
  if (n[-2] != '\r' || n[-1] != '\n') {
    head_error_ = "bare LF";
    return false;
  }
  // http-parser ends a name only at ':', but lets SP into it (RFC 9112 5.1: no whitespace
  // between field name and colon; a name is a token).
  const char* colon = n + h.name.size();
  if (*colon != ':' || std::memchr(n, ' ', h.name.size()) != nullptr) {
    head_error_ = "invalid field name";
    return false;
  }
  const char* v = h.value.data();
  if (v == nullptr) {
    head_error_ = "invalid field line";
    return false;
  }
  if (h.value.empty()) {
    // http-parser points an empty value at the start of the next line: only OWS and a CRLF may
    // lie between (it accepts a bare LF, or CR followed by anything, there).
    if (v - 2 <= colon || v[-2] != '\r' || v[-1] != '\n') {
      head_error_ = "bare LF";
      return false;
    }
    for (const char* c = colon + 1; c < v - 2; ++c) {
      if (*c != ' ' && *c != '\t') {
        head_error_ = "invalid field value";
        return false;
      }
    }
    return true;
  }
  // Only OWS between the colon and the value: a CRLF there is obs-fold after an empty first
  // line (RFC 9112 5.2).
  for (const char* c = colon + 1; c < v; ++c) {
    if (*c != ' ' && *c != '\t') {
      head_error_ = "obs-fold";
      return false;
    }
  }
  // http-parser checks every value octet but the first (RFC 9110 5.5: field-vchar, obs-text).
  const auto first = static_cast<unsigned char>(v[0]);
  if (first <= 0x20 || first == 0x7f) {
    head_error_ = "invalid character in field value";
    return false;
  }
  const char* v_end = v + h.value.size();
  if (v_end[0] != '\r' || v_end[1] != '\n') {
    head_error_ = "bare LF";
    return false;
  }
  return true;
}

HeadStatus Parser::feedHead(const char* data, size_t len) {
  if (base_ != nullptr && base_ != data) rebase(data - base_);  // the caller's buffer moved
  base_ = data;
  if (fed_ == start_line_) {
    // RFC 9112 2.2: at least one empty line (CRLF) before the start line SHOULD be ignored; we
    // ignore up to 4, and never a bare LF or CR (http-parser would skip any number of either).
    while (fed_ < len && (data[fed_] == '\r' || data[fed_] == '\n')) {
      if (data[fed_] == '\n') return headBad("bare LF");
      if (fed_ + 1 == len) break;  // the LF has not arrived yet
      if (data[fed_ + 1] != '\n') return headBad("bare CR");
      if (++leading_empty_ > 4) return headBad("too many empty lines");
      fed_ += 2;
      start_line_ = fed_;
    }
    if (fed_ + 1 == len && data[fed_] == '\r') {
      return len >= max_bytes_ ? HeadStatus::kTooLarge : HeadStatus::kIncomplete;
    }
  }
  if (fed_ < len) {
    in_head_ = true;
    size_t n = http_parser_execute(&p_, &settings(), data + fed_, len - fed_);
    in_head_ = false;
    http_errno e = HTTP_PARSER_ERRNO(&p_);
    if (e == HPE_PAUSED && head_complete_) return finishHead(data, fed_ + n);
    if (e != HPE_OK) {
      failed_ = true;
      if (too_many_) {
        head_error_ = "too many fields";
        return HeadStatus::kTooMany;
      }
      if (head_error_ != nullptr) return HeadStatus::kBad;  // a check in a callback
      if (e == HPE_HEADER_OVERFLOW) {
        head_error_ = "head too large";
        return HeadStatus::kTooLarge;
      }
      return headBad(http_errno_description(e));
    }
    fed_ = len;
  }
  if (len >= max_bytes_) {
    head_error_ = "head too large";
    return HeadStatus::kTooLarge;
  }
  return HeadStatus::kIncomplete;
}

// http-parser paused in onHeadersComplete with the head's final LF at data[lf], not consumed.
HeadStatus Parser::finishHead(const char* data, size_t lf) {
  // The head ends with CRLF CRLF: the last line's terminator and the empty line (http-parser
  // also ends it on LF LF, CR LF LF, or CRLF CR followed by anything).
  if (lf < start_line_ + 3 || std::memcmp(data + lf - 3, "\r\n\r\n", 4) != 0) {
    return headBad("bare LF");
  }
  head_len_ = lf + 1;
  if (head_len_ > max_bytes_) {
    head_error_ = "head too large";
    return HeadStatus::kTooLarge;
  }
  if (!headers_->empty() && !fieldLineOk(headers_->back())) return HeadStatus::kBad;
  // The start line: up to the CRLF before the first field (checked by fieldLineOk), or before the
  // final empty line.
  const auto* line = reinterpret_cast<const unsigned char*>(data + start_line_);
  const auto* line_end = reinterpret_cast<const unsigned char*>(
      headers_->empty() ? data + lf - 3 : headers_->front().name.data() - 2);
  const bool request = p_.type == HTTP_REQUEST;
  for (const unsigned char* c = line; c < line_end; ++c) {
    if (request ? !requestLineOctet(*c) : !statusLineOctet(*c)) {
      return headBad(request ? "invalid character in request line"
                             : "invalid character in status line");
    }
  }
  // Let http-parser consume the LF: it ends a message without body here (or enters the body).
  http_parser_pause(&p_, 0);
  size_t n = http_parser_execute(&p_, &settings(), data + lf, 1);
  http_errno e = HTTP_PARSER_ERRNO(&p_);
  fed_ = head_len_;
  if (n != 1 || (e != HPE_OK && e != HPE_PAUSED)) {
    failed_ = true;
    return headBad(http_errno_description(e));
  }
  return HeadStatus::kComplete;
}

bool Parser::parseHead(const char* data, size_t len, std::vector<Header>* headers, bool skip_body) {
  headers_ = headers;
  headers_->clear();
  in_head_ = true;
  skip_body_ = skip_body;
  size_t n = http_parser_execute(&p_, &settings(), data, len);
  in_head_ = false;
  if (HTTP_PARSER_ERRNO(&p_) != HPE_OK && HTTP_PARSER_ERRNO(&p_) != HPE_PAUSED) {
    failed_ = true;
    return false;
  }
  if (n != len && !done_) {
    failed_ = true;
    return false;
  }
  return true;
}

size_t Parser::feedBody(const char* data, size_t len, BodySink* sink) {
  if (done_ || failed_) return 0;
  sink_ = sink;
  size_t n = http_parser_execute(&p_, &settings(), data, len);
  sink_ = nullptr;
  http_errno e = HTTP_PARSER_ERRNO(&p_);
  if (e != HPE_OK && e != HPE_PAUSED) failed_ = true;
  return n;
}

void Parser::feedEof(BodySink* sink) {
  if (done_ || failed_) return;
  sink_ = sink;
  http_parser_execute(&p_, &settings(), nullptr, 0);
  sink_ = nullptr;
  if (!done_) failed_ = true;
}

const char* Parser::error() const {
  return http_errno_description(static_cast<http_errno>(p_.http_errno));
}

int Parser::onUrl(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  extend(&self->url_, at, len);
  return 0;
}

int Parser::onField(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  if (self->in_head_) {
    auto& h = *self->headers_;
    if (h.empty() || self->last_was_value_) {
      if (self->incremental_) {
        // The previous field line is complete now.
        if (!h.empty() && !self->fieldLineOk(h.back())) return 1;
        if (h.size() >= self->max_fields_) {
          self->too_many_ = true;
          return 1;
        }
      }
      h.push_back(Header{std::string_view(at, len), {}});
    } else {
      extend(&h.back().name, at, len);
    }
  } else {
    // Trailer field (RFC 9112 7.1.2), copied: body buffers are reused while the body streams.
    if (self->last_was_value_ || self->trailers_.empty()) {
      if (!self->trailers_.empty()) self->trailers_.append("\r\n");
    }
    self->trailers_.append(at, len);
  }
  self->last_was_value_ = false;
  return 0;
}

int Parser::onValue(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  if (self->in_head_) {
    auto& h = *self->headers_;
    if (h.empty()) return 1;
    if (!self->last_was_value_) {
      h.back().value = std::string_view(at, len);
    } else if (self->incremental_ && h.back().value.data() + h.back().value.size() != at) {
      // Not the rest of a value split by a feed boundary: a continuation line. RFC 9112 5.2: a
      // server MUST reject obs-fold or replace it; we reject.
      self->head_error_ = "obs-fold";
      return 1;
    } else {
      extend(&h.back().value, at, len);
    }
  } else {
    if (!self->last_was_value_) self->trailers_.append(": ");
    self->trailers_.append(at, len);
  }
  self->last_was_value_ = true;
  return 0;
}

int Parser::onHeadersComplete(http_parser* p) {
  auto* self = static_cast<Parser*>(p->data);
  self->keep_alive_ = http_should_keep_alive(p) != 0;
  self->has_cl_ = (p->flags & F_CONTENTLENGTH) != 0 && (p->flags & F_CHUNKED) == 0;
  self->cl_ = self->has_cl_ ? p->content_length : 0;
  self->last_was_value_ = false;
  if (self->incremental_ && self->in_head_) {
    if (p->type == HTTP_RESPONSE) {
      // RFC 9112 6.3: no body after a HEAD request, nor in 1xx, 204 and 304 responses.
      const unsigned s = p->status_code;
      self->skip_body_ = self->head_request_ || (s >= 100 && s < 200) || s == 204 || s == 304;
    }
    // Stop at the final LF: finishHead() checks the head before the body is touched.
    self->head_complete_ = true;
    http_parser_pause(p, 1);
  }
  if (self->skip_body_) {
    self->until_eof_ = false;
    return 1;
  }
  self->until_eof_ = p->type == HTTP_RESPONSE && (p->flags & (F_CHUNKED | F_CONTENTLENGTH)) == 0;
  return 0;
}

int Parser::onBody(http_parser* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  if (self->sink_ != nullptr) self->sink_->onBody(at, len);
  return 0;
}

int Parser::onMessageComplete(http_parser* p) {
  auto* self = static_cast<Parser*>(p->data);
  self->done_ = true;
  if (!self->trailers_.empty()) self->trailers_.append("\r\n");
  // Stop here: bytes after this belong to the next (pipelined) message.
  http_parser_pause(p, 1);
  return 0;
}

static const http_parser_settings& settings() {
  static const http_parser_settings s =
      makeSettings(&Parser::onUrl, &Parser::onField, &Parser::onValue, &Parser::onHeadersComplete,
                   &Parser::onBody, &Parser::onMessageComplete);
  return s;
}

}  // namespace gantry::dataplane::http1

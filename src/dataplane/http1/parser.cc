#include "dataplane/http1/parser.h"

#include <cstring>

namespace gantry::dataplane::http1 {
namespace {

// What a callback returns to stop llhttp on a check of ours (llhttp_execute returns it).
constexpr int kStop = HPE_USER;

// The most trailer bytes copied into trailers_ (llhttp has no limit of its own); the default is
// http-parser's old head limit, Server sets it from the request-header limit.
uint32_t max_trailer_bytes = 80 * 1024;

llhttp_settings_t makeSettings() {
  llhttp_settings_t s;
  llhttp_settings_init(&s);
  s.on_url = &Parser::onUrl;
  s.on_header_field = &Parser::onField;
  s.on_header_value = &Parser::onValue;
  s.on_headers_complete = &Parser::onHeadersComplete;
  s.on_body = &Parser::onBody;
  s.on_message_complete = &Parser::onMessageComplete;
  return s;
}

const llhttp_settings_t kSettings = makeSettings();

// Extends a view with a piece that directly follows it in memory (llhttp splits a token only at
// the end of the bytes it was given, when the rest arrives in a later read).
void extend(std::string_view* v, const char* at, size_t len) {
  if (v->data() + v->size() == at) {
    *v = std::string_view(v->data(), v->size() + len);
  } else {
    *v = std::string_view(at, len);
  }
}

// Start-line octets (RFC 9112 3 and 4): a request line is printable ASCII (llhttp lets HTAB, FF
// and non-ASCII through in the target); a status line may also carry HTAB and obs-text in its
// reason phrase (RFC 9112 4: reason-phrase).
constexpr bool requestLineOctet(unsigned char c) { return c >= 0x20 && c < 0x7f; }
constexpr bool statusLineOctet(unsigned char c) { return (c >= 0x20 && c != 0x7f) || c == '\t'; }

void shift(std::string_view* v, ptrdiff_t delta) {
  if (v->data() != nullptr) *v = std::string_view(v->data() + delta, v->size());
}

}  // namespace

void Parser::setMaxTrailerBytes(uint32_t n) { max_trailer_bytes = n; }

Parser::Parser() { reset(HTTP_REQUEST); }

void Parser::reset(llhttp_type_t type) {
  llhttp_init(&p_, type, &kSettings);
  // The one lenient flag on: any single-digit version, as http-parser read it. llhttp 8.1 rejects
  // versions other than 0.9, 1.0, 1.1 and 2.0, but RFC 9110 2.5 says a higher minor version of
  // a major we implement (HTTP/1.2) is processed as HTTP/1.1, and other majors get 505 (proxy.cc),
  // not 400. It changes nothing else (llhttp tests it only after the minor digit).
  p_.lenient_flags = LENIENT_VERSION;
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

void Parser::beginHead(llhttp_type_t type, std::vector<Header>* headers, uint32_t max_bytes,
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
  // llhttp (loose mode) ends a name only at ':', but lets SP into it (RFC 9112 5.1: no
  // whitespace between field name and colon; a name is a token).
  const char* colon = n + h.name.size();
  if (h.name.empty() || *colon != ':' || std::memchr(n, ' ', h.name.size()) != nullptr) {
    head_error_ = "invalid field name";
    return false;
  }
  const char* v = h.value.data();
  if (v == nullptr) {
    head_error_ = "invalid field line";
    return false;
  }
  if (h.value.empty()) {
    // llhttp points an empty value at the start of the next line: only OWS and a CRLF may lie
    // between.
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
  // RFC 9110 5.5: a value starts with field-vchar or obs-text (llhttp checks the value octets
  // too; this keeps the rule independent of how it skips leading whitespace).
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
    // ignore up to 4, and never a bare LF or CR (llhttp would skip any number of either).
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
    const llhttp_errno_t e = llhttp_execute(&p_, data + fed_, len - fed_);
    in_head_ = false;
    if (e == HPE_PAUSED && head_complete_) {
      return finishHead(data, static_cast<size_t>(llhttp_get_error_pos(&p_) - data));
    }
    if (e == HPE_PAUSED_H2_UPGRADE) {
      // RFC 9113 3.4: the HTTP/2 client preface, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", which llhttp
      // reads whole. Its first 18 bytes are a head of version 2.0 without fields: the caller
      // answers it like any version other than 1.x.
      head_len_ = static_cast<size_t>(llhttp_get_error_pos(&p_) - data) - 6;
      fed_ = head_len_;
      return HeadStatus::kComplete;
    }
    if (e != HPE_OK) {
      failed_ = true;
      if (too_many_) {
        head_error_ = "too many fields";
        return HeadStatus::kTooMany;
      }
      if (head_error_ != nullptr) return HeadStatus::kBad;  // a check in a callback
      return headBad(llhttp_get_error_reason(&p_));
    }
    fed_ = len;
  }
  if (len >= max_bytes_) {
    head_error_ = "head too large";
    return HeadStatus::kTooLarge;
  }
  return HeadStatus::kIncomplete;
}

// llhttp paused in onHeadersComplete after the head's final LF: the head is data[0, end).
HeadStatus Parser::finishHead(const char* data, size_t end) {
  // The head ends with CRLF CRLF: the last line's terminator and the empty line (llhttp also
  // ends it on a bare LF there).
  if (end < start_line_ + 4 || std::memcmp(data + end - 4, "\r\n\r\n", 4) != 0) {
    return headBad("bare LF");
  }
  const size_t lf = end - 1;
  head_len_ = end;
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
  // Let llhttp go on from the end of the head, with no more bytes: it ends a message without body
  // here (onMessageComplete), or waits at the start of the body.
  llhttp_resume(&p_);
  const llhttp_errno_t e = llhttp_execute(&p_, data + end, 0);
  fed_ = head_len_;
  if (e != HPE_OK && e != HPE_PAUSED) {
    failed_ = true;
    return headBad(llhttp_get_error_reason(&p_));
  }
  return HeadStatus::kComplete;
}

bool Parser::parseHead(const char* data, size_t len, std::vector<Header>* headers, bool skip_body) {
  headers_ = headers;
  headers_->clear();
  in_head_ = true;
  skip_body_ = skip_body;
  const llhttp_errno_t e = llhttp_execute(&p_, data, len);
  in_head_ = false;
  // HPE_PAUSED: the message ended with its head (onMessageComplete), at its last byte or before
  // bytes that belong to the next message.
  if (e != HPE_OK && !(e == HPE_PAUSED && done_)) {
    failed_ = true;
    return false;
  }
  return true;
}

size_t Parser::feedBody(const char* data, size_t len, BodySink* sink) {
  if (done_ || failed_) return 0;
  sink_ = sink;
  const llhttp_errno_t e = llhttp_execute(&p_, data, len);
  sink_ = nullptr;
  if (e == HPE_OK) return len;
  if (e != HPE_PAUSED) failed_ = true;
  // Paused at the end of the message (or stopped by an error): bytes consumed up to there.
  return static_cast<size_t>(llhttp_get_error_pos(&p_) - data);
}

void Parser::feedEof(BodySink* sink) {
  if (done_ || failed_) return;
  sink_ = sink;
  // Calls onMessageComplete when the body was delimited by the close (RFC 9112 6.3 item 8).
  llhttp_finish(&p_);
  sink_ = nullptr;
  if (!done_) failed_ = true;
}

const char* Parser::error() const {
  const char* r = llhttp_get_error_reason(&p_);
  return r != nullptr ? r : llhttp_errno_name(llhttp_get_errno(&p_));
}

int Parser::onUrl(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  extend(&self->url_, at, len);
  return 0;
}

int Parser::onField(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  if (self->in_head_) {
    auto& h = *self->headers_;
    if (h.empty() || self->last_was_value_) {
      if (self->incremental_) {
        // The previous field line is complete now.
        if (!h.empty() && !self->fieldLineOk(h.back())) return kStop;
        if (h.size() >= self->max_fields_) {
          self->too_many_ = true;
          return kStop;
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
    if (self->trailers_.size() > max_trailer_bytes) return kStop;
  }
  self->last_was_value_ = false;
  return 0;
}

int Parser::onValue(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  if (self->in_head_) {
    auto& h = *self->headers_;
    if (h.empty()) return kStop;
    if (!self->last_was_value_) {
      h.back().value = std::string_view(at, len);
    } else if (self->incremental_ && h.back().value.data() + h.back().value.size() != at) {
      // Not the rest of a value split by a feed boundary: a continuation line. RFC 9112 5.2: a
      // server MUST reject obs-fold or replace it; we reject.
      self->head_error_ = "obs-fold";
      return kStop;
    } else {
      extend(&h.back().value, at, len);
    }
  } else {
    if (!self->last_was_value_) self->trailers_.append(": ");
    self->trailers_.append(at, len);
    if (self->trailers_.size() > max_trailer_bytes) return kStop;
  }
  self->last_was_value_ = true;
  return 0;
}

int Parser::onHeadersComplete(llhttp_t* p) {
  auto* self = static_cast<Parser*>(p->data);
  self->keep_alive_ = llhttp_should_keep_alive(p) != 0;
  self->has_cl_ = (p->flags & F_CONTENT_LENGTH) != 0 && (p->flags & F_CHUNKED) == 0;
  self->cl_ = self->has_cl_ ? p->content_length : 0;
  self->last_was_value_ = false;
  const bool stop = self->incremental_ && self->in_head_;
  if (stop && p->type == HTTP_RESPONSE) {
    // RFC 9112 6.3: no body after a HEAD request, nor in 1xx, 204 and 304 responses.
    const unsigned s = p->status_code;
    self->skip_body_ = self->head_request_ || (s >= 100 && s < 200) || s == 204 || s == 304;
  }
  if (self->skip_body_) {
    self->until_eof_ = false;
  } else {
    self->until_eof_ = p->type == HTTP_RESPONSE && (p->flags & (F_CHUNKED | F_CONTENT_LENGTH)) == 0;
  }
  if (stop) {
    // Stop after the final LF: finishHead() checks the head before the body is touched. Pausing
    // cannot also say "no body" (return value 1), so set the flag that value would set.
    if (self->skip_body_) p->flags |= F_SKIPBODY;
    self->head_complete_ = true;
    return HPE_PAUSED;
  }
  return self->skip_body_ ? 1 : 0;
}

int Parser::onBody(llhttp_t* p, const char* at, size_t len) {
  auto* self = static_cast<Parser*>(p->data);
  if (self->sink_ != nullptr) self->sink_->onBody(at, len);
  return 0;
}

int Parser::onMessageComplete(llhttp_t* p) {
  auto* self = static_cast<Parser*>(p->data);
  self->done_ = true;
  if (!self->trailers_.empty()) self->trailers_.append("\r\n");
  // Stop here: bytes after this belong to the next (pipelined) message.
  return HPE_PAUSED;
}

}  // namespace gantry::dataplane::http1

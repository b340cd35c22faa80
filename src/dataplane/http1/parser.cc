#include "dataplane/http1/parser.h"

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

}  // namespace

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
}

static const http_parser_settings& settings();

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

// JSON form of the IR (see ir/json.h).
//
// Format, so that a snapshot can be written by hand:
//  - Every struct is a JSON object whose keys are the C++ member names of ir.h ("http_listeners",
//    "connect_timeout_ms", ...). toJson writes every member, in declaration order, so a dump is
//    stable and diffable; fromJson accepts any subset: an absent key keeps the member's default
//    from ir.h, so `{"ports": [...], "backends": [...]}` is a valid snapshot.
//  - std::optional members are omitted when empty; fromJson also accepts `null` for them.
//  - A Filter carries only the member its `type` selects ("header_modifier" for the two header
//    modifiers, "redirect", "rewrite", "mirror", "cors", "ext_auth"); fromJson reads whichever are
//    present.
//  - Enums are strings, spelled as the Gateway API spells the concept where it has a name:
//      Protocol:               HTTP, HTTPS, TLSPassthrough, TLSTerminate, TCP, UDP
//      PathMatchType:          Exact, PathPrefix, RegularExpression
//      ValueMatchType:         Exact, RegularExpression
//      PathModifierType:       None, ReplaceFullPath, ReplacePrefixMatch
//      FilterType:             RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect,
//                              URLRewrite, RequestMirror, CORS
//      SessionPersistenceType: None, Cookie, Header
//      AppProtocol:            HTTP1, H2C, WebSocket, WebSocketTLS, HTTP2TLS
//  - Integers are JSON integers, range-checked against the C++ type.
//
// fromJson never throws (simdjson's error-code API only) and rejects unknown keys, duplicate keys,
// wrong types and out-of-range numbers with a message naming the JSON path, e.g.
// `$.ports[0].http_listeners[1].entries[3].match.path.type: unknown value "Prefix" (expected one
// of Exact, PathPrefix, RegularExpression)`. Unknown keys are errors rather than ignored because
// snapshots are written by hand and a misspelt key ("prot") would otherwise silently become a
// default.
#include "ir/json.h"

#include <simdjson.h>

#include <array>
#include <cstdio>
#include <functional>
#include <limits>
#include <utility>

namespace gantry::ir {
namespace {

// ---------------------------------------------------------------------------------------------
// Enum names.
// ---------------------------------------------------------------------------------------------

template <typename E, size_t N>
using EnumNames = std::array<std::pair<E, std::string_view>, N>;

constexpr EnumNames<Protocol, 6> kProtocolNames{{
    {Protocol::kHttp, "HTTP"},
    {Protocol::kHttps, "HTTPS"},
    {Protocol::kTlsPassthrough, "TLSPassthrough"},
    {Protocol::kTlsTerminate, "TLSTerminate"},
    {Protocol::kTcp, "TCP"},
    {Protocol::kUdp, "UDP"},
}};
constexpr EnumNames<PathMatchType, 3> kPathMatchTypeNames{{
    {PathMatchType::kExact, "Exact"},
    {PathMatchType::kPathPrefix, "PathPrefix"},
    {PathMatchType::kRegularExpression, "RegularExpression"},
}};
constexpr EnumNames<ValueMatchType, 2> kValueMatchTypeNames{{
    {ValueMatchType::kExact, "Exact"},
    {ValueMatchType::kRegularExpression, "RegularExpression"},
}};
constexpr EnumNames<PathModifierType, 3> kPathModifierTypeNames{{
    {PathModifierType::kNone, "None"},
    {PathModifierType::kReplaceFullPath, "ReplaceFullPath"},
    {PathModifierType::kReplacePrefixMatch, "ReplacePrefixMatch"},
}};
constexpr EnumNames<FilterType, 7> kFilterTypeNames{{
    {FilterType::kRequestHeaderModifier, "RequestHeaderModifier"},
    {FilterType::kResponseHeaderModifier, "ResponseHeaderModifier"},
    {FilterType::kRequestRedirect, "RequestRedirect"},
    {FilterType::kUrlRewrite, "URLRewrite"},
    {FilterType::kRequestMirror, "RequestMirror"},
    {FilterType::kCors, "CORS"},
    {FilterType::kExternalAuth, "ExternalAuth"},
}};
constexpr EnumNames<SessionPersistenceType, 3> kSessionPersistenceTypeNames{{
    {SessionPersistenceType::kNone, "None"},
    {SessionPersistenceType::kCookie, "Cookie"},
    {SessionPersistenceType::kHeader, "Header"},
}};
constexpr EnumNames<AppProtocol, 5> kAppProtocolNames{{
    {AppProtocol::kHttp1, "HTTP1"},
    {AppProtocol::kH2c, "H2C"},
    {AppProtocol::kWebSocket, "WebSocket"},
    {AppProtocol::kWebSocketTls, "WebSocketTLS"},
    {AppProtocol::kHttp2Tls, "HTTP2TLS"},
}};

template <typename E, size_t N>
std::string_view enumName(const EnumNames<E, N>& names, E value) {
  for (const auto& [v, name] : names)
    if (v == value) return name;
  return "";  // an out-of-range enum value; fromJson will reject it, which is what we want
}

// ---------------------------------------------------------------------------------------------
// Writer.
// ---------------------------------------------------------------------------------------------

}  // namespace

// Invalid UTF-8 bytes (JSON cannot carry raw bytes) become U+FFFD so that the output always parses.
void appendJsonString(std::string& out, std::string_view s) {
  out.push_back('"');
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '"':
          out += "\\\"";
          break;
        case '\\':
          out += "\\\\";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\b':
          out += "\\b";
          break;
        case '\f':
          out += "\\f";
          break;
        default:
          if (c < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
          } else {
            out.push_back(static_cast<char>(c));
          }
      }
      ++i;
      continue;
    }
    // Multi-byte sequence: copy it if it is well-formed UTF-8 (RFC 3629 section 4), else U+FFFD.
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool valid = len != 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k)
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (valid && !simdjson::validate_utf8(s.data() + i, len)) valid = false;  // overlong, >U+10FFFF
    if (valid) {
      out.append(s.data() + i, len);
      i += len;
    } else {
      out += "\\ufffd";
      ++i;
    }
  }
  out.push_back('"');
}

namespace {

class Writer {
 public:
  std::string take() && { return std::move(out_); }

  void beginObject() { open('{'); }
  void endObject() { close('}'); }
  void beginArray() { open('['); }
  void endArray() { close(']'); }

  // Starts a member of the current object; the value follows.
  void key(std::string_view name) {
    separate();
    appendJsonString(out_, name);
    out_ += ": ";
    after_key_ = true;
  }

  void string(std::string_view v) {
    separate();
    appendJsonString(out_, v);
  }
  void number(uint64_t v) {
    separate();
    out_ += std::to_string(v);
  }
  void boolean(bool v) {
    separate();
    out_ += v ? "true" : "false";
  }

  // Arrays of scalars go on one line: they are short (codes, names) and easier to read that way.
  void stringList(const std::vector<std::string>& v) {
    separate();
    out_.push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ", ";
      appendJsonString(out_, v[i]);
    }
    out_.push_back(']');
  }
  template <typename T>
  void numberList(const std::vector<T>& v) {
    separate();
    out_.push_back('[');
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ", ";
      out_ += std::to_string(v[i]);
    }
    out_.push_back(']');
  }

  // Shorthands for "key": value.
  void field(std::string_view k, std::string_view v) { key(k), string(v); }
  void field(std::string_view k, const char* v) { key(k), string(v); }
  void field(std::string_view k, bool v) { key(k), boolean(v); }
  void field(std::string_view k, uint64_t v) { key(k), number(v); }
  void field(std::string_view k, uint32_t v) { key(k), number(v); }
  void field(std::string_view k, uint16_t v) { key(k), number(v); }
  void field(std::string_view k, const std::vector<std::string>& v) { key(k), stringList(v); }

  template <typename T, typename F>
  void list(std::string_view k, const std::vector<T>& items, F&& writeItem) {
    key(k);
    beginArray();
    for (const auto& item : items) writeItem(*this, item);
    endArray();
  }

 private:
  // Emits what must precede a value: nothing after a key, else a comma (unless first in its
  // container) and a newline with indentation.
  void separate() {
    if (after_key_) {
      after_key_ = false;
      return;
    }
    if (!first_.empty()) {
      if (!first_.back()) out_.push_back(',');
      first_.back() = false;
      newline();
    }
  }
  void open(char c) {
    separate();
    out_.push_back(c);
    first_.push_back(true);
  }
  void close(char c) {
    bool empty = first_.back();
    first_.pop_back();
    if (!empty) newline();
    out_.push_back(c);
  }
  void newline() {
    out_.push_back('\n');
    out_.append(2 * first_.size(), ' ');
  }

  std::string out_;
  std::vector<bool> first_;  // per open container: no element written yet
  bool after_key_ = false;
};

void write(Writer& w, const HeaderValue& h) {
  w.beginObject();
  w.field("name", h.name);
  w.field("value", h.value);
  w.endObject();
}

void write(Writer& w, const HeaderModifier& m) {
  w.beginObject();
  w.list("set", m.set, [](Writer& w, const HeaderValue& h) { write(w, h); });
  w.list("add", m.add, [](Writer& w, const HeaderValue& h) { write(w, h); });
  w.field("remove", m.remove);
  w.endObject();
}

void write(Writer& w, const PathModifier& p) {
  w.beginObject();
  w.field("type", enumName(kPathModifierTypeNames, p.type));
  w.field("value", p.value);
  w.endObject();
}

void write(Writer& w, const Filter& f) {
  w.beginObject();
  w.field("type", enumName(kFilterTypeNames, f.type));
  switch (f.type) {
    case FilterType::kRequestHeaderModifier:
    case FilterType::kResponseHeaderModifier:
      w.key("header_modifier");
      write(w, f.header_modifier);
      break;
    case FilterType::kRequestRedirect:
      w.key("redirect");
      w.beginObject();
      w.field("scheme", f.redirect.scheme);
      w.field("hostname", f.redirect.hostname);
      if (f.redirect.port) w.field("port", *f.redirect.port);
      w.key("path");
      write(w, f.redirect.path);
      w.field("status_code", f.redirect.status_code);
      w.endObject();
      break;
    case FilterType::kUrlRewrite:
      w.key("rewrite");
      w.beginObject();
      w.field("hostname", f.rewrite.hostname);
      w.key("path");
      write(w, f.rewrite.path);
      w.endObject();
      break;
    case FilterType::kRequestMirror:
      w.key("mirror");
      w.beginObject();
      w.field("backend", f.mirror.backend);
      w.field("numerator", f.mirror.numerator);
      w.field("denominator", f.mirror.denominator);
      w.endObject();
      break;
    case FilterType::kCors:
      w.key("cors");
      w.beginObject();
      w.field("allow_origins", f.cors.allow_origins);
      w.field("allow_credentials", f.cors.allow_credentials);
      w.field("allow_methods", f.cors.allow_methods);
      w.field("allow_headers", f.cors.allow_headers);
      w.field("expose_headers", f.cors.expose_headers);
      w.field("max_age_seconds", f.cors.max_age_seconds);
      w.endObject();
      break;
    case FilterType::kExternalAuth:
      w.key("ext_auth");
      w.beginObject();
      w.field("backend", f.ext_auth.backend);
      w.field("path_prefix", f.ext_auth.path_prefix);
      w.field("allowed_request_headers", f.ext_auth.allowed_request_headers);
      w.field("allowed_response_headers", f.ext_auth.allowed_response_headers);
      w.field("forward_body_max", f.ext_auth.forward_body_max);
      w.field("grpc", f.ext_auth.grpc);
      w.endObject();
      break;
  }
  w.endObject();
}

void writeFilters(Writer& w, std::string_view key, const std::vector<Filter>& filters) {
  w.list(key, filters, [](Writer& w, const Filter& f) { write(w, f); });
}

void write(Writer& w, const WeightedBackend& b) {
  w.beginObject();
  w.field("backend", b.backend);
  w.field("weight", b.weight);
  writeFilters(w, "filters", b.filters);
  w.endObject();
}

void writeBackends(Writer& w, const std::vector<WeightedBackend>& backends) {
  w.list("backends", backends, [](Writer& w, const WeightedBackend& b) { write(w, b); });
}

void write(Writer& w, const Match& m) {
  w.beginObject();
  w.key("path");
  w.beginObject();
  w.field("type", enumName(kPathMatchTypeNames, m.path.type));
  w.field("value", m.path.value);
  w.endObject();
  w.list("headers", m.headers, [](Writer& w, const HeaderMatch& h) {
    w.beginObject();
    w.field("type", enumName(kValueMatchTypeNames, h.type));
    w.field("name", h.name);
    w.field("value", h.value);
    w.endObject();
  });
  w.list("query_params", m.query_params, [](Writer& w, const QueryParamMatch& q) {
    w.beginObject();
    w.field("type", enumName(kValueMatchTypeNames, q.type));
    w.field("name", q.name);
    w.field("value", q.value);
    w.endObject();
  });
  w.field("method", m.method);
  w.endObject();
}

void write(Writer& w, const Rule& r) {
  w.beginObject();
  w.field("route", r.route);
  w.field("rule_index", r.rule_index);
  writeFilters(w, "filters", r.filters);
  writeBackends(w, r.backends);
  w.field("direct_status", r.direct_status);
  w.key("timeouts");
  w.beginObject();
  w.field("request_ms", r.timeouts.request_ms);
  w.field("backend_request_ms", r.timeouts.backend_request_ms);
  w.endObject();
  w.key("retry");
  w.beginObject();
  w.key("codes");
  w.numberList(r.retry.codes);
  w.field("attempts", r.retry.attempts);
  w.field("backoff_ms", r.retry.backoff_ms);
  w.endObject();
  w.key("session_persistence");
  w.beginObject();
  w.field("type", enumName(kSessionPersistenceTypeNames, r.session_persistence.type));
  w.field("name", r.session_persistence.name);
  w.field("absolute_timeout_s", r.session_persistence.absolute_timeout_s);
  w.field("idle_timeout_s", r.session_persistence.idle_timeout_s);
  w.field("permanent_cookie", r.session_persistence.permanent_cookie);
  w.endObject();
  w.field("grpc", r.grpc);
  w.endObject();
}

void write(Writer& w, const HttpListener& l) {
  w.beginObject();
  w.field("name", l.name);
  w.field("hostname", l.hostname);
  w.list("rules", l.rules, [](Writer& w, const Rule& r) { write(w, r); });
  w.list("entries", l.entries, [](Writer& w, const RouteEntry& e) {
    w.beginObject();
    w.field("hostname", e.hostname);
    w.key("match");
    write(w, e.match);
    w.field("rule", e.rule);
    w.endObject();
  });
  w.endObject();
}

void write(Writer& w, const TlsConfig& t) {
  w.beginObject();
  w.field("hostname", t.hostname);
  w.list("certificates", t.certificates, [](Writer& w, const Certificate& c) {
    w.beginObject();
    w.field("cert_pem", c.cert_pem);
    w.field("key_pem", c.key_pem);
    w.endObject();
  });
  if (t.client_validation) {
    w.key("client_validation");
    w.beginObject();
    w.field("ca_pems", t.client_validation->ca_pems);
    w.field("allow_insecure_fallback", t.client_validation->allow_insecure_fallback);
    w.endObject();
  }
  w.endObject();
}

void write(Writer& w, const Port& p) {
  w.beginObject();
  w.field("address", p.address);
  w.field("port", p.port);
  w.field("protocol", enumName(kProtocolNames, p.protocol));
  w.list("http_listeners", p.http_listeners, [](Writer& w, const HttpListener& l) { write(w, l); });
  w.list("tls", p.tls, [](Writer& w, const TlsConfig& t) { write(w, t); });
  w.list("l4_routes", p.l4_routes, [](Writer& w, const L4Route& r) {
    w.beginObject();
    w.field("route", r.route);
    w.field("hostnames", r.hostnames);
    writeBackends(w, r.backends);
    w.field("listener", r.listener);
    w.field("listener_hostname", r.listener_hostname);
    w.endObject();
  });
  w.endObject();
}

void write(Writer& w, const Backend& b) {
  w.beginObject();
  w.field("name", b.name);
  w.list("endpoints", b.endpoints, [](Writer& w, const Endpoint& e) {
    w.beginObject();
    w.field("address", e.address);
    w.field("port", e.port);
    w.field("weight", e.weight);
    w.endObject();
  });
  w.field("app_protocol", enumName(kAppProtocolNames, b.app_protocol));
  if (b.tls) {
    w.key("tls");
    w.beginObject();
    w.field("sni", b.tls->sni);
    w.field("ca_pems", b.tls->ca_pems);
    w.field("use_system_cas", b.tls->use_system_cas);
    w.field("subject_alt_names", b.tls->subject_alt_names);
    if (b.tls->client_certificate) {
      w.key("client_certificate");
      w.beginObject();
      w.field("cert_pem", b.tls->client_certificate->cert_pem);
      w.field("key_pem", b.tls->client_certificate->key_pem);
      w.endObject();
    }
    w.endObject();
  }
  w.field("connect_timeout_ms", b.connect_timeout_ms);
  w.endObject();
}

// ---------------------------------------------------------------------------------------------
// Reader: simdjson DOM with error codes; the first error wins and is kept with its JSON path.
// ---------------------------------------------------------------------------------------------

using simdjson::dom::element;
using simdjson::dom::element_type;

std::string describe(element_type t) {
  switch (t) {
    case element_type::ARRAY:
      return "an array";
    case element_type::OBJECT:
      return "an object";
    case element_type::INT64:
    case element_type::UINT64:
    case element_type::DOUBLE:
      return "a number";
    case element_type::STRING:
      return "a string";
    case element_type::BOOL:
      return "a boolean";
    case element_type::NULL_VALUE:
      return "null";
  }
  return "a value";
}

class Reader {
 public:
  using FieldFn = std::function<bool(element, const std::string&)>;
  struct Field {
    std::string_view name;
    FieldFn read;
  };

  bool fail(const std::string& path, std::string_view message) {
    if (error_.empty()) error_ = path + ": " + std::string(message);
    return false;
  }
  const std::string& error() const { return error_; }

  // Reads an object whose keys must all be among `fields`; absent keys keep their defaults.
  bool object(element e, const std::string& path, std::initializer_list<Field> fields) {
    simdjson::dom::object obj;
    if (e.get(obj) != simdjson::SUCCESS)
      return fail(path, "expected an object, got " + describe(e.type()));
    std::vector<std::string_view> seen;
    for (auto [key, value] : obj) {
      std::string child = path + "." + std::string(key);
      const Field* f = nullptr;
      for (const auto& candidate : fields)
        if (candidate.name == key) f = &candidate;
      if (!f) {
        std::string known;
        for (const auto& candidate : fields) {
          if (!known.empty()) known += ", ";
          known += candidate.name;
        }
        return fail(child, "unknown field (expected one of " + known + ")");
      }
      for (auto s : seen)
        if (s == key) return fail(child, "duplicate field");
      seen.push_back(key);
      if (!f->read(value, child)) return false;
    }
    return true;
  }

  template <typename T, typename F>
  bool array(element e, const std::string& path, std::vector<T>& out, F&& readItem) {
    simdjson::dom::array arr;
    if (e.get(arr) != simdjson::SUCCESS)
      return fail(path, "expected an array, got " + describe(e.type()));
    out.clear();
    out.reserve(arr.size());
    size_t i = 0;
    for (element item : arr) {
      out.emplace_back();
      if (!readItem(item, path + "[" + std::to_string(i) + "]", out.back())) return false;
      ++i;
    }
    return true;
  }

  bool string(element e, const std::string& path, std::string& out) {
    std::string_view v;
    if (e.get(v) != simdjson::SUCCESS)
      return fail(path, "expected a string, got " + describe(e.type()));
    out.assign(v);
    return true;
  }

  bool boolean(element e, const std::string& path, bool& out) {
    if (e.get(out) != simdjson::SUCCESS)
      return fail(path, "expected a boolean, got " + describe(e.type()));
    return true;
  }

  template <typename T>
  bool number(element e, const std::string& path, T& out) {
    static_assert(std::is_unsigned_v<T>);
    uint64_t v = 0;
    if (e.get(v) != simdjson::SUCCESS || v > std::numeric_limits<T>::max()) {
      return fail(path, "expected an integer from 0 to " +
                            std::to_string(std::numeric_limits<T>::max()) +
                            (e.is<uint64_t>() ? "" : ", got " + describe(e.type())));
    }
    out = static_cast<T>(v);
    return true;
  }

  template <typename E, size_t N>
  bool enumeration(element e, const std::string& path, const EnumNames<E, N>& names, E& out) {
    std::string_view v;
    if (e.get(v) != simdjson::SUCCESS)
      return fail(path, "expected a string, got " + describe(e.type()));
    std::string known;
    for (const auto& [value, name] : names) {
      if (name == v) {
        out = value;
        return true;
      }
      if (!known.empty()) known += ", ";
      known += name;
    }
    return fail(path, "unknown value \"" + std::string(v) + "\" (expected one of " + known + ")");
  }

  bool strings(element e, const std::string& path, std::vector<std::string>& out) {
    return array(e, path, out, [this](element item, const std::string& p, std::string& s) {
      return string(item, p, s);
    });
  }

 private:
  std::string error_;
};

// Field builders, to keep the per-struct readers declarative.
Reader::Field str(Reader& r, std::string_view name, std::string& out) {
  return {name, [&r, &out](element e, const std::string& p) { return r.string(e, p, out); }};
}
Reader::Field strs(Reader& r, std::string_view name, std::vector<std::string>& out) {
  return {name, [&r, &out](element e, const std::string& p) { return r.strings(e, p, out); }};
}
Reader::Field flag(Reader& r, std::string_view name, bool& out) {
  return {name, [&r, &out](element e, const std::string& p) { return r.boolean(e, p, out); }};
}
template <typename T>
Reader::Field num(Reader& r, std::string_view name, T& out) {
  return {name, [&r, &out](element e, const std::string& p) { return r.number(e, p, out); }};
}
template <typename E, size_t N>
Reader::Field enm(Reader& r, std::string_view name, const EnumNames<E, N>& names, E& out) {
  return {name, [&r, &names, &out](element e, const std::string& p) {
            return r.enumeration(e, p, names, out);
          }};
}
// A field that is an array of structs read by `readItem(Reader&, element, path, T&)`.
template <typename T, typename F>
Reader::Field list(Reader& r, std::string_view name, std::vector<T>& out, F readItem) {
  return {name, [&r, &out, readItem](element e, const std::string& p) {
            return r.array(e, p, out, [&r, &readItem](element item, const std::string& ip, T& v) {
              return readItem(r, item, ip, v);
            });
          }};
}
// A field that is a struct read by `readItem(Reader&, element, path, T&)`.
template <typename T, typename F>
Reader::Field sub(Reader& r, std::string_view name, T& out, F readItem) {
  return {name,
          [&r, &out, readItem](element e, const std::string& p) { return readItem(r, e, p, out); }};
}
// An optional struct: absent or null -> nullopt.
template <typename T, typename F>
Reader::Field opt(Reader& r, std::string_view name, std::optional<T>& out, F readItem) {
  return {name, [&r, &out, readItem](element e, const std::string& p) {
            if (e.is_null()) {
              out.reset();
              return true;
            }
            out.emplace();
            return readItem(r, e, p, *out);
          }};
}

bool readHeaderValue(Reader& r, element e, const std::string& p, HeaderValue& v) {
  return r.object(e, p, {str(r, "name", v.name), str(r, "value", v.value)});
}

bool readHeaderModifier(Reader& r, element e, const std::string& p, HeaderModifier& m) {
  return r.object(e, p,
                  {list(r, "set", m.set, readHeaderValue), list(r, "add", m.add, readHeaderValue),
                   strs(r, "remove", m.remove)});
}

bool readPathModifier(Reader& r, element e, const std::string& p, PathModifier& m) {
  return r.object(e, p, {enm(r, "type", kPathModifierTypeNames, m.type), str(r, "value", m.value)});
}

bool readRedirect(Reader& r, element e, const std::string& p, RequestRedirect& v) {
  return r.object(e, p,
                  {str(r, "scheme", v.scheme),
                   str(r, "hostname", v.hostname),
                   {"port",
                    [&r, &v](element e, const std::string& p) {
                      if (e.is_null()) {
                        v.port.reset();
                        return true;
                      }
                      uint16_t port = 0;
                      if (!r.number(e, p, port)) return false;
                      v.port = port;
                      return true;
                    }},
                   sub(r, "path", v.path, readPathModifier),
                   num(r, "status_code", v.status_code)});
}

bool readRewrite(Reader& r, element e, const std::string& p, UrlRewrite& v) {
  return r.object(e, p, {str(r, "hostname", v.hostname), sub(r, "path", v.path, readPathModifier)});
}

bool readMirror(Reader& r, element e, const std::string& p, RequestMirror& v) {
  return r.object(e, p,
                  {str(r, "backend", v.backend), num(r, "numerator", v.numerator),
                   num(r, "denominator", v.denominator)});
}

bool readCors(Reader& r, element e, const std::string& p, Cors& v) {
  return r.object(
      e, p,
      {strs(r, "allow_origins", v.allow_origins), flag(r, "allow_credentials", v.allow_credentials),
       strs(r, "allow_methods", v.allow_methods), strs(r, "allow_headers", v.allow_headers),
       strs(r, "expose_headers", v.expose_headers), num(r, "max_age_seconds", v.max_age_seconds)});
}

bool readExtAuth(Reader& r, element e, const std::string& p, ExternalAuth& v) {
  return r.object(e, p,
                  {str(r, "backend", v.backend), str(r, "path_prefix", v.path_prefix),
                   strs(r, "allowed_request_headers", v.allowed_request_headers),
                   strs(r, "allowed_response_headers", v.allowed_response_headers),
                   num(r, "forward_body_max", v.forward_body_max), flag(r, "grpc", v.grpc)});
}

bool readFilter(Reader& r, element e, const std::string& p, Filter& f) {
  return r.object(
      e, p,
      {enm(r, "type", kFilterTypeNames, f.type),
       sub(r, "header_modifier", f.header_modifier, readHeaderModifier),
       sub(r, "redirect", f.redirect, readRedirect), sub(r, "rewrite", f.rewrite, readRewrite),
       sub(r, "mirror", f.mirror, readMirror), sub(r, "cors", f.cors, readCors),
       sub(r, "ext_auth", f.ext_auth, readExtAuth)});
}

bool readWeightedBackend(Reader& r, element e, const std::string& p, WeightedBackend& b) {
  return r.object(e, p,
                  {str(r, "backend", b.backend), num(r, "weight", b.weight),
                   list(r, "filters", b.filters, readFilter)});
}

bool readMatch(Reader& r, element e, const std::string& p, Match& m) {
  auto readPath = [](Reader& r, element e, const std::string& p, PathMatch& v) {
    return r.object(e, p, {enm(r, "type", kPathMatchTypeNames, v.type), str(r, "value", v.value)});
  };
  auto readHeader = [](Reader& r, element e, const std::string& p, HeaderMatch& v) {
    return r.object(e, p,
                    {enm(r, "type", kValueMatchTypeNames, v.type), str(r, "name", v.name),
                     str(r, "value", v.value)});
  };
  auto readQuery = [](Reader& r, element e, const std::string& p, QueryParamMatch& v) {
    return r.object(e, p,
                    {enm(r, "type", kValueMatchTypeNames, v.type), str(r, "name", v.name),
                     str(r, "value", v.value)});
  };
  return r.object(e, p,
                  {sub(r, "path", m.path, readPath), list(r, "headers", m.headers, readHeader),
                   list(r, "query_params", m.query_params, readQuery), str(r, "method", m.method)});
}

bool readRule(Reader& r, element e, const std::string& p, Rule& v) {
  auto readTimeouts = [](Reader& r, element e, const std::string& p, Timeouts& t) {
    return r.object(
        e, p,
        {num(r, "request_ms", t.request_ms), num(r, "backend_request_ms", t.backend_request_ms)});
  };
  auto readRetry = [](Reader& r, element e, const std::string& p, Retry& t) {
    return r.object(e, p,
                    {list(r, "codes", t.codes,
                          [](Reader& r, element e, const std::string& p, uint16_t& c) {
                            return r.number(e, p, c);
                          }),
                     num(r, "attempts", t.attempts), num(r, "backoff_ms", t.backoff_ms)});
  };
  auto readSession = [](Reader& r, element e, const std::string& p, SessionPersistence& s) {
    return r.object(e, p,
                    {enm(r, "type", kSessionPersistenceTypeNames, s.type), str(r, "name", s.name),
                     num(r, "absolute_timeout_s", s.absolute_timeout_s),
                     num(r, "idle_timeout_s", s.idle_timeout_s),
                     flag(r, "permanent_cookie", s.permanent_cookie)});
  };
  return r.object(
      e, p,
      {str(r, "route", v.route), num(r, "rule_index", v.rule_index),
       list(r, "filters", v.filters, readFilter),
       list(r, "backends", v.backends, readWeightedBackend),
       num(r, "direct_status", v.direct_status), sub(r, "timeouts", v.timeouts, readTimeouts),
       sub(r, "retry", v.retry, readRetry),
       sub(r, "session_persistence", v.session_persistence, readSession), flag(r, "grpc", v.grpc)});
}

bool readHttpListener(Reader& r, element e, const std::string& p, HttpListener& l) {
  auto readEntry = [](Reader& r, element e, const std::string& p, RouteEntry& v) {
    return r.object(e, p,
                    {str(r, "hostname", v.hostname), sub(r, "match", v.match, readMatch),
                     num(r, "rule", v.rule)});
  };
  if (!r.object(e, p,
                {str(r, "name", l.name), str(r, "hostname", l.hostname),
                 list(r, "rules", l.rules, readRule), list(r, "entries", l.entries, readEntry)}))
    return false;
  // RouteEntry::rule indexes `rules`; the data plane trusts it, so check it here.
  for (size_t i = 0; i < l.entries.size(); ++i) {
    if (l.entries[i].rule >= l.rules.size()) {
      return r.fail(p + ".entries[" + std::to_string(i) + "].rule",
                    "rule index " + std::to_string(l.entries[i].rule) + " out of range (" +
                        std::to_string(l.rules.size()) + " rules)");
    }
  }
  return true;
}

bool readTlsConfig(Reader& r, element e, const std::string& p, TlsConfig& t) {
  auto readCert = [](Reader& r, element e, const std::string& p, Certificate& c) {
    return r.object(e, p, {str(r, "cert_pem", c.cert_pem), str(r, "key_pem", c.key_pem)});
  };
  auto readValidation = [](Reader& r, element e, const std::string& p, FrontendValidation& v) {
    return r.object(e, p,
                    {strs(r, "ca_pems", v.ca_pems),
                     flag(r, "allow_insecure_fallback", v.allow_insecure_fallback)});
  };
  return r.object(
      e, p,
      {str(r, "hostname", t.hostname), list(r, "certificates", t.certificates, readCert),
       opt(r, "client_validation", t.client_validation, readValidation)});
}

bool readPort(Reader& r, element e, const std::string& p, Port& v) {
  auto readL4 = [](Reader& r, element e, const std::string& p, L4Route& l) {
    return r.object(
        e, p,
        {str(r, "route", l.route), strs(r, "hostnames", l.hostnames),
         list(r, "backends", l.backends, readWeightedBackend), str(r, "listener", l.listener),
         str(r, "listener_hostname", l.listener_hostname)});
  };
  return r.object(
      e, p,
      {str(r, "address", v.address), num(r, "port", v.port),
       enm(r, "protocol", kProtocolNames, v.protocol),
       list(r, "http_listeners", v.http_listeners, readHttpListener),
       list(r, "tls", v.tls, readTlsConfig), list(r, "l4_routes", v.l4_routes, readL4)});
}

bool readBackend(Reader& r, element e, const std::string& p, Backend& b) {
  auto readEndpoint = [](Reader& r, element e, const std::string& p, Endpoint& v) {
    return r.object(
        e, p, {str(r, "address", v.address), num(r, "port", v.port), num(r, "weight", v.weight)});
  };
  auto readTls = [](Reader& r, element e, const std::string& p, BackendTls& t) {
    auto readCert = [](Reader& r, element e, const std::string& p, Certificate& c) {
      return r.object(e, p, {str(r, "cert_pem", c.cert_pem), str(r, "key_pem", c.key_pem)});
    };
    return r.object(e, p,
                    {str(r, "sni", t.sni), strs(r, "ca_pems", t.ca_pems),
                     flag(r, "use_system_cas", t.use_system_cas),
                     strs(r, "subject_alt_names", t.subject_alt_names),
                     opt(r, "client_certificate", t.client_certificate, readCert)});
  };
  return r.object(
      e, p,
      {str(r, "name", b.name), list(r, "endpoints", b.endpoints, readEndpoint),
       enm(r, "app_protocol", kAppProtocolNames, b.app_protocol), opt(r, "tls", b.tls, readTls),
       num(r, "connect_timeout_ms", b.connect_timeout_ms)});
}

}  // namespace

std::string toJson(const Snapshot& snapshot) {
  Writer w;
  w.beginObject();
  w.field("version", snapshot.version);
  w.list("ports", snapshot.ports, [](Writer& w, const Port& p) { write(w, p); });
  w.list("backends", snapshot.backends, [](Writer& w, const Backend& b) { write(w, b); });
  w.endObject();
  std::string out = std::move(w).take();
  out.push_back('\n');
  return out;
}

StatusOr<Snapshot> fromJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  element root;
  if (auto err = parser.parse(padded).get(root); err != simdjson::SUCCESS)
    return Status::error(std::string("invalid JSON: ") + simdjson::error_message(err));
  Snapshot s;
  Reader r;
  bool ok = r.object(root, "$",
                     {num(r, "version", s.version), list(r, "ports", s.ports, readPort),
                      list(r, "backends", s.backends, readBackend)});
  if (!ok) return Status::error(r.error());
  return s;
}

}  // namespace gantry::ir

#include "dataplane/filters/cors.h"

#include <fmt/format.h>

#include <charconv>

#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"

namespace gantry::dataplane::filters {
namespace {

using http1::lowerAscii;

uint16_t defaultPort(std::string_view scheme) {
  if (http1::iequals(scheme, "http")) return 80;
  if (http1::iequals(scheme, "https")) return 443;
  return 0;
}

// Splits "<scheme>://<host>[:<port>]" (an Origin, RFC 6454 7). A missing port is the scheme's
// default (HTTPCORSFilter.allowOrigins: "if not included, port 80 is assumed for http scheme
// origins, and port 443 is assumed for https origins").
bool splitOrigin(std::string_view o, std::string_view* scheme, std::string_view* host,
                 uint16_t* port) {
  size_t sep = o.find("://");
  if (sep == std::string_view::npos || sep == 0) return false;
  *scheme = o.substr(0, sep);
  std::string_view rest = o.substr(sep + 3);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
  size_t colon = rest.rfind(':');
  // An IPv6 literal "[::1]" has colons inside the brackets.
  if (colon != std::string_view::npos && rest.find(']', colon) == std::string_view::npos) {
    std::string_view p = rest.substr(colon + 1);
    unsigned v = 0;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
    if (ec != std::errc() || end != p.data() + p.size() || v == 0 || v > 65535) return false;
    *port = static_cast<uint16_t>(v);
    rest = rest.substr(0, colon);
  } else {
    *port = defaultPort(*scheme);
  }
  if (rest.empty()) return false;
  *host = rest;
  return true;
}

std::string joinLine(std::string_view name, const std::vector<std::string>& items) {
  std::string out(name);
  out.append(": ");
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(items[i]);
  }
  out.append("\r\n");
  return out;
}

bool hasStar(const std::vector<std::string>& v) { return v.size() == 1 && v[0] == "*"; }

}  // namespace

bool isCorsResponseField(std::string_view name) {
  using http1::iequals;
  return iequals(name, "access-control-allow-origin") ||
         iequals(name, "access-control-allow-credentials") ||
         iequals(name, "access-control-expose-headers");
}

CorsRequest CorsRequest::inspect(std::string_view method,
                                 const std::vector<http1::Header>& headers) {
  using http1::iequals;
  CorsRequest r;
  r.options = method == "OPTIONS";
  for (const auto& h : headers) {
    if (h.name.size() < 6) continue;
    if (!r.has_origin && iequals(h.name, "origin")) {
      r.has_origin = true;
      r.origin = http1::trimOws(h.value);
    } else if (!r.has_request_method && iequals(h.name, "access-control-request-method")) {
      r.has_request_method = true;
      r.request_method = http1::trimOws(h.value);
    } else if (!r.has_request_headers && iequals(h.name, "access-control-request-headers")) {
      r.has_request_headers = true;
      r.request_headers = http1::trimOws(h.value);
    }
  }
  return r;
}

Cors Cors::compile(const ir::Cors& c, std::vector<std::string>* warnings) {
  Cors out;
  out.credentials_ = c.allow_credentials;
  for (const auto& o : c.allow_origins) {
    OriginPattern p;
    if (o == "*") {
      p.any = true;
      out.origins_.push_back(std::move(p));
      continue;
    }
    std::string_view scheme, host;
    uint16_t port = 0;
    if (!splitOrigin(o, &scheme, &host, &port)) {
      if (warnings) warnings->push_back(fmt::format("CORS: invalid allowOrigins entry '{}'", o));
      continue;
    }
    p.scheme = lowerAscii(scheme);
    p.port = port;
    // "`*` is a greedy match to the _left_, including any number of DNS labels to the left of
    // its position"; "A wildcard by itself matches all hosts."
    size_t star = host.rfind('*');
    if (star != std::string_view::npos) {
      p.wildcard = true;
      p.host = lowerAscii(host.substr(star + 1));
    } else {
      p.host = lowerAscii(host);
    }
    out.origins_.push_back(std::move(p));
  }
  out.any_method_ = hasStar(c.allow_methods);
  if (!c.allow_methods.empty() && !out.any_method_) {
    out.methods_line_ = joinLine("access-control-allow-methods", c.allow_methods);
  }
  out.any_header_ = hasStar(c.allow_headers);
  if (!c.allow_headers.empty() && !out.any_header_) {
    out.headers_line_ = joinLine("access-control-allow-headers", c.allow_headers);
  }
  // exposeHeaders "*" with credentials: "the gateway cannot use the `*`" (and the Fetch standard
  // treats it as a literal name then), so nothing is exposed beyond the safelisted fields.
  if (!c.expose_headers.empty() && !(hasStar(c.expose_headers) && c.allow_credentials)) {
    out.expose_line_ = joinLine("access-control-expose-headers", c.expose_headers);
  }
  out.max_age_line_ = fmt::format("access-control-max-age: {}\r\n", c.max_age_seconds);
  return out;
}

bool Cors::allows(std::string_view origin) const {
  std::string_view scheme, host;
  uint16_t port = 0;
  const bool parsed = splitOrigin(origin, &scheme, &host, &port);
  for (const auto& p : origins_) {
    if (p.any) return true;
    if (!parsed || !http1::iequals(scheme, p.scheme) || port != p.port) continue;
    if (p.wildcard) {
      // At least one character must stand for the '*'.
      if (host.size() > p.host.size() &&
          http1::iequals(host.substr(host.size() - p.host.size()), p.host)) {
        return true;
      }
    } else if (http1::iequals(host, p.host)) {
      return true;
    }
  }
  return false;
}

void Cors::appendPreflight(const CorsRequest& r, std::string& out) const {
  // The allowed origin is echoed rather than answered with "*": valid with and without
  // credentials ("If the configuration contains the wildcard `*` in `allowOrigins` and
  // `allowCredentials` is set to `true`, the gateway must not return `*`").
  out.append("access-control-allow-origin: ").append(r.origin).append("\r\n");
  if (credentials_) out.append("access-control-allow-credentials: true\r\n");
  if (any_method_) {
    // allowMethods "*": with credentials "it must return a single HTTP method matching the value
    // of the Access-Control-Request-Method request header".
    if (!credentials_) {
      out.append("access-control-allow-methods: *\r\n");
    } else if (r.has_request_method) {
      out.append("access-control-allow-methods: ").append(r.request_method).append("\r\n");
    }
  } else {
    out.append(methods_line_);
  }
  if (any_header_) {
    // allowHeaders "*" with credentials: echo Access-Control-Request-Headers, or omit the field
    // when the request has none.
    if (!credentials_) {
      out.append("access-control-allow-headers: *\r\n");
    } else if (r.has_request_headers && !r.request_headers.empty()) {
      out.append("access-control-allow-headers: ").append(r.request_headers).append("\r\n");
    }
  } else {
    out.append(headers_line_);
  }
  out.append(expose_line_);
  out.append(max_age_line_);
  out.append("vary: origin\r\n");
}

void Cors::appendActual(const CorsRequest& r, std::string& out) const {
  out.append("access-control-allow-origin: ").append(r.origin).append("\r\n");
  if (credentials_) out.append("access-control-allow-credentials: true\r\n");
  out.append(expose_line_);
  out.append("vary: origin\r\n");
}

}  // namespace gantry::dataplane::filters

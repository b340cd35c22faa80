// HTTPRoute CORS filter (Gateway API HTTPCORSFilter, experimental; the Fetch standard's CORS
// protocol): preflight requests are answered by the gateway, actual cross-origin requests are
// forwarded and get the CORS response fields added.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http1/parser.h"
#include "ir/ir.h"

namespace gantry::dataplane::filters {

// The CORS-relevant fields of one request.
struct CorsRequest {
  bool has_origin = false;
  std::string_view origin;
  bool has_request_method = false;
  std::string_view request_method;  // Access-Control-Request-Method
  bool has_request_headers = false;
  std::string_view request_headers;  // Access-Control-Request-Headers
  bool options = false;

  static CorsRequest inspect(std::string_view method, const std::vector<http1::Header>& headers);
  // Fetch standard "CORS-preflight request": OPTIONS with Origin and Access-Control-Request-Method.
  bool preflight() const { return options && has_origin && has_request_method; }
};

class Cors {
 public:
  static Cors compile(const ir::Cors& c, std::vector<std::string>* warnings);

  // Whether `origin` (the Origin field value) is allowed by allowOrigins.
  bool allows(std::string_view origin) const;
  // Field lines of the answer to an allowed preflight request.
  void appendPreflight(const CorsRequest& r, std::string& out) const;
  // Field lines added to the response to an allowed actual request.
  void appendActual(const CorsRequest& r, std::string& out) const;

 private:
  struct OriginPattern {
    bool any = false;    // "*"
    std::string scheme;  // lower-case
    std::string host;    // lower-case; with `wildcard`, the part after the leading '*'
    bool wildcard = false;
    uint16_t port = 0;
  };

  std::vector<OriginPattern> origins_;
  bool credentials_ = false;
  bool any_method_ = false;
  bool any_header_ = false;
  std::string methods_line_;  // "access-control-allow-methods: GET, PUT\r\n" or empty
  std::string headers_line_;  // "access-control-allow-headers: ...\r\n" or empty
  std::string expose_line_;   // "access-control-expose-headers: ...\r\n" or empty
  std::string max_age_line_;
};

// Response fields the CORS filter owns when it answers for an allowed origin (the backend's own
// copies are dropped so that the client never sees two Access-Control-Allow-Origin fields).
bool isCorsResponseField(std::string_view name);

}  // namespace gantry::dataplane::filters

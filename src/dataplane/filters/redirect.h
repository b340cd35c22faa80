// RequestRedirect: the Location of the redirect, with everything that does not depend on the
// request decided once when the route table is built.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ir/ir.h"

namespace gantry::dataplane::filters {

class Redirect {
 public:
  // `listener_scheme` is the scheme requests arrive with on this listener ("http" or "https"),
  // `listener_port` the Gateway Listener port; `prefixes` as for modifyPath().
  static Redirect compile(const ir::RequestRedirect& r, std::string_view listener_scheme,
                          uint16_t listener_port, std::vector<std::string> prefixes);

  uint16_t status() const { return status_; }
  // Appends "location: <url>\r\n". `host` is the request's host without port (Host header or
  // absolute-form authority), `path` its normalised path, `query` its raw query (without '?').
  void appendLocation(std::string_view host, std::string_view path, bool has_query,
                      std::string_view query, std::string& out) const;

 private:
  const ir::RequestRedirect* ir_ = nullptr;
  uint16_t status_ = 302;
  std::string scheme_prefix_;  // "https://"
  std::string host_;           // fixed hostname, or empty for the request's
  std::string port_suffix_;    // ":8443", or empty when the port is the scheme's default
  std::vector<std::string> prefixes_;
};

}  // namespace gantry::dataplane::filters

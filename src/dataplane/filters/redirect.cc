#include "dataplane/filters/redirect.h"

#include <fmt/format.h>

#include "dataplane/filters/path_modifier.h"

namespace gantry::dataplane::filters {

Redirect Redirect::compile(const ir::RequestRedirect& r, std::string_view listener_scheme,
                           uint16_t listener_port, std::vector<std::string> prefixes) {
  Redirect out;
  out.ir_ = &r;
  out.status_ = r.status_code;
  if (out.status_ != 301 && out.status_ != 302 && out.status_ != 303 && out.status_ != 307 &&
      out.status_ != 308) {
    out.status_ = 302;  // the API allows only these; the CRD default is 302
  }
  // Scheme: "When empty, the scheme of the request is used."
  std::string scheme = r.scheme.empty() ? std::string(listener_scheme) : r.scheme;
  // Port (HTTPRequestRedirectFilter.port): "If redirect scheme is not-empty, the redirect port
  // MUST be the well-known port associated with the redirect scheme ... If redirect scheme is
  // empty, the redirect port MUST be the Gateway Listener port."
  uint16_t port = listener_port;
  if (r.port) {
    port = *r.port;
  } else if (!r.scheme.empty()) {
    if (r.scheme == "http") port = 80;
    if (r.scheme == "https") port = 443;
  }
  // "Implementations SHOULD NOT add the port number in the 'Location' header" for http on 80 and
  // https on 443.
  const bool default_port = (scheme == "http" && port == 80) || (scheme == "https" && port == 443);
  out.scheme_prefix_ = scheme + "://";
  out.host_ = r.hostname;
  if (!default_port && port != 0) out.port_suffix_ = fmt::format(":{}", port);
  out.prefixes_ = std::move(prefixes);
  return out;
}

void Redirect::appendLocation(std::string_view host, std::string_view path, bool has_query,
                              std::string_view query, std::string& out) const {
  out.append("location: ").append(scheme_prefix_);
  out.append(host_.empty() ? host : std::string_view(host_));
  out.append(port_suffix_);
  modifyPath(ir_->path, prefixes_, path, out);
  if (has_query) out.append("?").append(query);
  out.append("\r\n");
}

}  // namespace gantry::dataplane::filters

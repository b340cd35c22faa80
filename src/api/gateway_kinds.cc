// Gateway API kinds. Each decoder mirrors the v1.6 CRD schema (experimental channel, which is a
// superset of standard) generated from sigs.k8s.io/gateway-api/apis/v1: the kubebuilder markers
// become StrSpec / integer bounds / list limits here, and every x-kubernetes-validations (CEL)
// rule is written out as C++ next to the field it guards, quoting the rule's message.
#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <set>

#include "api/kinds.h"

namespace gantry::api::detail {

namespace {

const StrSpec kHeaderValue{1, 4096, R"(^[!-~]+([\t ]?[!-~]+)*$)", {}};
const StrSpec kListenerProtocol{
    1,
    255,
    R"(^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$)",
    {}};
const StrSpec kHttpMethod{
    0,
    -1,
    nullptr,
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}};
const StrSpec kMatchType{0, -1, nullptr, {"Exact", "RegularExpression"}};
const StrSpec kDefaultScope{0, -1, nullptr, {"All", "None"}};
const StrSpec kHttpPathValue{0, 1024, nullptr, {}};
constexpr const char* kValidPathChars = R"(^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$)";

// CEL messages report the whole object as the invalid value ("Invalid value: "object": ...").
// The API server reports a failed rule as field.Invalid(<path of the node holding the rule>,
// <that node's schema type>, message): "object" for objects and maps, "array" for lists.
std::string cel(std::string_view message) {
  return fmt::format("Invalid value: \"object\": {}", message);
}
std::string celArray(std::string_view message) {
  return fmt::format("Invalid value: \"array\": {}", message);
}

// x-kubernetes-list-type=map: the API server reports the later of two items with the same key,
// at the item's path.
std::string duplicateKey(std::string_view key, std::string_view value) {
  return fmt::format("Duplicate value: {{\"{}\": \"{}\"}}", key, value);
}

// The text of a string scalar, also when the schema rejects it (rules that the API server still
// evaluates after a pattern error need it). The one place here that reads the YAML node itself.
std::optional<std::string> rawString(const V& v) {
  if (!v.has() || !v.n.IsScalar() || classifyScalar(v.n) != ScalarKind::kString) {
    return std::nullopt;
  }
  return v.n.Scalar();
}

// The OpenAPI "ipv4" / "ipv6" string formats as the API server checks them (kube-openapi strfmt:
// net.ParseIP, sloppy about leading zeros in IPv4 octets; "ipv4" is any parsable address with a
// '.', so "::ffff:1.2.3.4" passes as well).
bool isFormatIp(const std::string& s) {
  if (isIpv6(s)) return true;
  in6_addr a6{};
  if (s.find(':') != std::string::npos) return inet_pton(AF_INET6, s.c_str(), &a6) == 1;
  // Dotted quad, each octet's leading zeros dropped (ParseIPSloppy).
  std::string canon;
  size_t start = 0;
  int parts = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty() || part.size() > 8 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    size_t nz = part.find_first_not_of('0');
    canon += (parts ? "." : "") + (nz == std::string::npos ? std::string("0") : part.substr(nz));
    ++parts;
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts == 4 && isIpv4(canon);
}

// Gateway API Duration (GEP-2257) to milliseconds; the schema pattern has already been checked.
int64_t durationMs(const std::string& s) {
  int64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    int64_t n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') n = n * 10 + (s[i++] - '0');
    if (s.compare(i, 2, "ms") == 0) {
      total += n;
      i += 2;
    } else if (i < s.size()) {
      char u = s[i++];
      total += n * (u == 'h' ? 3600000 : u == 'm' ? 60000 : 1000);
    }
  }
  return total;
}

// --- references -------------------------------------------------------------------------------

ParentReference decodeParentRef(Decoder& d, const V& v, bool with_section_and_port) {
  ParentReference r;
  if (with_section_and_port) {
    d.strict(v, {"group", "kind", "namespace", "name", "sectionName", "port"});
  } else {
    d.strict(v, {"group", "kind", "namespace", "name"});
  }
  if (auto s = d.str(d.field(v, "group"), specs::kGroup)) r.group = *s;
  if (auto s = d.str(d.field(v, "kind"), specs::kKind)) r.kind = *s;
  if (auto s = d.str(d.field(v, "namespace"), specs::kNamespace)) r.namespace_ = *s;
  if (auto s = d.reqStr(d.field(v, "name"), specs::kObjectName)) r.name = *s;
  if (with_section_and_port) {
    if (auto s = d.str(d.field(v, "sectionName"), specs::kSectionName)) r.section_name = *s;
    if (auto n = d.integer(d.field(v, "port"), 1, 65535)) r.port = static_cast<uint16_t>(*n);
  }
  return r;
}

// BackendObjectReference plus its CEL rule, for the given keys (BackendRef adds weight, the HTTP
// and GRPC backend refs add filters; they are read by the caller).
BackendObjectReference decodeBackendObjectRef(Decoder& d, const V& v) {
  BackendObjectReference r;
  bool has_port = false;
  if (auto s = d.str(d.field(v, "group"), specs::kGroup)) r.group = *s;
  if (auto s = d.str(d.field(v, "kind"), specs::kKind)) r.kind = *s;
  if (auto s = d.reqStr(d.field(v, "name"), specs::kObjectName)) r.name = *s;
  if (auto s = d.str(d.field(v, "namespace"), specs::kNamespace)) r.namespace_ = *s;
  V port = d.field(v, "port");
  has_port = port.has();
  if (auto n = d.integer(port, 1, 65535)) r.port = static_cast<uint16_t>(*n);
  // "Must have port for Service reference":
  // (size(self.group) == 0 && self.kind == 'Service') ? has(self.port) : true
  if (r.group.empty() && r.kind == "Service" && !has_port) {
    d.fail(v, cel("Must have port for Service reference"));
  }
  return r;
}

// SecretObjectReference (group "" and kind Secret by default).
ObjectReference decodeSecretRef(Decoder& d, const V& v) {
  ObjectReference r;
  d.strict(v, {"group", "kind", "name", "namespace"});
  if (auto s = d.str(d.field(v, "group"), specs::kGroup)) r.group = *s;
  if (auto s = d.str(d.field(v, "kind"), specs::kKind)) r.kind = *s;
  if (auto s = d.reqStr(d.field(v, "name"), specs::kObjectName)) r.name = *s;
  if (auto s = d.str(d.field(v, "namespace"), specs::kNamespace)) r.namespace_ = *s;
  return r;
}

// ObjectReference (group and kind required, namespace optional) or, with `local`,
// LocalObjectReference (no namespace).
ObjectReference decodeObjectRef(Decoder& d, const V& v, bool local) {
  ObjectReference r;
  if (local) {
    d.strict(v, {"group", "kind", "name"});
  } else {
    d.strict(v, {"group", "kind", "name", "namespace"});
  }
  if (auto s = d.reqStr(d.field(v, "group"), specs::kGroup)) r.group = *s;
  if (auto s = d.reqStr(d.field(v, "kind"), specs::kKind)) r.kind = *s;
  if (auto s = d.reqStr(d.field(v, "name"), specs::kObjectName)) r.name = *s;
  if (!local) {
    if (auto s = d.str(d.field(v, "namespace"), specs::kNamespace)) r.namespace_ = *s;
  }
  return r;
}

ParametersReference decodeParametersRef(Decoder& d, const V& v, bool local) {
  ObjectReference o = decodeObjectRef(d, v, local);
  return ParametersReference{o.group, o.kind, o.name, o.namespace_};
}

// CommonRouteSpec.parentRefs: at most 32, and the two CEL rules on the list.
std::vector<ParentReference> decodeParentRefs(Decoder& d, const V& v) {
  std::vector<ParentReference> refs;
  std::vector<V> items = d.list(v, 0, 32);
  for (const V& item : items) {
    if (!d.require(item) || !d.object(item)) {
      refs.emplace_back();
      continue;
    }
    refs.push_back(decodeParentRef(d, item, true));
  }
  auto sameParent = [](const ParentReference& a, const ParentReference& b) {
    return a.group == b.group && a.kind == b.kind && a.name == b.name &&
           a.namespace_.value_or("") == b.namespace_.value_or("");
  };
  auto noSection = [](const ParentReference& p) { return p.section_name.value_or("").empty(); };
  auto noPort = [](const ParentReference& p) { return !p.port || *p.port == 0; };
  for (size_t i = 0; i < refs.size(); ++i) {
    for (size_t j = 0; j < refs.size(); ++j) {
      if (!sameParent(refs[i], refs[j])) continue;
      if (noSection(refs[i]) != noSection(refs[j]) || noPort(refs[i]) != noPort(refs[j])) {
        d.fail(v, celArray("sectionName or port must be specified when parentRefs includes 2 "
                           "or more references to the same parent"));
        goto unique_check;
      }
    }
  }
unique_check:
  for (size_t i = 0; i < refs.size(); ++i) {
    int matches = 0;
    for (size_t j = 0; j < refs.size(); ++j) {
      const auto& a = refs[i];
      const auto& b = refs[j];
      bool same_section = (noSection(a) && noSection(b)) ||
                          (a.section_name && b.section_name && *a.section_name == *b.section_name);
      bool same_port = (noPort(a) && noPort(b)) || (a.port && b.port && *a.port == *b.port);
      if (sameParent(a, b) && same_section && same_port) ++matches;
    }
    if (matches != 1) {
      d.fail(v, celArray("sectionName or port must be unique when parentRefs includes 2 or "
                         "more references to the same parent"));
      break;
    }
  }
  return refs;
}

std::vector<std::string> decodeHostnames(Decoder& d, const V& v, size_t min_items,
                                         size_t max_items) {
  std::vector<std::string> out;
  if (min_items > 0) d.require(v);
  for (const V& item : d.list(v, min_items, max_items)) {
    if (!d.require(item)) continue;
    if (auto s = d.str(item, specs::kHostname)) out.push_back(*s);
  }
  return out;
}

// --- listeners --------------------------------------------------------------------------------

AllowedRoutes decodeAllowedRoutes(Decoder& d, const V& v) {
  AllowedRoutes ar;  // CRD default: namespaces.from = Same
  if (!d.object(v)) return ar;
  d.strict(v, {"namespaces", "kinds"});
  V ns = d.field(v, "namespaces");
  if (d.object(ns)) {
    d.strict(ns, {"from", "selector"});
    if (auto s = d.str(d.field(ns, "from"), StrSpec{0, -1, nullptr, {"All", "Selector", "Same"}}))
      ar.namespaces_from = *s;
    V sel = d.field(ns, "selector");
    if (sel.has()) ar.namespaces_selector = decodeLabelSelector(d, sel);
  }
  for (const V& k : d.list(d.field(v, "kinds"), 0, 8)) {
    if (!d.require(k) || !d.object(k)) continue;
    d.strict(k, {"group", "kind"});
    RouteGroupKind rgk;
    if (auto s = d.str(d.field(k, "group"), specs::kGroup)) rgk.group = *s;
    if (auto s = d.reqStr(d.field(k, "kind"), specs::kKind)) rgk.kind = *s;
    ar.kinds.push_back(std::move(rgk));
  }
  return ar;
}

std::optional<GatewayTlsConfig> decodeListenerTls(Decoder& d, const V& v) {
  if (!d.object(v)) return std::nullopt;
  d.strict(v, {"mode", "certificateRefs", "options"});
  GatewayTlsConfig tls;
  if (auto s = d.str(d.field(v, "mode"), StrSpec{0, -1, nullptr, {"Terminate", "Passthrough"}}))
    tls.mode = *s;
  for (const V& ref : d.list(d.field(v, "certificateRefs"), 0, 64)) {
    if (!d.require(ref) || !d.object(ref)) continue;
    tls.certificate_refs.push_back(decodeSecretRef(d, ref));
  }
  tls.options = d.strMap(d.field(v, "options"), specs::kAnyKey, specs::kAnnotationValue, 16);
  // "certificateRefs or options must be specified when mode is Terminate":
  // self.mode == 'Terminate' ? size(self.certificateRefs) > 0 || size(self.options) > 0 : true
  if (tls.mode == "Terminate" && tls.certificate_refs.empty() && tls.options.empty()) {
    d.fail(v, cel("certificateRefs or options must be specified when mode is Terminate"));
  }
  return tls;
}

struct ListenerWithPresence {
  Listener listener;
  V at;
  bool has_tls = false;
  bool has_hostname = false;
};

std::vector<Listener> decodeListeners(Decoder& d, const V& v) {
  d.require(v);
  std::vector<ListenerWithPresence> ls;
  for (const V& item : d.list(v, 1, 64)) {
    if (!d.require(item) || !d.object(item)) continue;
    d.strict(item, {"name", "hostname", "port", "protocol", "tls", "allowedRoutes"});
    ListenerWithPresence lp{Listener{}, item, false, false};
    Listener& l = lp.listener;
    if (auto s = d.reqStr(d.field(item, "name"), specs::kSectionName)) l.name = *s;
    V hostname = d.field(item, "hostname");
    lp.has_hostname = hostname.has();
    if (auto s = d.str(hostname, specs::kHostname)) l.hostname = *s;
    V port = d.field(item, "port");
    if (d.require(port)) {
      if (auto n = d.integer(port, 1, 65535)) l.port = static_cast<uint16_t>(*n);
    }
    if (auto s = d.reqStr(d.field(item, "protocol"), kListenerProtocol)) l.protocol = *s;
    V tls = d.field(item, "tls");
    lp.has_tls = tls.has();
    l.tls = decodeListenerTls(d, tls);
    l.allowed_routes = decodeAllowedRoutes(d, d.field(item, "allowedRoutes"));
    ls.push_back(std::move(lp));
  }
  // The CEL rules on GatewaySpec.listeners / ListenerSetSpec.listeners: each is a rule on the
  // list (self.all(l, ...)), so it is reported once, on the list, as the API server does.
  auto any = [&](auto pred) { return std::any_of(ls.begin(), ls.end(), pred); };
  auto protocolIn = [](const Listener& l, std::initializer_list<std::string_view> ps) {
    return std::find(ps.begin(), ps.end(), l.protocol) != ps.end();
  };
  if (any([&](const ListenerWithPresence& lp) {
        return protocolIn(lp.listener, {"HTTP", "TCP", "UDP"}) && lp.has_tls;
      })) {
    d.fail(v, celArray("tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']"));
  }
  if (any([](const ListenerWithPresence& lp) {
        const Listener& l = lp.listener;
        return l.protocol == "HTTPS" && l.tls && !l.tls->mode.empty() && l.tls->mode != "Terminate";
      })) {
    d.fail(v, celArray("tls mode must be Terminate for protocol HTTPS"));
  }
  if (any([](const ListenerWithPresence& lp) {
        return lp.listener.protocol == "TLS" && !lp.has_tls;
      })) {
    d.fail(v, celArray("tls mode must be set for protocol TLS"));
  }
  if (any([&](const ListenerWithPresence& lp) {
        return protocolIn(lp.listener, {"TCP", "UDP"}) && lp.has_hostname &&
               !lp.listener.hostname.value_or("").empty();
      })) {
    d.fail(v, celArray("hostname must not be specified for protocols ['TCP', 'UDP']"));
  }
  bool name_clash = false, combo_clash = false;
  for (size_t i = 0; i < ls.size(); ++i) {
    const Listener& a = ls[i].listener;
    bool reported_dup = false;
    for (size_t j = 0; j < ls.size(); ++j) {
      if (i == j) continue;
      const Listener& b = ls[j].listener;
      if (a.name == b.name) {
        name_clash = true;
        // x-kubernetes-list-type=map keyed by name.
        if (j < i && !reported_dup) d.fail(ls[i].at, duplicateKey("name", a.name));
        if (j < i) reported_dup = true;
      }
      if (a.port == b.port && a.protocol == b.protocol && a.hostname == b.hostname) {
        combo_clash = true;
      }
    }
  }
  if (name_clash) d.fail(v, celArray("Listener name must be unique within the Gateway"));
  if (combo_clash) {
    d.fail(v, celArray("Combination of port, protocol and hostname must be unique for each "
                       "listener"));
  }
  std::vector<Listener> out;
  for (auto& lp : ls) out.push_back(std::move(lp.listener));
  return out;
}

// --- HTTP filters -----------------------------------------------------------------------------

HttpHeaderFilter decodeHeaderFilter(Decoder& d, const V& v) {
  HttpHeaderFilter f;
  d.strict(v, {"set", "add", "remove"});
  auto headers = [&](const V& list, std::vector<HttpHeader>& into) {
    std::set<std::string> names;
    for (const V& h : d.list(list, 0, 16)) {
      if (!d.require(h) || !d.object(h)) continue;
      d.strict(h, {"name", "value"});
      HttpHeader hh;
      V name = d.field(h, "name");
      if (auto s = d.reqStr(name, specs::kHeaderName)) hh.name = *s;
      if (auto s = d.reqStr(d.field(h, "value"), kHeaderValue)) hh.value = *s;
      // x-kubernetes-list-type=map keyed by name.
      if (!hh.name.empty() && !names.insert(hh.name).second) {
        d.fail(h, duplicateKey("name", hh.name));
      }
      into.push_back(std::move(hh));
    }
  };
  headers(d.field(v, "set"), f.set);
  headers(d.field(v, "add"), f.add);
  f.remove = d.strSet(d.field(v, "remove"), specs::kAny, 16);
  return f;
}

HttpPathModifier decodePathModifier(Decoder& d, const V& v) {
  HttpPathModifier m;
  d.strict(v, {"type", "replaceFullPath", "replacePrefixMatch"});
  if (auto s = d.reqStr(d.field(v, "type"),
                        StrSpec{0, -1, nullptr, {"ReplaceFullPath", "ReplacePrefixMatch"}}))
    m.type = *s;
  V full = d.field(v, "replaceFullPath");
  V prefix = d.field(v, "replacePrefixMatch");
  if (auto s = d.str(full, StrSpec{0, 1024, nullptr, {}})) m.replace_full_path = *s;
  if (auto s = d.str(prefix, StrSpec{0, 1024, nullptr, {}})) m.replace_prefix_match = *s;
  if (m.type == "ReplaceFullPath" && !full.has()) {
    d.fail(v, cel("replaceFullPath must be specified when type is set to 'ReplaceFullPath'"));
  }
  if (full.has() && m.type != "ReplaceFullPath") {
    d.fail(v, cel("type must be 'ReplaceFullPath' when replaceFullPath is set"));
  }
  if (m.type == "ReplacePrefixMatch" && !prefix.has()) {
    d.fail(v, cel("replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'"));
  }
  if (prefix.has() && m.type != "ReplacePrefixMatch") {
    d.fail(v, cel("type must be 'ReplacePrefixMatch' when replacePrefixMatch is set"));
  }
  return m;
}

HttpRequestMirrorFilter decodeMirror(Decoder& d, const V& v) {
  HttpRequestMirrorFilter m;
  d.strict(v, {"backendRef", "percent", "fraction"});
  V ref = d.field(v, "backendRef");
  if (d.require(ref) && d.object(ref)) {
    d.strict(ref, {"group", "kind", "name", "namespace", "port"});
    m.backend_ref = decodeBackendObjectRef(d, ref);
  }
  V percent = d.field(v, "percent");
  V fraction = d.field(v, "fraction");
  if (auto n = d.integer(percent, 0, 100)) m.percent = static_cast<int32_t>(*n);
  if (d.object(fraction)) {
    d.strict(fraction, {"numerator", "denominator"});
    Fraction f;
    V num = d.field(fraction, "numerator");
    if (d.require(num)) {
      if (auto n = d.integer(num, 0, INT32_MAX)) f.numerator = static_cast<int32_t>(*n);
    }
    if (auto n = d.integer(d.field(fraction, "denominator"), 1, INT32_MAX))
      f.denominator = static_cast<int32_t>(*n);
    if (f.numerator > f.denominator) {
      d.fail(fraction, cel("numerator must be less than or equal to denominator"));
    }
    m.fraction = f;
  }
  if (percent.has() && fraction.has()) {
    d.fail(v, cel("Only one of percent or fraction may be specified in HTTPRequestMirrorFilter"));
  }
  return m;
}

HttpCorsFilter decodeCors(Decoder& d, const V& v) {
  HttpCorsFilter c;
  d.strict(v, {"allowOrigins", "allowCredentials", "allowMethods", "allowHeaders", "exposeHeaders",
               "maxAge"});
  auto star = [&](const V& at, const std::vector<std::string>& items, std::string_view msg) {
    if (std::find(items.begin(), items.end(), "*") != items.end() && items.size() > 1) {
      d.fail(at, celArray(msg));
    }
  };
  V origins = d.field(v, "allowOrigins");
  c.allow_origins = d.strSet(origins, specs::kCorsOrigin, 64);
  star(origins, c.allow_origins, "AllowOrigins cannot contain '*' alongside other origins");
  if (auto b = d.boolean(d.field(v, "allowCredentials"))) c.allow_credentials = *b;
  V methods = d.field(v, "allowMethods");
  c.allow_methods = d.strSet(methods,
                             StrSpec{0,
                                     -1,
                                     nullptr,
                                     {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS",
                                      "TRACE", "PATCH", "*"}},
                             9);
  star(methods, c.allow_methods, "AllowMethods cannot contain '*' alongside other methods");
  V headers = d.field(v, "allowHeaders");
  c.allow_headers = d.strSet(headers, specs::kHeaderName, 64);
  star(headers, c.allow_headers, "AllowHeaders cannot contain '*' alongside other methods");
  c.expose_headers = d.strSet(d.field(v, "exposeHeaders"), specs::kHeaderName, 64);
  if (auto n = d.integer(d.field(v, "maxAge"), 1, INT32_MAX)) c.max_age = static_cast<int32_t>(*n);
  return c;
}

HttpExternalAuthFilter decodeExternalAuth(Decoder& d, const V& v) {
  HttpExternalAuthFilter a;
  d.strict(v, {"protocol", "backendRef", "grpc", "http", "forwardBody"});
  if (auto s = d.reqStr(d.field(v, "protocol"), StrSpec{0, -1, nullptr, {"HTTP", "GRPC"}}))
    a.protocol = *s;
  V ref = d.field(v, "backendRef");
  if (d.require(ref) && d.object(ref)) {
    d.strict(ref, {"group", "kind", "name", "namespace", "port"});
    a.backend_ref = decodeBackendObjectRef(d, ref);
  }
  V grpc = d.field(v, "grpc");
  V http = d.field(v, "http");
  if (d.object(grpc)) {
    d.strict(grpc, {"allowedHeaders"});
    a.allowed_request_headers = d.strSet(d.field(grpc, "allowedHeaders"), specs::kAny, 64);
  }
  if (d.object(http)) {
    d.strict(http, {"path", "allowedHeaders", "allowedResponseHeaders"});
    if (auto s = d.str(d.field(http, "path"), StrSpec{0, 1024, kValidPathChars, {}})) a.path = *s;
    a.allowed_request_headers = d.strSet(d.field(http, "allowedHeaders"), specs::kAny, 64);
    a.allowed_response_headers = d.strSet(d.field(http, "allowedResponseHeaders"), specs::kAny, 64);
  }
  V body = d.field(v, "forwardBody");
  if (d.object(body)) {
    d.strict(body, {"maxSize"});
    a.forward_body = true;
    if (auto n = d.integer(d.field(body, "maxSize"), 0, UINT32_MAX))
      a.max_body_size = static_cast<uint32_t>(*n);
  }
  if (a.protocol == "GRPC" && !grpc.has()) {
    d.fail(v, cel("grpc must be specified when protocol is set to 'GRPC'"));
  }
  if (grpc.has() && a.protocol != "GRPC") {
    d.fail(v, cel("protocol must be 'GRPC' when grpc is set"));
  }
  if (a.protocol == "HTTP" && !http.has()) {
    d.fail(v, cel("http must be specified when protocol is set to 'HTTP'"));
  }
  if (http.has() && a.protocol != "HTTP") {
    d.fail(v, cel("protocol must be 'HTTP' when http is set"));
  }
  return a;
}

// HTTPRouteFilter, or GRPCRouteFilter when `grpc` (a subset of types and fields).
HttpRouteFilter decodeFilter(Decoder& d, const V& v, bool grpc) {
  HttpRouteFilter f;
  if (grpc) {
    d.strict(v, {"type", "requestHeaderModifier", "responseHeaderModifier", "requestMirror",
                 "extensionRef"});
  } else {
    d.strict(v, {"type", "requestHeaderModifier", "responseHeaderModifier", "requestMirror",
                 "requestRedirect", "urlRewrite", "extensionRef", "cors", "externalAuth"});
  }
  static const StrSpec kHttpTypes{
      0,
      -1,
      nullptr,
      {"RequestHeaderModifier", "ResponseHeaderModifier", "RequestMirror", "RequestRedirect",
       "URLRewrite", "ExtensionRef", "CORS", "ExternalAuth"}};
  static const StrSpec kGrpcTypes{
      0,
      -1,
      nullptr,
      {"ResponseHeaderModifier", "RequestHeaderModifier", "RequestMirror", "ExtensionRef"}};
  if (auto s = d.reqStr(d.field(v, "type"), grpc ? kGrpcTypes : kHttpTypes)) f.type = *s;

  struct Member {
    const char* field;
    const char* type;
    std::function<void(const V&)> decode;
  };
  std::vector<Member> members = {
      {"requestHeaderModifier", "RequestHeaderModifier",
       [&](const V& m) { f.request_header_modifier = decodeHeaderFilter(d, m); }},
      {"responseHeaderModifier", "ResponseHeaderModifier",
       [&](const V& m) { f.response_header_modifier = decodeHeaderFilter(d, m); }},
      {"requestMirror", "RequestMirror",
       [&](const V& m) { f.request_mirror = decodeMirror(d, m); }},
      {"extensionRef", "ExtensionRef",
       [&](const V& m) {
         ObjectReference o = decodeObjectRef(d, m, true);
         f.extension_ref = LocalObjectReference{o.group, o.kind, o.name};
       }},
  };
  if (!grpc) {
    members.push_back(
        {"requestRedirect", "RequestRedirect", [&](const V& m) {
           HttpRequestRedirectFilter r;
           d.strict(m, {"scheme", "hostname", "path", "port", "statusCode"});
           if (auto s = d.str(d.field(m, "scheme"), StrSpec{0, -1, nullptr, {"http", "https"}}))
             r.scheme = *s;
           if (auto s = d.str(d.field(m, "hostname"), specs::kPreciseHostname)) r.hostname = *s;
           V path = d.field(m, "path");
           if (d.object(path)) r.path = decodePathModifier(d, path);
           if (auto n = d.integer(d.field(m, "port"), 1, 65535)) r.port = static_cast<uint16_t>(*n);
           V code = d.field(m, "statusCode");
           if (auto n = d.integer(code)) {
             if (*n != 301 && *n != 302 && *n != 303 && *n != 307 && *n != 308) {
               d.fail(code, fmt::format("Unsupported value: {}: supported values: "
                                        "301, 302, 303, 307, 308",
                                        *n));
             } else {
               r.status_code = static_cast<uint16_t>(*n);
             }
           }
           f.request_redirect = r;
         }});
    members.push_back({"urlRewrite", "URLRewrite", [&](const V& m) {
                         HttpUrlRewriteFilter r;
                         d.strict(m, {"hostname", "path"});
                         if (auto s = d.str(d.field(m, "hostname"), specs::kPreciseHostname))
                           r.hostname = *s;
                         V path = d.field(m, "path");
                         if (d.object(path)) r.path = decodePathModifier(d, path);
                         f.url_rewrite = r;
                       }});
    members.push_back({"cors", "CORS", [&](const V& m) { f.cors = decodeCors(d, m); }});
    members.push_back({"externalAuth", "ExternalAuth",
                       [&](const V& m) { f.external_auth = decodeExternalAuth(d, m); }});
  }
  for (const auto& m : members) {
    V mv = d.field(v, m.field);
    bool present = mv.has();
    if (present && d.object(mv)) m.decode(mv);
    // "filter.<field> must be nil if the filter.type is not <Type>" /
    // "filter.<field> must be specified for <Type> filter.type"
    if (!f.type.empty()) {
      if (present && f.type != m.type) {
        d.fail(v, cel(fmt::format("filter.{} must be nil if the filter.type is not {}", m.field,
                                  m.type)));
      }
      if (!present && f.type == m.type) {
        d.fail(v,
               cel(fmt::format("filter.{} must be specified for {} filter.type", m.field, m.type)));
      }
    }
  }
  return f;
}

std::vector<HttpRouteFilter> decodeFilters(Decoder& d, const V& v, bool grpc) {
  std::vector<HttpRouteFilter> out;
  std::vector<V> items = d.list(v, 0, 16);
  for (const V& item : items) {
    if (!d.require(item) || !d.object(item)) continue;
    out.push_back(decodeFilter(d, item, grpc));
  }
  auto count = [&](std::string_view type) {
    return std::count_if(out.begin(), out.end(),
                         [&](const HttpRouteFilter& f) { return f.type == type; });
  };
  if (!grpc) {
    if (count("RequestRedirect") > 0 && count("URLRewrite") > 0) {
      d.fail(v, celArray("May specify either httpRouteFilterRequestRedirect or "
                         "httpRouteFilterRequestRewrite, but not both"));
    }
    if (count("CORS") > 1) d.fail(v, celArray("CORS filter cannot be repeated"));
  }
  for (const char* t : {"RequestHeaderModifier", "ResponseHeaderModifier"}) {
    if (count(t) > 1) d.fail(v, celArray(fmt::format("{} filter cannot be repeated", t)));
  }
  if (!grpc) {
    for (const char* t : {"RequestRedirect", "URLRewrite"}) {
      if (count(t) > 1) d.fail(v, celArray(fmt::format("{} filter cannot be repeated", t)));
    }
  }
  return out;
}

HttpBackendRef decodeRouteBackendRef(Decoder& d, const V& v, bool with_filters, bool grpc) {
  HttpBackendRef b;
  if (with_filters) {
    d.strict(v, {"group", "kind", "name", "namespace", "port", "weight", "filters"});
  } else {
    d.strict(v, {"group", "kind", "name", "namespace", "port", "weight"});
  }
  b.ref = decodeBackendObjectRef(d, v);
  if (auto n = d.integer(d.field(v, "weight"), 0, 1000000)) b.weight = static_cast<int32_t>(*n);
  if (with_filters) b.filters = decodeFilters(d, d.field(v, "filters"), grpc);
  return b;
}

std::optional<SessionPersistence> decodeSessionPersistence(Decoder& d, const V& v) {
  if (!d.object(v)) return std::nullopt;
  d.strict(v, {"sessionName", "absoluteTimeout", "type", "cookieConfig"});
  SessionPersistence sp;
  if (auto s = d.str(d.field(v, "sessionName"), StrSpec{0, 128, nullptr, {}})) sp.session_name = *s;
  V absolute = d.field(v, "absoluteTimeout");
  if (auto s = d.str(absolute, specs::kDuration)) sp.absolute_timeout = *s;
  if (auto s = d.str(d.field(v, "type"), StrSpec{0, -1, nullptr, {"Cookie", "Header"}}))
    sp.type = *s;
  V cookie = d.field(v, "cookieConfig");
  bool has_lifetime = false;
  if (d.object(cookie)) {
    d.strict(cookie, {"lifetimeType"});
    V lt = d.field(cookie, "lifetimeType");
    has_lifetime = lt.has();
    // Default Session (CRD default on cookieConfig.lifetimeType).
    sp.cookie_lifetime_type = "Session";
    if (auto s = d.str(lt, StrSpec{0, -1, nullptr, {"Permanent", "Session"}}))
      sp.cookie_lifetime_type = *s;
  }
  if (cookie.has() && has_lifetime && sp.cookie_lifetime_type == "Permanent" && !absolute.has()) {
    d.fail(v, cel("AbsoluteTimeout must be specified when cookie lifetimeType is Permanent"));
  }
  if (cookie.has() && sp.type != "Cookie") {
    d.fail(v, cel("cookieConfig can only be set with type Cookie"));
  }
  return sp;
}

// "Rule name must be unique within the route" and the 128-matches budget, shared by HTTPRoute
// and GRPCRoute (and the v1alpha2 L4 routes for the names).
void checkRuleNames(Decoder& d, const V& rules_at,
                    const std::vector<std::optional<std::string>>& names) {
  // Reported on the later of two rules sharing a name.
  for (size_t i = 0; i < names.size(); ++i) {
    if (!names[i]) continue;
    for (size_t j = 0; j < i; ++j) {
      if (names[j] && *names[j] == *names[i]) {
        d.fail(rules_at, celArray("Rule name must be unique within the route"));
        return;
      }
    }
  }
}

void checkRouteCommon(Decoder& d, const V& spec, std::optional<std::string>& use_default) {
  if (auto s = d.str(d.field(spec, "useDefaultGateways"), kDefaultScope)) use_default = *s;
}

// --- HTTPRoute --------------------------------------------------------------------------------

HttpRouteMatch decodeHttpMatch(Decoder& d, const V& v) {
  HttpRouteMatch m;
  d.strict(v, {"path", "headers", "queryParams", "method"});
  V path = d.field(v, "path");
  HttpPathMatch pm;  // CRD default: PathPrefix "/"
  if (d.object(path)) {
    d.strict(path, {"type", "value"});
    if (auto s = d.str(d.field(path, "type"),
                       StrSpec{0, -1, nullptr, {"Exact", "PathPrefix", "RegularExpression"}}))
      pm.type = *s;
    V value = d.field(path, "value");
    if (auto s = d.str(value, kHttpPathValue)) pm.value = *s;
    if (pm.type == "Exact" || pm.type == "PathPrefix") {
      const std::string& p = pm.value;
      auto rule = [&](bool ok, std::string_view msg) {
        if (!ok) d.fail(path, cel(msg));
      };
      rule(p.starts_with("/"),
           "value must be an absolute path and start with '/' when type one "
           "of ['Exact', 'PathPrefix']");
      rule(p.find("//") == std::string::npos,
           "must not contain '//' when type one of ['Exact', 'PathPrefix']");
      rule(p.find("/./") == std::string::npos,
           "must not contain '/./' when type one of ['Exact', 'PathPrefix']");
      rule(p.find("/../") == std::string::npos,
           "must not contain '/../' when type one of ['Exact', 'PathPrefix']");
      rule(p.find("%2f") == std::string::npos,
           "must not contain '%2f' when type one of ['Exact', 'PathPrefix']");
      rule(p.find("%2F") == std::string::npos,
           "must not contain '%2F' when type one of ['Exact', 'PathPrefix']");
      rule(p.find('#') == std::string::npos,
           "must not contain '#' when type one of ['Exact', 'PathPrefix']");
      rule(!p.ends_with("/.."), "must not end with '/..' when type one of ['Exact', 'PathPrefix']");
      rule(!p.ends_with("/."), "must not end with '/.' when type one of ['Exact', 'PathPrefix']");
      rule(patternMatches(kValidPathChars, p),
           "must only contain valid characters (matching "
           "^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$) for types ['Exact', "
           "'PathPrefix']");
    }
  }
  m.path = pm;
  std::set<std::string> names;
  for (const V& h : d.list(d.field(v, "headers"), 0, 16)) {
    if (!d.require(h) || !d.object(h)) continue;
    d.strict(h, {"type", "name", "value"});
    HttpHeaderMatch hm;
    if (auto s = d.str(d.field(h, "type"), kMatchType)) hm.type = *s;
    V name = d.field(h, "name");
    if (auto s = d.reqStr(name, specs::kHeaderName)) hm.name = *s;
    if (auto s = d.reqStr(d.field(h, "value"), kHeaderValue)) hm.value = *s;
    if (!hm.name.empty() && !names.insert(hm.name).second) {
      d.fail(h, duplicateKey("name", hm.name));
    }
    m.headers.push_back(std::move(hm));
  }
  names.clear();
  for (const V& q : d.list(d.field(v, "queryParams"), 0, 16)) {
    if (!d.require(q) || !d.object(q)) continue;
    d.strict(q, {"type", "name", "value"});
    HttpQueryParamMatch qm;
    if (auto s = d.str(d.field(q, "type"), kMatchType)) qm.type = *s;
    V name = d.field(q, "name");
    if (auto s = d.reqStr(name, specs::kHeaderName)) qm.name = *s;
    if (auto s = d.reqStr(d.field(q, "value"), StrSpec{1, 1024, nullptr, {}})) qm.value = *s;
    if (!qm.name.empty() && !names.insert(qm.name).second) {
      d.fail(q, duplicateKey("name", qm.name));
    }
    m.query_params.push_back(std::move(qm));
  }
  if (auto s = d.str(d.field(v, "method"), kHttpMethod)) m.method = *s;
  return m;
}

bool hasReplacePrefix(const HttpRouteFilter& f, bool redirect) {
  const std::optional<HttpPathModifier>* p = nullptr;
  if (redirect && f.request_redirect) p = &f.request_redirect->path;
  if (!redirect && f.url_rewrite) p = &f.url_rewrite->path;
  return p && p->has_value() && (*p)->type == "ReplacePrefixMatch" &&
         (*p)->replace_prefix_match.has_value();
}

HttpRouteRule decodeHttpRule(Decoder& d, const V& v, size_t& raw_matches) {
  HttpRouteRule r;
  d.strict(
      v, {"name", "matches", "filters", "backendRefs", "timeouts", "retry", "sessionPersistence"});
  if (auto s = d.str(d.field(v, "name"), specs::kSectionName)) r.name = *s;
  V matches = d.field(v, "matches");
  for (const V& m : d.list(matches, 0, 64)) {
    if (!d.require(m) || !d.object(m)) continue;
    r.matches.push_back(decodeHttpMatch(d, m));
  }
  // CRD default when absent: matches = [{path: {type: PathPrefix, value: "/"}}]. An explicit
  // empty list means the same for routing ("If no matches are specified, the default is a prefix
  // path match on '/'"), so it is filled in too; the CEL rules below still see what the API server
  // stores (an empty list), through raw_matches.
  const bool explicit_empty = matches.has() && matches.n.IsSequence() && matches.n.size() == 0;
  if (r.matches.empty()) r.matches.push_back(HttpRouteMatch{HttpPathMatch{}, {}, {}, {}});
  raw_matches = explicit_empty ? 0 : r.matches.size();
  V filters = d.field(v, "filters");
  r.filters = decodeFilters(d, filters, false);
  V backends = d.field(v, "backendRefs");
  std::vector<V> backend_items = d.list(backends, 0, 16);
  for (const V& b : backend_items) {
    if (!d.require(b) || !d.object(b)) continue;
    r.backend_refs.push_back(decodeRouteBackendRef(d, b, true, false));
  }
  V timeouts = d.field(v, "timeouts");
  if (d.object(timeouts)) {
    d.strict(timeouts, {"request", "backendRequest"});
    HttpRouteTimeouts t;
    if (auto s = d.str(d.field(timeouts, "request"), specs::kDuration)) t.request = *s;
    if (auto s = d.str(d.field(timeouts, "backendRequest"), specs::kDuration))
      t.backend_request = *s;
    // !(has(self.request) && has(self.backendRequest) && duration(self.request) !=
    //   duration('0s') && duration(self.backendRequest) > duration(self.request))
    if (t.request && t.backend_request && durationMs(*t.request) != 0 &&
        durationMs(*t.backend_request) > durationMs(*t.request)) {
      d.fail(timeouts, cel("backendRequest timeout cannot be longer than request timeout"));
    }
    r.timeouts = t;
  }
  V retry = d.field(v, "retry");
  if (d.object(retry)) {
    d.strict(retry, {"codes", "attempts", "backoff"});
    HttpRouteRetry rt;
    for (const V& c : d.list(d.field(retry, "codes"))) {
      if (auto n = d.integer(c, 400, 599)) {
        if (std::find(rt.codes.begin(), rt.codes.end(), *n) != rt.codes.end()) {
          d.fail(c, fmt::format("Duplicate value: {}", *n));
        }
        rt.codes.push_back(static_cast<int32_t>(*n));
      }
    }
    if (auto n = d.integer(d.field(retry, "attempts"), 1, INT32_MAX))
      rt.attempts = static_cast<int32_t>(*n);
    if (auto s = d.str(d.field(retry, "backoff"), specs::kDuration)) rt.backoff = *s;
    r.retry = rt;
  }
  r.session_persistence = decodeSessionPersistence(d, d.field(v, "sessionPersistence"));

  // CEL rules on HTTPRouteRule.
  bool redirect_in_rule = std::any_of(r.filters.begin(), r.filters.end(),
                                      [](const auto& f) { return f.request_redirect.has_value(); });
  if (!r.backend_refs.empty() && redirect_in_rule) {
    d.fail(v, cel("RequestRedirect filter must not be used together with backendRefs"));
  }
  auto onePrefixMatch = [&] {
    return raw_matches == 1 && r.matches[0].path && r.matches[0].path->type == "PathPrefix";
  };
  for (bool redirect : {true, false}) {
    const char* which = redirect ? "RequestRedirect" : "URLRewrite";
    // self.filters.exists_one(f, <ReplacePrefixMatch>) ? <exactly one PathPrefix match> : true
    auto n = std::count_if(r.filters.begin(), r.filters.end(),
                           [&](const auto& f) { return hasReplacePrefix(f, redirect); });
    if (n == 1 && !onePrefixMatch()) {
      d.fail(v, cel(fmt::format("When using {} filter with path.replacePrefixMatch, exactly one "
                                "PathPrefix match must be specified",
                                which)));
    }
    // self.backendRefs.exists_one(b, b.filters.exists_one(f, <ReplacePrefixMatch>)) ? ...
    auto nb = std::count_if(r.backend_refs.begin(), r.backend_refs.end(), [&](const auto& b) {
      return std::count_if(b.filters.begin(), b.filters.end(),
                           [&](const auto& f) { return hasReplacePrefix(f, redirect); }) == 1;
    });
    if (nb == 1 && !onePrefixMatch()) {
      d.fail(v, cel(fmt::format("Within backendRefs, {} {} filter with path.replacePrefixMatch, "
                                "exactly one PathPrefix match must be specified",
                                redirect ? "when using" : "When using", which)));
    }
  }
  return r;
}

}  // namespace

// --- kinds ------------------------------------------------------------------------------------

void decodeGatewayClass(Decoder& d, const V& root, const std::string& version, GatewayClass& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"controllerName", "description", "parametersRef"});
  if (auto s = d.reqStr(d.field(spec, "controllerName"), specs::kGatewayController))
    out.controller_name = *s;
  if (auto s = d.str(d.field(spec, "description"), StrSpec{0, 64, nullptr, {}}))
    out.description = *s;
  V params = d.field(spec, "parametersRef");
  if (d.object(params)) out.parameters_ref = decodeParametersRef(d, params, false);
}

void decodeGateway(Decoder& d, const V& root, const std::string& version, Gateway& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"gatewayClassName", "listeners", "addresses", "infrastructure",
                  "allowedListeners", "tls", "defaultScope"});
  if (auto s = d.reqStr(d.field(spec, "gatewayClassName"), specs::kObjectName))
    out.gateway_class_name = *s;
  out.listeners = decodeListeners(d, d.field(spec, "listeners"));

  // spec.addresses: at most 16, Hostname values validated, IPAddress/Hostname values unique.
  std::vector<V> addr_items = d.list(d.field(spec, "addresses"), 0, 16);
  std::vector<bool> has_value;
  for (const V& a : addr_items) {
    if (!d.require(a) || !d.object(a)) continue;
    d.strict(a, {"type", "value"});
    GatewayAddress ga;
    if (auto s = d.str(d.field(a, "type"), specs::kAddressType)) ga.type = *s;
    V value = d.field(a, "value");
    bool value_is_string = false;
    if (auto s = d.str(value, StrSpec{0, 253, nullptr, {}})) {
      ga.value = *s;
      value_is_string = true;
    }
    // self.type == 'Hostname' ? (!has(self.value) || self.value.matches(<Hostname>)) : true
    if (ga.type == "Hostname" && value.has() &&
        !patternMatches(specs::kHostname.pattern, ga.value)) {
      d.fail(a,
             cel("Hostname value must be empty or contain only valid characters (matching "
                 "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)"));
    }
    // GatewaySpecAddress oneOf: type IPAddress => value anyOf {format: ipv4, format: ipv6}.
    if (ga.type == "IPAddress" && value_is_string && !isFormatIp(ga.value)) {
      d.fail(value, fmt::format("Invalid value: \"{}\": must be of type ipv4", ga.value));
    }
    has_value.push_back(value.has());
    out.addresses.push_back(std::move(ga));
  }
  // Two rules on the list, each reported once on spec.addresses.
  for (const char* type : {"IPAddress", "Hostname"}) {
    bool clash = false;
    for (size_t i = 0; i < out.addresses.size() && !clash; ++i) {
      const auto& a = out.addresses[i];
      if (!has_value[i] || a.type != type) continue;
      for (size_t j = 0; j < out.addresses.size(); ++j) {
        if (j != i && has_value[j] && out.addresses[j].type == a.type &&
            out.addresses[j].value == a.value) {
          clash = true;
        }
      }
    }
    if (clash) {
      d.fail(d.field(spec, "addresses"), celArray(fmt::format("{} values must be unique", type)));
    }
  }

  V infra = d.field(spec, "infrastructure");
  if (d.object(infra)) {
    d.strict(infra, {"labels", "annotations", "parametersRef"});
    auto keyRules = [&](const V& at, const std::map<std::string, std::string>& m,
                        std::string_view what) {
      for (const auto& [k, _] : m) {
        if (k.substr(0, k.find('/')).size() >= 253) {
          d.fail(at, cel(fmt::format("If specified, the {} key's prefix must be a DNS subdomain "
                                     "not longer than 253 characters in total.",
                                     what)));
          break;
        }
      }
    };
    V labels = d.field(infra, "labels");
    out.infrastructure_labels =
        d.strMap(labels, specs::kLabelKey, specs::kLabelValue, 8,
                 "Label keys must be in the form of an optional DNS subdomain prefix followed by a "
                 "required name segment of up to 63 characters.");
    keyRules(labels, out.infrastructure_labels, "label");
    V annotations = d.field(infra, "annotations");
    out.infrastructure_annotations =
        d.strMap(annotations, specs::kAnnotationKey, specs::kAnnotationValue, 16,
                 "Annotation keys must be in the form of an optional DNS subdomain prefix followed "
                 "by a required name segment of up to 63 characters.");
    keyRules(annotations, out.infrastructure_annotations, "annotation");
    V params = d.field(infra, "parametersRef");
    if (d.object(params)) out.infrastructure_parameters_ref = decodeParametersRef(d, params, true);
  }

  V allowed = d.field(spec, "allowedListeners");
  if (d.object(allowed)) {
    d.strict(allowed, {"namespaces"});
    V ns = d.field(allowed, "namespaces");
    if (d.object(ns)) {
      d.strict(ns, {"from", "selector"});
      if (auto s = d.str(d.field(ns, "from"),
                         StrSpec{0, -1, nullptr, {"All", "Selector", "Same", "None"}}))
        out.allowed_listeners_from = *s;
      V sel = d.field(ns, "selector");
      if (sel.has()) out.allowed_listeners_selector = decodeLabelSelector(d, sel);
    }
  }

  V tls = d.field(spec, "tls");
  if (d.object(tls)) {
    d.strict(tls, {"frontend", "backend"});
    V backend = d.field(tls, "backend");
    if (d.object(backend)) {
      d.strict(backend, {"clientCertificateRef"});
      V ref = d.field(backend, "clientCertificateRef");
      if (d.object(ref)) out.backend_client_certificate_ref = decodeSecretRef(d, ref);
    }
    V frontend = d.field(tls, "frontend");
    if (d.object(frontend)) {
      d.strict(frontend, {"default", "perPort"});
      GatewayFrontendTls ft;
      auto validation = [&](const V& parent) -> std::optional<FrontendTlsValidation> {
        d.strict(parent, {"validation"});
        V val = d.field(parent, "validation");
        if (!d.object(val)) return std::nullopt;
        d.strict(val, {"caCertificateRefs", "mode"});
        FrontendTlsValidation fv;
        V refs = d.field(val, "caCertificateRefs");
        d.require(refs);
        for (const V& r : d.list(refs, 1, 16)) {
          if (!d.require(r) || !d.object(r)) continue;
          fv.ca_certificate_refs.push_back(decodeObjectRef(d, r, false));
        }
        if (auto s = d.str(d.field(val, "mode"),
                           StrSpec{0, -1, nullptr, {"AllowValidOnly", "AllowInsecureFallback"}}))
          fv.mode = *s;
        return fv;
      };
      V def = d.field(frontend, "default");
      if (d.require(def) && d.object(def)) ft.default_validation = validation(def);
      V per_port = d.field(frontend, "perPort");
      std::vector<V> per_items = d.list(per_port, 0, 64);
      bool port_clash = false;
      for (const V& p : per_items) {
        if (!d.require(p) || !d.object(p)) continue;
        d.strict(p, {"port", "tls"});
        FrontendTlsPerPort pp;
        V port = d.field(p, "port");
        if (d.require(port)) {
          if (auto n = d.integer(port, 1, 65535)) pp.port = static_cast<uint16_t>(*n);
        }
        V ptls = d.field(p, "tls");
        if (d.require(ptls) && d.object(ptls)) {
          if (auto fv = validation(ptls)) pp.validation = *fv;
        }
        // x-kubernetes-list-type=map keyed by port, and the CEL rule on the list.
        for (const auto& other : ft.per_port) {
          if (other.port == pp.port && pp.port != 0) {
            d.fail(p, fmt::format("Duplicate value: {{\"port\": {}}}", pp.port));
            port_clash = true;
            break;
          }
        }
        ft.per_port.push_back(std::move(pp));
      }
      if (port_clash) {
        d.fail(per_port, celArray("Port for TLS configuration must be unique within the Gateway"));
      }
      out.frontend_tls = std::move(ft);
    }
  }
  if (auto s = d.str(d.field(spec, "defaultScope"), kDefaultScope)) out.default_scope = *s;
}

void decodeListenerSet(Decoder& d, const V& root, const std::string& version, ListenerSet& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"parentRef", "listeners"});
  V parent = d.field(spec, "parentRef");
  if (d.require(parent) && d.object(parent)) out.parent_ref = decodeParentRef(d, parent, false);
  out.listeners = decodeListeners(d, d.field(spec, "listeners"));
}

void decodeHttpRoute(Decoder& d, const V& root, const std::string& version, HttpRoute& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"parentRefs", "hostnames", "rules", "useDefaultGateways"});
  out.parent_refs = decodeParentRefs(d, d.field(spec, "parentRefs"));
  out.hostnames = decodeHostnames(d, d.field(spec, "hostnames"), 0, 16);
  checkRouteCommon(d, spec, out.use_default_gateways);
  V rules = d.field(spec, "rules");
  if (!rules.has()) {
    // CRD default: rules = [{matches: [{path: {type: PathPrefix, value: "/"}}]}]
    HttpRouteRule rule;
    rule.matches.push_back(HttpRouteMatch{HttpPathMatch{}, {}, {}, {}});
    out.rules.push_back(std::move(rule));
    return;
  }
  std::vector<V> items = d.list(rules, 1, 16);
  std::vector<std::optional<std::string>> names;
  size_t total_matches = 0;
  for (const V& item : items) {
    if (!d.require(item) || !d.object(item)) continue;
    size_t raw_matches = 0;
    out.rules.push_back(decodeHttpRule(d, item, raw_matches));
    names.push_back(out.rules.back().name);
    total_matches += raw_matches;
  }
  if (total_matches > 128) {
    d.fail(rules,
           celArray("While 16 rules and 64 matches per rule are allowed, the total number of "
                    "matches across all rules in a route must be less than 128"));
  }
  checkRuleNames(d, rules, names);
}

void decodeGrpcRoute(Decoder& d, const V& root, const std::string& version, GrpcRoute& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"parentRefs", "hostnames", "rules", "useDefaultGateways"});
  out.parent_refs = decodeParentRefs(d, d.field(spec, "parentRefs"));
  out.hostnames = decodeHostnames(d, d.field(spec, "hostnames"), 0, 16);
  checkRouteCommon(d, spec, out.use_default_gateways);
  V rules = d.field(spec, "rules");
  std::vector<V> items = d.list(rules, 0, 16);
  std::vector<std::optional<std::string>> names;
  size_t total_matches = 0;
  for (const V& item : items) {
    if (!d.require(item) || !d.object(item)) continue;
    d.strict(item, {"name", "matches", "filters", "backendRefs", "sessionPersistence"});
    GrpcRouteRule r;
    if (auto s = d.str(d.field(item, "name"), specs::kSectionName)) r.name = *s;
    for (const V& m : d.list(d.field(item, "matches"), 0, 64)) {
      if (!d.require(m) || !d.object(m)) continue;
      d.strict(m, {"method", "headers"});
      GrpcRouteMatch gm;
      V method = d.field(m, "method");
      if (d.object(method)) {
        d.strict(method, {"type", "service", "method"});
        GrpcMethodMatch mm;
        V type = d.field(method, "type");
        if (auto s = d.str(type, kMatchType)) mm.type = *s;
        V svc = d.field(method, "service");
        V meth = d.field(method, "method");
        if (auto s = d.str(svc, StrSpec{0, 1024, nullptr, {}})) mm.service = *s;
        if (auto s = d.str(meth, StrSpec{0, 1024, nullptr, {}})) mm.method = *s;
        // The type is always present after defaulting (Exact).
        if (!svc.has() && !meth.has()) {
          d.fail(method, cel("One or both of 'service' or 'method' must be specified"));
        }
        if (mm.type == "Exact" && mm.service &&
            !patternMatches(R"(^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)", *mm.service)) {
          d.fail(method, cel("service must only contain valid characters (matching "
                             "^(?i)\\.?[a-z_][a-z_0-9]*(\\.[a-z_][a-z_0-9]*)*$)"));
        }
        if (mm.type == "Exact" && mm.method &&
            !patternMatches(R"(^[A-Za-z_][A-Za-z_0-9]*$)", *mm.method)) {
          d.fail(method, cel("method must only contain valid characters (matching "
                             "^[A-Za-z_][A-Za-z_0-9]*$)"));
        }
        gm.method = mm;
      }
      std::set<std::string> hnames;
      for (const V& h : d.list(d.field(m, "headers"), 0, 16)) {
        if (!d.require(h) || !d.object(h)) continue;
        d.strict(h, {"type", "name", "value"});
        HttpHeaderMatch hm;
        if (auto s = d.str(d.field(h, "type"), kMatchType)) hm.type = *s;
        V name = d.field(h, "name");
        if (auto s = d.reqStr(name, specs::kHeaderName)) hm.name = *s;
        if (auto s = d.reqStr(d.field(h, "value"), StrSpec{1, 4096, nullptr, {}})) hm.value = *s;
        if (!hm.name.empty() && !hnames.insert(hm.name).second) {
          d.fail(h, duplicateKey("name", hm.name));
        }
        gm.headers.push_back(std::move(hm));
      }
      r.matches.push_back(std::move(gm));
    }
    r.filters = decodeFilters(d, d.field(item, "filters"), true);
    for (const V& b : d.list(d.field(item, "backendRefs"), 0, 16)) {
      if (!d.require(b) || !d.object(b)) continue;
      r.backend_refs.push_back(decodeRouteBackendRef(d, b, true, true));
    }
    r.session_persistence = decodeSessionPersistence(d, d.field(item, "sessionPersistence"));
    total_matches += r.matches.size();
    names.push_back(r.name);
    out.rules.push_back(std::move(r));
  }
  if (total_matches > 128) {
    d.fail(rules,
           celArray("While 16 rules and 64 matches per rule are allowed, the total number of "
                    "matches across all rules in a route must be less than 128"));
  }
  checkRuleNames(d, rules, names);
}

void decodeL4Route(Decoder& d, const V& root, const std::string& version, L4Route& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  bool tls = out.kind == "TLSRoute";
  if (tls) {
    d.strict(spec, {"parentRefs", "hostnames", "rules", "useDefaultGateways"});
  } else {
    d.strict(spec, {"parentRefs", "rules", "useDefaultGateways"});
  }
  out.parent_refs = decodeParentRefs(d, d.field(spec, "parentRefs"));
  checkRouteCommon(d, spec, out.use_default_gateways);
  if (tls) {
    // v1 and v1alpha3 require 1..1024 hostnames with three CEL rules; v1alpha2 has them optional.
    bool strict_hostnames = version != "v1alpha2";
    V hv = d.field(spec, "hostnames");
    std::vector<V> items = d.list(hv, strict_hostnames ? 1 : 0, 1024);
    if (strict_hostnames) d.require(hv);
    // The three CEL rules are on the list (self.all(h, ...)): reported once each, on
    // spec.hostnames. A value failing the items' pattern is an "Invalid" error, which does not
    // stop the API server from evaluating the rules, so they are checked on the raw strings.
    constexpr const char* kRfc1123 =
        R"(^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$)";
    bool has_ip = false, bad_name = false, bad_wildcard = false;
    for (const V& item : items) {
      if (!d.require(item)) continue;
      auto h = d.str(item, specs::kHostname);
      std::optional<std::string> text = rawString(item);
      if (strict_hostnames && text) {
        const std::string& raw = *text;
        if (isIpv4(raw) || isIpv6(raw)) has_ip = true;
        if (raw.find('*') == std::string::npos) {
          if (!patternMatches(kRfc1123, raw)) bad_name = true;
        } else if (!raw.starts_with("*.") || !patternMatches(kRfc1123, raw.substr(2))) {
          bad_wildcard = true;
        }
      }
      if (h) out.hostnames.push_back(*h);
    }
    if (has_ip) d.fail(hv, celArray("Hostnames cannot contain an IP"));
    if (bad_name) d.fail(hv, celArray("Hostnames must be valid based on RFC-1123"));
    if (bad_wildcard) {
      d.fail(hv, celArray("Wildcards on hostnames must be the first label, and the rest of "
                          "hostname must be valid based on RFC-1123"));
    }
  }
  // v1: exactly one rule; v1alpha2: up to 16 with unique names.
  size_t max_rules = version == "v1alpha2" ? 16 : 1;
  V rules = d.field(spec, "rules");
  d.require(rules);
  std::vector<V> items = d.list(rules, 1, max_rules);
  std::vector<std::optional<std::string>> names;
  for (const V& item : items) {
    if (!d.require(item) || !d.object(item)) continue;
    d.strict(item, {"name", "backendRefs"});
    L4RouteRule r;
    if (auto s = d.str(d.field(item, "name"), specs::kSectionName)) r.name = *s;
    V backends = d.field(item, "backendRefs");
    d.require(backends);
    for (const V& b : d.list(backends, 1, 16)) {
      if (!d.require(b) || !d.object(b)) continue;
      r.backend_refs.push_back(decodeRouteBackendRef(d, b, false, false));
    }
    names.push_back(r.name);
    out.rules.push_back(std::move(r));
  }
  if (version == "v1alpha2") checkRuleNames(d, rules, names);
}

void decodeReferenceGrant(Decoder& d, const V& root, const std::string& version,
                          ReferenceGrant& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"from", "to"});
  V from = d.field(spec, "from");
  d.require(from);
  for (const V& f : d.list(from, 1, 16)) {
    if (!d.require(f) || !d.object(f)) continue;
    d.strict(f, {"group", "kind", "namespace"});
    ReferenceGrantFrom rf;
    if (auto s = d.reqStr(d.field(f, "group"), specs::kGroup)) rf.group = *s;
    if (auto s = d.reqStr(d.field(f, "kind"), specs::kKind)) rf.kind = *s;
    if (auto s = d.reqStr(d.field(f, "namespace"), specs::kNamespace)) rf.namespace_ = *s;
    out.from.push_back(std::move(rf));
  }
  V to = d.field(spec, "to");
  d.require(to);
  for (const V& t : d.list(to, 1, 16)) {
    if (!d.require(t) || !d.object(t)) continue;
    d.strict(t, {"group", "kind", "name"});
    ReferenceGrantTo rt;
    if (auto s = d.reqStr(d.field(t, "group"), specs::kGroup)) rt.group = *s;
    if (auto s = d.reqStr(d.field(t, "kind"), specs::kKind)) rt.kind = *s;
    if (auto s = d.str(d.field(t, "name"), specs::kObjectName)) rt.name = *s;
    out.to.push_back(std::move(rt));
  }
}

void decodeBackendTlsPolicy(Decoder& d, const V& root, const std::string& version,
                            BackendTlsPolicy& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.strict(spec, {"targetRefs", "validation", "options"});
  V targets = d.field(spec, "targetRefs");
  d.require(targets);
  std::vector<V> items = d.list(targets, 1, 16);
  for (const V& t : items) {
    if (!d.require(t) || !d.object(t)) {
      out.target_refs.emplace_back();
      continue;
    }
    d.strict(t, {"group", "kind", "name", "sectionName"});
    PolicyTargetReference r;
    if (auto s = d.reqStr(d.field(t, "group"), specs::kGroup)) r.group = *s;
    if (auto s = d.reqStr(d.field(t, "kind"), specs::kKind)) r.kind = *s;
    if (auto s = d.reqStr(d.field(t, "name"), specs::kObjectName)) r.name = *s;
    if (auto s = d.str(d.field(t, "sectionName"), specs::kSectionName)) r.section_name = *s;
    out.target_refs.push_back(std::move(r));
  }
  auto same = [](const PolicyTargetReference& a, const PolicyTargetReference& b) {
    return a.group == b.group && a.kind == b.kind && a.name == b.name;
  };
  auto noSection = [](const PolicyTargetReference& p) {
    return p.section_name.value_or("").empty();
  };
  bool reported = false;
  for (size_t i = 0; i < out.target_refs.size() && !reported; ++i) {
    for (size_t j = 0; j < out.target_refs.size(); ++j) {
      if (same(out.target_refs[i], out.target_refs[j]) &&
          noSection(out.target_refs[i]) != noSection(out.target_refs[j])) {
        d.fail(targets, celArray("sectionName must be specified when targetRefs includes 2 or "
                                 "more references to the same target"));
        reported = true;
        break;
      }
    }
  }
  for (size_t i = 0; i < out.target_refs.size(); ++i) {
    int n = 0;
    for (size_t j = 0; j < out.target_refs.size(); ++j) {
      const auto& a = out.target_refs[i];
      const auto& b = out.target_refs[j];
      bool same_section = (noSection(a) && noSection(b)) ||
                          (a.section_name && b.section_name && *a.section_name == *b.section_name);
      if (same(a, b) && same_section) ++n;
    }
    if (n != 1) {
      d.fail(targets, celArray("sectionName must be unique when targetRefs includes 2 or more "
                               "references to the same target"));
      break;
    }
  }

  V val = d.field(spec, "validation");
  if (d.require(val) && d.object(val)) {
    d.strict(val, {"caCertificateRefs", "wellKnownCACertificates", "hostname", "subjectAltNames"});
    for (const V& r : d.list(d.field(val, "caCertificateRefs"), 0, 8)) {
      if (!d.require(r) || !d.object(r)) continue;
      out.ca_certificate_refs.push_back(decodeObjectRef(d, r, true));
    }
    V wk = d.field(val, "wellKnownCACertificates");
    if (auto s = d.str(
            wk,
            StrSpec{
                1,
                253,
                R"(^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$)",
                {}}))
      out.well_known_ca_certificates = *s;
    bool has_refs = !out.ca_certificate_refs.empty();
    bool has_wk =
        out.well_known_ca_certificates.has_value() && !out.well_known_ca_certificates->empty();
    if (has_refs && has_wk) {
      d.fail(val, cel("must not contain both CACertificateRefs and WellKnownCACertificates"));
    }
    if (!has_refs && !has_wk) {
      d.fail(val, cel("must specify either CACertificateRefs or WellKnownCACertificates"));
    }
    if (auto s = d.reqStr(d.field(val, "hostname"), specs::kPreciseHostname)) out.hostname = *s;
    for (const V& san : d.list(d.field(val, "subjectAltNames"), 0, 5)) {
      if (!d.require(san) || !d.object(san)) continue;
      d.strict(san, {"type", "hostname", "uri"});
      SubjectAltName s;
      if (auto t = d.reqStr(d.field(san, "type"), StrSpec{0, -1, nullptr, {"Hostname", "URI"}}))
        s.type = *t;
      if (auto h = d.str(d.field(san, "hostname"), specs::kHostname)) s.hostname = *h;
      if (auto u = d.str(d.field(san, "uri"), specs::kAbsoluteUri)) s.uri = *u;
      if (s.type == "Hostname" && s.hostname.empty()) {
        d.fail(san, cel("SubjectAltName element must contain Hostname, if Type is set to "
                        "Hostname"));
      }
      if (s.type != "Hostname" && !s.hostname.empty()) {
        d.fail(san, cel("SubjectAltName element must not contain Hostname, if Type is not set to "
                        "Hostname"));
      }
      if (s.type == "URI" && s.uri.empty()) {
        d.fail(san, cel("SubjectAltName element must contain URI, if Type is set to URI"));
      }
      if (s.type != "URI" && !s.uri.empty()) {
        d.fail(san, cel("SubjectAltName element must not contain URI, if Type is not set to "
                        "URI"));
      }
      out.subject_alt_names.push_back(std::move(s));
    }
  }
  out.options = d.strMap(d.field(spec, "options"), specs::kAnyKey, specs::kAnnotationValue, 16);
}

}  // namespace gantry::api::detail

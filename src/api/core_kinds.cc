// Core Kubernetes kinds gantry reads: Namespace, Service, EndpointSlice, Secret, ConfigMap.
// Validation follows the API server's built-in rules (k8s.io/kubernetes pkg/apis/core/validation,
// pkg/apis/discovery/validation) for the fields gantry uses; other fields are accepted unread.
#include <arpa/inet.h>

#include <set>

#include <fmt/format.h>

#include "api/kinds.h"

namespace gantry::api::detail {

namespace {
constexpr const char* kDnsLabelRe = R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?$)";
constexpr const char* kDns1035Re = R"(^[a-z]([-a-z0-9]*[a-z0-9])?$)";
constexpr const char* kDnsSubdomainRe =
    R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)";
// ConfigMap and Secret keys (validation.IsConfigMapKey).
constexpr const char* kConfigKeyRe = R"(^[-._a-zA-Z0-9]+$)";
// Total size of a Secret's or ConfigMap's data (core validation: MaxSecretSize, 1 MiB).
constexpr size_t kMaxDataSize = 1024 * 1024;

// RFC 4648 standard alphabet with padding, as Go's encoding/json decodes []byte (which also skips
// \r and \n).
std::optional<std::string> base64Decode(std::string_view in) {
  std::string clean;
  clean.reserve(in.size());
  for (char c : in)
    if (c != '\n' && c != '\r') clean.push_back(c);
  if (clean.size() % 4 != 0) return std::nullopt;
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(clean.size() / 4 * 3);
  for (size_t i = 0; i < clean.size(); i += 4) {
    int pad = 0;
    uint32_t acc = 0;
    for (size_t j = 0; j < 4; ++j) {
      char c = clean[i + j];
      if (c == '=') {
        // Padding only at the very end, at most two characters.
        if (i + 4 != clean.size() || j < 2) return std::nullopt;
        ++pad;
        acc <<= 6;
        continue;
      }
      if (pad > 0) return std::nullopt;
      int v = val(c);
      if (v < 0) return std::nullopt;
      acc = (acc << 6) | static_cast<uint32_t>(v);
    }
    out.push_back(static_cast<char>((acc >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((acc >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(acc & 0xff));
  }
  return out;
}

// IANA service name (validation.IsValidPortName): at most 15 characters, lower case letters,
// digits and '-', at least one letter, no leading, trailing or doubled '-'.
bool isValidPortName(const std::string& s) {
  if (s.empty() || s.size() > 15) return false;
  if (!patternMatches("^[-a-z0-9]+$", s)) return false;
  if (!patternMatches("[a-z]", s)) return false;
  if (s.front() == '-' || s.back() == '-' || s.find("--") != std::string::npos) return false;
  return true;
}

bool configKeyOk(Decoder& d, const V& at, const std::string& key) {
  if (key.size() > 253 || key == "." || key == ".." || !patternMatches(kConfigKeyRe, key)) {
    d.fail(at, fmt::format("Invalid value: \"{}\": a valid config key must consist of "
                           "alphanumeric characters, '-', '_' or '.'",
                           key));
    return false;
  }
  return true;
}

// Reads a map of config keys to values; `binary` values are base64 and decoded.
void readDataMap(Decoder& d, const V& v, bool binary, std::map<std::string, std::string>& into,
                 bool overwrite, std::set<std::string>* seen_keys) {
  if (!d.object(v)) return;
  d.noDuplicates(v);
  for (const MapEntry& e : mapEntries(v.n)) {
    if (!e.key.IsScalar()) continue;
    std::string key = e.key.Scalar();
    V val{e.value, v.path + "[" + key + "]", d.lineOf(e.key, v.line)};
    if (!configKeyOk(d, val, key)) continue;
    if (seen_keys && !seen_keys->insert(key).second) {
      d.fail(val, "Invalid value: duplicate of key present in data");
      continue;
    }
    std::string value;
    if (val.has()) {
      auto s = d.str(val);
      if (!s) continue;
      if (binary) {
        auto decoded = base64Decode(*s);
        if (!decoded) {
          d.fail(val, "Invalid value: illegal base64 data");
          continue;
        }
        value = std::move(*decoded);
      } else {
        value = std::move(*s);
      }
    }
    if (overwrite || !into.count(key)) into[key] = std::move(value);
  }
}

void checkDataSize(Decoder& d, const V& at, const std::map<std::string, std::string>& data) {
  size_t total = 0;
  for (const auto& [k, v] : data) total += v.size();
  if (total > kMaxDataSize) {
    d.fail(at, fmt::format("Too long: data must have at most {} bytes", kMaxDataSize));
  }
}

const StrSpec kProtocol{0, -1, nullptr, {"TCP", "UDP", "SCTP"}};
}  // namespace

bool isDnsLabel(const std::string& s) { return s.size() <= 63 && patternMatches(kDnsLabelRe, s); }
bool isDns1035Label(const std::string& s) {
  return s.size() <= 63 && patternMatches(kDns1035Re, s);
}
bool isDnsSubdomain(const std::string& s) {
  return s.size() <= 253 && patternMatches(kDnsSubdomainRe, s);
}
bool isIpv4(const std::string& s) {
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}
bool isIpv6(const std::string& s) {
  in6_addr a{};
  return s.find('.') == std::string::npos && inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

LabelSelector decodeLabelSelector(Decoder& d, const V& v) {
  LabelSelector sel;
  if (!d.object(v)) return sel;
  d.strict(v, {"matchLabels", "matchExpressions"});
  V labels = d.field(v, "matchLabels");
  sel.match_labels = d.strMap(labels, specs::kLabelKey, specs::kLabelValue);
  for (const V& e : d.list(d.field(v, "matchExpressions"))) {
    if (!d.require(e) || !d.object(e)) continue;
    d.strict(e, {"key", "operator", "values"});
    LabelSelectorRequirement r;
    V key = d.field(e, "key");
    if (auto s = d.reqStr(key, specs::kLabelKey)) r.key = *s;
    V op = d.field(e, "operator");
    if (auto s = d.reqStr(op, StrSpec{0, -1, nullptr, {"In", "NotIn", "Exists", "DoesNotExist"}}))
      r.op = *s;
    V values = d.field(e, "values");
    for (const V& item : d.list(values)) {
      if (auto s = d.str(item, specs::kLabelValue)) r.values.push_back(*s);
    }
    // metav1 validation (ValidateLabelSelectorRequirement).
    if ((r.op == "In" || r.op == "NotIn") && r.values.empty()) {
      d.fail(values, "Required value: must be specified when `operator` is 'In' or 'NotIn'");
    } else if ((r.op == "Exists" || r.op == "DoesNotExist") && !r.values.empty()) {
      d.fail(values,
             "Forbidden: may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
    }
    sel.match_expressions.push_back(std::move(r));
  }
  return sel;
}

void decodeNamespace(Decoder& d, const V& root, Namespace& out) {
  V spec = d.field(root, "spec");
  d.object(spec);
}

void decodeService(Decoder& d, const V& root, Service& out) {
  V spec = d.field(root, "spec");
  if (!d.require(spec) || !d.object(spec)) return;
  d.noDuplicates(spec);
  V type = d.field(spec, "type");
  if (auto s = d.str(
          type, StrSpec{0, -1, nullptr, {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}}))
    out.type = *s;
  V ext = d.field(spec, "externalName");
  if (auto s = d.str(ext)) out.external_name = *s;
  if (out.type == "ExternalName") {
    // Core validation: required, and a DNS subdomain (a trailing dot is allowed).
    std::string name = out.external_name;
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (out.external_name.empty()) {
      d.fail(ext, "Required value");
    } else if (!isDnsSubdomain(name)) {
      d.fail(ext,
             fmt::format("Invalid value: \"{}\": must be a valid DNS name", out.external_name));
    }
  }
  V cip = d.field(spec, "clusterIP");
  if (auto s = d.str(cip)) {
    out.cluster_ip = *s;
    if (!s->empty() && *s != "None" && !isIpv4(*s) && !isIpv6(*s)) {
      d.fail(cip, fmt::format("Invalid value: \"{}\": must be empty, 'None', or a valid IP "
                              "address",
                              *s));
    }
  }
  V ports = d.field(spec, "ports");
  auto items = d.list(ports);
  bool headless = out.cluster_ip == "None";
  if (items.empty() && out.type != "ExternalName" && !headless) {
    d.fail(ports, "Required value");
  }
  std::set<std::string> names;
  std::set<std::pair<uint16_t, std::string>> port_protocols;
  for (const V& p : items) {
    if (!d.require(p) || !d.object(p)) continue;
    d.noDuplicates(p);
    ServicePort sp;
    V name = d.field(p, "name");
    if (auto s = d.str(name)) {
      sp.name = *s;
      if (!s->empty() && !isDnsLabel(*s)) {
        d.fail(name, fmt::format("Invalid value: \"{}\": a lowercase RFC 1123 label must consist "
                                 "of lower case alphanumeric characters or '-', at most 63",
                                 *s));
      }
    }
    if (items.size() > 1 && sp.name.empty()) d.fail(name, "Required value");
    if (!sp.name.empty() && !names.insert(sp.name).second) {
      d.fail(name, fmt::format("Duplicate value: \"{}\"", sp.name));
    }
    if (auto s = d.str(d.field(p, "protocol"), kProtocol)) sp.protocol = *s;
    if (auto s = d.str(d.field(p, "appProtocol"))) sp.app_protocol = *s;
    V port = d.field(p, "port");
    if (d.require(port)) {
      if (auto n = d.integer(port, 1, 65535)) sp.port = static_cast<uint16_t>(*n);
    }
    d.integer(d.field(p, "nodePort"), 0, 65535);
    V target = d.field(p, "targetPort");
    if (target.has()) {
      // IntOrString: a number is a port, a string a named port (IANA service name). A zero value
      // (0 or "") is defaulted to `port` (core/v1 SetDefaults_Service) before validation.
      if (target.n.IsScalar() && classifyScalar(target.n) == ScalarKind::kInt) {
        if (auto n = d.integer(target, 0, 65535)) {
          sp.target_port_number = *n == 0 ? sp.port : static_cast<uint16_t>(*n);
        }
      } else if (auto s = d.str(target); s && s->empty()) {
        sp.target_port_number = sp.port;
      } else if (s) {
        if (!isValidPortName(*s)) {
          d.fail(target, fmt::format("Invalid value: \"{}\": must be a port number (1-65535) or "
                                     "an IANA service name",
                                     *s));
        } else {
          sp.target_port_name = *s;
        }
      }
    } else {
      sp.target_port_number = sp.port;  // defaulted to port by the API server
    }
    if (sp.port != 0 && !port_protocols.emplace(sp.port, sp.protocol).second) {
      d.fail(port, fmt::format("Duplicate value: {{\"port\": {}, \"protocol\": \"{}\"}}", sp.port,
                               sp.protocol));
    }
    out.ports.push_back(std::move(sp));
  }
}

void decodeEndpointSlice(Decoder& d, const V& root, EndpointSlice& out) {
  V at = d.field(root, "addressType");
  if (auto s = d.reqStr(at, StrSpec{0, -1, nullptr, {"IPv4", "IPv6", "FQDN"}}))
    out.address_type = *s;
  // discovery validation: at most 1000 endpoints with 1..100 addresses, at most 20000 ports.
  for (const V& e : d.list(d.field(root, "endpoints"), 0, 1000)) {
    if (!d.require(e) || !d.object(e)) continue;
    d.noDuplicates(e);
    EndpointSliceEndpoint ep;
    V addrs = d.field(e, "addresses");
    if (!addrs.has()) d.fail(addrs, "Required value");
    for (const V& a : d.list(addrs, 1, 100)) {
      auto s = d.str(a);
      if (!s) {
        d.require(a);
        continue;
      }
      bool ok = out.address_type == "IPv4"   ? isIpv4(*s)
                : out.address_type == "IPv6" ? isIpv6(*s)
                                             : isDnsSubdomain(*s);
      if (!ok) {
        d.fail(a, fmt::format("Invalid value: \"{}\": must be a valid {} address", *s,
                              out.address_type));
        continue;
      }
      ep.addresses.push_back(*s);
    }
    V cond = d.field(e, "conditions");
    if (d.object(cond)) {
      d.noDuplicates(cond);
      ep.conditions.ready = d.boolean(d.field(cond, "ready"));
      ep.conditions.serving = d.boolean(d.field(cond, "serving"));
      ep.conditions.terminating = d.boolean(d.field(cond, "terminating"));
    }
    out.endpoints.push_back(std::move(ep));
  }
  std::set<std::string> names;
  for (const V& p : d.list(d.field(root, "ports"), 0, 20000)) {
    if (!d.require(p) || !d.object(p)) continue;
    d.noDuplicates(p);
    EndpointSlicePort port;
    V name = d.field(p, "name");
    if (auto s = d.str(name)) {
      if (!s->empty() && !isDnsLabel(*s)) {
        d.fail(name, fmt::format("Invalid value: \"{}\": a lowercase RFC 1123 label must consist "
                                 "of lower case alphanumeric characters or '-', at most 63",
                                 *s));
      }
      port.name = *s;
    }
    if (!names.insert(port.name.value_or("")).second) {
      d.fail(name, fmt::format("Duplicate value: \"{}\"", port.name.value_or("")));
    }
    if (auto n = d.integer(d.field(p, "port"), 1, 65535)) port.port = static_cast<uint16_t>(*n);
    if (auto s = d.str(d.field(p, "protocol"), kProtocol)) port.protocol = *s;
    if (auto s = d.str(d.field(p, "appProtocol"))) port.app_protocol = *s;
    out.ports.push_back(std::move(port));
  }
}

void decodeSecret(Decoder& d, const V& root, Secret& out) {
  V type = d.field(root, "type");
  if (auto s = d.str(type)) {
    if (!s->empty()) out.type = *s;
  }
  V data = d.field(root, "data");
  readDataMap(d, data, /*binary=*/true, out.data, true, nullptr);
  // stringData is merged over data by the API server (write-only convenience field).
  V sdata = d.field(root, "stringData");
  readDataMap(d, sdata, /*binary=*/false, out.data, true, nullptr);
  checkDataSize(d, root, out.data);
  if (out.type == "kubernetes.io/tls") {
    // Core validation for SecretTypeTLS: both keys must be present.
    for (const char* key : {"tls.crt", "tls.key"}) {
      if (!out.data.count(key)) d.fail(data, fmt::format("Required value: data[{}]", key));
    }
  } else if (out.type == "kubernetes.io/basic-auth") {
    if (!out.data.count("username") && !out.data.count("password")) {
      d.fail(data, "Required value: data[username] or data[password]");
    }
  } else if (out.type == "kubernetes.io/ssh-auth") {
    if (!out.data.count("ssh-privatekey")) d.fail(data, "Required value: data[ssh-privatekey]");
  }
}

void decodeConfigMap(Decoder& d, const V& root, ConfigMap& out) {
  std::set<std::string> keys;
  readDataMap(d, d.field(root, "data"), /*binary=*/false, out.data, true, &keys);
  // binaryData values are base64; a key may not appear in both (core validation).
  readDataMap(d, d.field(root, "binaryData"), /*binary=*/true, out.data, true, &keys);
  checkDataSize(d, root, out.data);
}

}  // namespace gantry::api::detail

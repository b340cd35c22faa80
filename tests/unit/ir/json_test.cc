// ir/json: round trip of every IR field, defaults for absent keys, and error messages with paths.
//
// The round-trip test compares every member explicitly (ir.h has no operator==). Whoever adds a
// field to ir.h adds it to fullSnapshot() with a non-default value and to the matching expectEq().
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "ir/ir.h"
#include "ir/json.h"

namespace gantry::ir {
namespace {

// ---------------------------------------------------------------------------------------------
// Member-wise comparison.
// ---------------------------------------------------------------------------------------------

// Declared first: expectEqList() is instantiated for all of them.
void expectEq(const Filter& a, const Filter& b);
void expectEq(const WeightedBackend& a, const WeightedBackend& b);
void expectEq(const HeaderMatch& a, const HeaderMatch& b);
void expectEq(const QueryParamMatch& a, const QueryParamMatch& b);
void expectEq(const Rule& a, const Rule& b);
void expectEq(const RouteEntry& a, const RouteEntry& b);
void expectEq(const HttpListener& a, const HttpListener& b);
void expectEq(const Certificate& a, const Certificate& b);
void expectEq(const TlsConfig& a, const TlsConfig& b);
void expectEq(const L4Route& a, const L4Route& b);
void expectEq(const Port& a, const Port& b);
void expectEq(const Endpoint& a, const Endpoint& b);
void expectEq(const Backend& a, const Backend& b);

void expectEq(const HeaderValue& a, const HeaderValue& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.value, b.value);
}

template <typename T>
void expectEqList(const std::vector<T>& a, const std::vector<T>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE(i);
    expectEq(a[i], b[i]);
  }
}

void expectEq(const HeaderModifier& a, const HeaderModifier& b) {
  expectEqList(a.set, b.set);
  expectEqList(a.add, b.add);
  EXPECT_EQ(a.remove, b.remove);
}

void expectEq(const PathModifier& a, const PathModifier& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.value, b.value);
}

// Only the member selected by `type` is serialised (see json.cc), so only it is compared.
void expectEq(const Filter& a, const Filter& b) {
  ASSERT_EQ(a.type, b.type);
  switch (a.type) {
    case FilterType::kRequestHeaderModifier:
    case FilterType::kResponseHeaderModifier:
      expectEq(a.header_modifier, b.header_modifier);
      break;
    case FilterType::kRequestRedirect:
      EXPECT_EQ(a.redirect.scheme, b.redirect.scheme);
      EXPECT_EQ(a.redirect.hostname, b.redirect.hostname);
      EXPECT_EQ(a.redirect.port, b.redirect.port);
      expectEq(a.redirect.path, b.redirect.path);
      EXPECT_EQ(a.redirect.status_code, b.redirect.status_code);
      break;
    case FilterType::kUrlRewrite:
      EXPECT_EQ(a.rewrite.hostname, b.rewrite.hostname);
      expectEq(a.rewrite.path, b.rewrite.path);
      break;
    case FilterType::kRequestMirror:
      EXPECT_EQ(a.mirror.backend, b.mirror.backend);
      EXPECT_EQ(a.mirror.numerator, b.mirror.numerator);
      EXPECT_EQ(a.mirror.denominator, b.mirror.denominator);
      break;
    case FilterType::kCors:
      EXPECT_EQ(a.cors.allow_origins, b.cors.allow_origins);
      EXPECT_EQ(a.cors.allow_credentials, b.cors.allow_credentials);
      EXPECT_EQ(a.cors.allow_methods, b.cors.allow_methods);
      EXPECT_EQ(a.cors.allow_headers, b.cors.allow_headers);
      EXPECT_EQ(a.cors.expose_headers, b.cors.expose_headers);
      EXPECT_EQ(a.cors.max_age_seconds, b.cors.max_age_seconds);
      break;
    case FilterType::kExternalAuth:
      EXPECT_EQ(a.ext_auth.backend, b.ext_auth.backend);
      EXPECT_EQ(a.ext_auth.path_prefix, b.ext_auth.path_prefix);
      EXPECT_EQ(a.ext_auth.allowed_request_headers, b.ext_auth.allowed_request_headers);
      EXPECT_EQ(a.ext_auth.allowed_response_headers, b.ext_auth.allowed_response_headers);
      EXPECT_EQ(a.ext_auth.forward_body_max, b.ext_auth.forward_body_max);
      EXPECT_EQ(a.ext_auth.grpc, b.ext_auth.grpc);
      break;
  }
}

void expectEq(const WeightedBackend& a, const WeightedBackend& b) {
  EXPECT_EQ(a.backend, b.backend);
  EXPECT_EQ(a.weight, b.weight);
  expectEqList(a.filters, b.filters);
}

void expectEq(const HeaderMatch& a, const HeaderMatch& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.value, b.value);
}

void expectEq(const QueryParamMatch& a, const QueryParamMatch& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.value, b.value);
}

void expectEq(const Match& a, const Match& b) {
  EXPECT_EQ(a.path.type, b.path.type);
  EXPECT_EQ(a.path.value, b.path.value);
  expectEqList(a.headers, b.headers);
  expectEqList(a.query_params, b.query_params);
  EXPECT_EQ(a.method, b.method);
}

void expectEq(const Rule& a, const Rule& b) {
  EXPECT_EQ(a.route, b.route);
  EXPECT_EQ(a.rule_index, b.rule_index);
  expectEqList(a.filters, b.filters);
  expectEqList(a.backends, b.backends);
  EXPECT_EQ(a.direct_status, b.direct_status);
  EXPECT_EQ(a.timeouts.request_ms, b.timeouts.request_ms);
  EXPECT_EQ(a.timeouts.backend_request_ms, b.timeouts.backend_request_ms);
  EXPECT_EQ(a.retry.codes, b.retry.codes);
  EXPECT_EQ(a.retry.attempts, b.retry.attempts);
  EXPECT_EQ(a.retry.backoff_ms, b.retry.backoff_ms);
  EXPECT_EQ(a.session_persistence.type, b.session_persistence.type);
  EXPECT_EQ(a.session_persistence.name, b.session_persistence.name);
  EXPECT_EQ(a.session_persistence.absolute_timeout_s, b.session_persistence.absolute_timeout_s);
  EXPECT_EQ(a.session_persistence.idle_timeout_s, b.session_persistence.idle_timeout_s);
  EXPECT_EQ(a.session_persistence.permanent_cookie, b.session_persistence.permanent_cookie);
  EXPECT_EQ(a.grpc, b.grpc);
}

void expectEq(const RouteEntry& a, const RouteEntry& b) {
  EXPECT_EQ(a.hostname, b.hostname);
  expectEq(a.match, b.match);
  EXPECT_EQ(a.rule, b.rule);
}

void expectEq(const HttpListener& a, const HttpListener& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.hostname, b.hostname);
  expectEqList(a.rules, b.rules);
  expectEqList(a.entries, b.entries);
}

void expectEq(const Certificate& a, const Certificate& b) {
  EXPECT_EQ(a.cert_pem, b.cert_pem);
  EXPECT_EQ(a.key_pem, b.key_pem);
}

void expectEq(const TlsConfig& a, const TlsConfig& b) {
  EXPECT_EQ(a.hostname, b.hostname);
  expectEqList(a.certificates, b.certificates);
  ASSERT_EQ(a.client_validation.has_value(), b.client_validation.has_value());
  if (a.client_validation) {
    EXPECT_EQ(a.client_validation->ca_pems, b.client_validation->ca_pems);
    EXPECT_EQ(a.client_validation->allow_insecure_fallback,
              b.client_validation->allow_insecure_fallback);
  }
}

void expectEq(const L4Route& a, const L4Route& b) {
  EXPECT_EQ(a.route, b.route);
  EXPECT_EQ(a.hostnames, b.hostnames);
  expectEqList(a.backends, b.backends);
  EXPECT_EQ(a.listener, b.listener);
  EXPECT_EQ(a.listener_hostname, b.listener_hostname);
}

void expectEq(const Port& a, const Port& b) {
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.protocol, b.protocol);
  expectEqList(a.http_listeners, b.http_listeners);
  expectEqList(a.tls, b.tls);
  expectEqList(a.l4_routes, b.l4_routes);
}

void expectEq(const Endpoint& a, const Endpoint& b) {
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.port, b.port);
  EXPECT_EQ(a.weight, b.weight);
}

void expectEq(const Backend& a, const Backend& b) {
  EXPECT_EQ(a.name, b.name);
  expectEqList(a.endpoints, b.endpoints);
  EXPECT_EQ(a.app_protocol, b.app_protocol);
  ASSERT_EQ(a.tls.has_value(), b.tls.has_value());
  if (a.tls) {
    EXPECT_EQ(a.tls->sni, b.tls->sni);
    EXPECT_EQ(a.tls->ca_pems, b.tls->ca_pems);
    EXPECT_EQ(a.tls->use_system_cas, b.tls->use_system_cas);
    EXPECT_EQ(a.tls->subject_alt_names, b.tls->subject_alt_names);
    ASSERT_EQ(a.tls->client_certificate.has_value(), b.tls->client_certificate.has_value());
    if (a.tls->client_certificate) expectEq(*a.tls->client_certificate, *b.tls->client_certificate);
  }
  EXPECT_EQ(a.connect_timeout_ms, b.connect_timeout_ms);
}

void expectEq(const Snapshot& a, const Snapshot& b) {
  EXPECT_EQ(a.version, b.version);
  expectEqList(a.ports, b.ports);
  expectEqList(a.backends, b.backends);
}

// ---------------------------------------------------------------------------------------------
// A snapshot with every field set to a non-default value, every enum value used at least once.
// ---------------------------------------------------------------------------------------------

Filter headerFilter(FilterType type, std::string suffix) {
  Filter f;
  f.type = type;
  f.header_modifier.set = {{"x-set-" + suffix, "v1"}, {"x-set2", "quote\"back\\slash"}};
  f.header_modifier.add = {{"x-add-" + suffix, "tab\tnl\nctl\x01"}};
  f.header_modifier.remove = {"x-remove-" + suffix, "server"};
  return f;
}

Snapshot fullSnapshot() {
  Snapshot s;
  s.version = 18446744073709551615ULL;  // uint64 max survives (no double conversion)

  Backend echo;
  echo.name = "default/echo:80";
  echo.endpoints = {{"127.0.0.1", 9000, 3}, {"::1", 65535, 0}, {"echo.example.internal", 1, 7}};
  echo.app_protocol = AppProtocol::kH2c;
  echo.connect_timeout_ms = 250;
  s.backends.push_back(echo);

  Backend secure;
  secure.name = "team-a/secure:443";
  secure.endpoints = {{"10.0.0.1", 8443, 1}};
  secure.app_protocol = AppProtocol::kHttp2Tls;
  secure.tls = BackendTls{"secure.example.com",
                          {"-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n"},
                          true,
                          {"secure.example.com", "spiffe://cluster/ns/a"},
                          std::nullopt};
  s.backends.push_back(secure);
  Backend mtls = secure;
  mtls.name = "team-a/secure:443@client-cert:team-a/gw";
  mtls.tls->client_certificate = Certificate{"CLIENT-CHAIN", "CLIENT-KEY"};
  s.backends.push_back(mtls);
  for (auto p : {AppProtocol::kHttp1, AppProtocol::kWebSocket, AppProtocol::kWebSocketTls}) {
    Backend b;
    b.name = "ws/" + std::to_string(static_cast<int>(p));
    b.app_protocol = p;
    b.tls = BackendTls{};  // present but all-default: must stay present
    s.backends.push_back(b);
  }

  Rule rule;
  rule.route = "HTTPRoute/default/web";
  rule.rule_index = 4;
  rule.filters.push_back(headerFilter(FilterType::kRequestHeaderModifier, "req"));
  rule.filters.push_back(headerFilter(FilterType::kResponseHeaderModifier, "resp"));
  Filter redirect;
  redirect.type = FilterType::kRequestRedirect;
  redirect.redirect = {
      "https", "new.example.com", 8443, {PathModifierType::kReplacePrefixMatch, "/v2"}, 301};
  rule.filters.push_back(redirect);
  Filter redirectNoPort;
  redirectNoPort.type = FilterType::kRequestRedirect;
  redirectNoPort.redirect.path = {PathModifierType::kNone, ""};
  rule.filters.push_back(redirectNoPort);
  Filter rewrite;
  rewrite.type = FilterType::kUrlRewrite;
  rewrite.rewrite = {"internal.example.com", {PathModifierType::kReplaceFullPath, "/full"}};
  rule.filters.push_back(rewrite);
  Filter mirror;
  mirror.type = FilterType::kRequestMirror;
  mirror.mirror = {"team-a/secure:443", 1, 1000};
  rule.filters.push_back(mirror);
  Filter cors;
  cors.type = FilterType::kCors;
  cors.cors = {{"*", "https://*.x.com"}, true, {"GET", "POST"}, {"x-a"}, {"x-b", "x-c"}, 3600};
  rule.filters.push_back(cors);
  Filter auth;
  auth.type = FilterType::kExternalAuth;
  auth.ext_auth = {"auth/ext:9000", "/check", {"x-user"}, {"x-auth-user", "x-auth-role"}, 4096};
  rule.filters.push_back(auth);
  Filter grpc_auth = auth;
  grpc_auth.ext_auth.grpc = true;
  grpc_auth.ext_auth.allowed_request_headers.clear();
  rule.filters.push_back(grpc_auth);
  WeightedBackend wb;
  wb.backend = "default/echo:80";
  wb.weight = 90;
  wb.filters.push_back(headerFilter(FilterType::kRequestHeaderModifier, "per-backend"));
  rule.backends.push_back(wb);
  rule.backends.push_back({"", 10, {}});  // invalid reference: its share gets 500
  rule.direct_status = 500;
  rule.timeouts = {10'000, 2'500};
  rule.retry = {{502, 503, 504}, 3, 25};
  rule.session_persistence = {SessionPersistenceType::kCookie, "session", 3600, 600, true};
  rule.grpc = true;

  Rule rule2;
  rule2.route = "GRPCRoute/team-a/grpc";
  rule2.session_persistence.type = SessionPersistenceType::kHeader;
  rule2.session_persistence.name = "x-session";
  Rule rule3;  // all defaults, including SessionPersistenceType::kNone

  HttpListener listener;
  listener.name = "default/gw/http";
  listener.hostname = "*.example.com";
  listener.rules = {rule, rule2, rule3};
  RouteEntry e1;
  e1.hostname = "www.example.com";
  e1.match.path = {PathMatchType::kExact, "/exact"};
  e1.match.headers = {{ValueMatchType::kExact, "x-env", "canary"},
                      {ValueMatchType::kRegularExpression, "x-re", "^v[0-9]+$"}};
  e1.match.query_params = {{ValueMatchType::kExact, "q", "1"},
                           {ValueMatchType::kRegularExpression, "r", ".*"}};
  e1.match.method = "POST";
  e1.rule = 0;
  RouteEntry e2;
  e2.hostname = "";
  e2.match.path = {PathMatchType::kRegularExpression, "/re/.*"};
  e2.rule = 1;
  RouteEntry e3;
  e3.hostname = "*.example.com";
  e3.match.path = {PathMatchType::kPathPrefix, "/ünïcødé"};
  e3.rule = 2;
  listener.entries = {e1, e2, e3};

  Port http;
  http.address = "127.0.0.1";
  http.port = 8080;
  http.protocol = Protocol::kHttp;
  http.http_listeners = {listener, HttpListener{"default/gw/other", "", {}, {}}};
  s.ports.push_back(http);

  Port https;
  https.address = "::";
  https.port = 8443;
  https.protocol = Protocol::kHttps;
  https.http_listeners = {listener};
  TlsConfig tls;
  tls.hostname = "www.example.com";
  tls.certificates = {{"CERT1", "KEY1"}, {"CERT2", "KEY2"}};
  tls.client_validation = FrontendValidation{{"CA1", "CA2"}, true};
  https.tls = {tls, TlsConfig{"", {{"C", "K"}}, std::nullopt}};
  s.ports.push_back(https);

  L4Route l4;
  l4.route = "TLSRoute/default/pass";
  l4.hostnames = {"pass.example.com", "*.pass.example.com"};
  l4.backends = {{"team-a/secure:443", 5, {}}};
  l4.listener = "default/gw/tls";
  l4.listener_hostname = "*.pass.example.com";
  for (auto proto :
       {Protocol::kTlsPassthrough, Protocol::kTlsTerminate, Protocol::kTcp, Protocol::kUdp}) {
    Port p;
    p.port = static_cast<uint16_t>(9000 + static_cast<int>(proto));
    p.protocol = proto;
    p.l4_routes = {l4};
    if (proto == Protocol::kTlsTerminate) p.tls = {tls};
    s.ports.push_back(p);
  }
  return s;
}

TEST(IrJson, RoundTripEveryField) {
  Snapshot original = fullSnapshot();
  std::string json = toJson(original);
  auto parsed = fromJson(json);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message() << "\n" << json;
  expectEq(original, *parsed);
  // Stable: serialising the parsed snapshot gives the same bytes.
  EXPECT_EQ(toJson(*parsed), json);
}

TEST(IrJson, EmptySnapshotRoundTrips) {
  Snapshot empty;
  std::string json = toJson(empty);
  EXPECT_EQ(json, "{\n  \"version\": 0,\n  \"ports\": [],\n  \"backends\": []\n}\n");
  auto parsed = fromJson(json);
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  expectEq(empty, *parsed);
}

TEST(IrJson, OutputIsReadable) {
  std::string json = toJson(fullSnapshot());
  // Enums as Gateway API words, field names as the C++ members.
  EXPECT_NE(json.find("\"protocol\": \"HTTP\""), std::string::npos);
  EXPECT_NE(json.find("\"type\": \"PathPrefix\""), std::string::npos);
  EXPECT_NE(json.find("\"type\": \"URLRewrite\""), std::string::npos);
  EXPECT_NE(json.find("\"http_listeners\": ["), std::string::npos);
  EXPECT_NE(json.find("\"codes\": [502, 503, 504]"), std::string::npos);
  // One member per line, indented.
  EXPECT_NE(json.find("\n      \"address\": \"127.0.0.1\""), std::string::npos);
}

TEST(IrJson, InvalidUtf8IsReplacedSoOutputStillParses) {
  Snapshot s;
  Backend b;
  b.name = std::string("bad\xff\xc3(") + "\xe2\x82\xac";  // two invalid bytes, then a valid euro
  s.backends.push_back(b);
  auto parsed = fromJson(toJson(s));
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  EXPECT_EQ(parsed->backends[0].name, "bad\xef\xbf\xbd\xef\xbf\xbd(\xe2\x82\xac");
}

TEST(IrJson, AbsentFieldsTakeIrDefaults) {
  auto parsed = fromJson(R"({
    "ports": [{"port": 8080, "http_listeners": [{"rules": [{"backends": [{"backend": "b"}]}],
                                                 "entries": [{}]}]}],
    "backends": [{"name": "b", "endpoints": [{"address": "127.0.0.1", "port": 9000}],
                  "tls": null}]
  })");
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  const Snapshot& s = *parsed;
  EXPECT_EQ(s.version, 0u);
  ASSERT_EQ(s.ports.size(), 1u);
  const Port& p = s.ports[0];
  EXPECT_EQ(p.address, "0.0.0.0");
  EXPECT_EQ(p.protocol, Protocol::kHttp);
  EXPECT_EQ(p.port, 8080);
  const RouteEntry& e = p.http_listeners[0].entries[0];
  EXPECT_EQ(e.hostname, "");
  EXPECT_EQ(e.match.path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(e.match.path.value, "/");
  EXPECT_EQ(e.rule, 0u);
  const Rule& r = p.http_listeners[0].rules[0];
  EXPECT_EQ(r.backends[0].weight, 1u);
  EXPECT_EQ(r.direct_status, 0);
  EXPECT_EQ(r.session_persistence.type, SessionPersistenceType::kNone);
  const Backend& b = s.backends[0];
  EXPECT_EQ(b.endpoints[0].weight, 1u);
  EXPECT_EQ(b.app_protocol, AppProtocol::kHttp1);
  EXPECT_FALSE(b.tls.has_value());
  EXPECT_EQ(b.connect_timeout_ms, 5000u);

  auto filter = fromJson(R"({"ports": [{"http_listeners": [{"rules": [{"filters": [
      {"type": "RequestRedirect", "redirect": {"hostname": "x"}},
      {"type": "RequestMirror", "mirror": {"backend": "m"}},
      {"type": "CORS", "cors": {}}]}]}]}]})");
  ASSERT_TRUE(filter.isOk()) << filter.status().message();
  const auto& fs = filter->ports[0].http_listeners[0].rules[0].filters;
  EXPECT_EQ(fs[0].redirect.status_code, 302);
  EXPECT_FALSE(fs[0].redirect.port.has_value());
  EXPECT_EQ(fs[1].mirror.numerator, 100u);
  EXPECT_EQ(fs[1].mirror.denominator, 100u);
  EXPECT_EQ(fs[2].cors.max_age_seconds, 5u);
}

TEST(IrJson, ExampleEchoSnapshotParses) {
  std::ifstream in(std::string(GANTRY_SOURCE_DIR) + "/examples/snapshot/echo.json");
  ASSERT_TRUE(in) << "examples/snapshot/echo.json missing";
  std::stringstream buf;
  buf << in.rdbuf();
  auto parsed = fromJson(buf.str());
  ASSERT_TRUE(parsed.isOk()) << parsed.status().message();
  ASSERT_EQ(parsed->ports.size(), 1u);
  const Port& p = parsed->ports[0];
  EXPECT_EQ(p.address, "127.0.0.1");
  EXPECT_EQ(p.port, 8080);
  ASSERT_EQ(p.http_listeners.size(), 1u);
  ASSERT_EQ(p.http_listeners[0].entries.size(), 1u);
  const RouteEntry& e = p.http_listeners[0].entries[0];
  EXPECT_EQ(e.match.path.type, PathMatchType::kPathPrefix);
  EXPECT_EQ(e.match.path.value, "/");
  const Rule& r = p.http_listeners[0].rules[e.rule];
  ASSERT_EQ(r.backends.size(), 1u);
  EXPECT_EQ(r.backends[0].backend, "default/echo:80");
  ASSERT_EQ(parsed->backends.size(), 1u);
  EXPECT_EQ(parsed->backends[0].name, "default/echo:80");
  ASSERT_EQ(parsed->backends[0].endpoints.size(), 1u);
  EXPECT_EQ(parsed->backends[0].endpoints[0].address, "127.0.0.1");
  EXPECT_EQ(parsed->backends[0].endpoints[0].port, 9000);
}

// ---------------------------------------------------------------------------------------------
// Errors: never a throw, always the JSON path of the offending field.
// ---------------------------------------------------------------------------------------------

struct ErrorCase {
  const char* name;
  const char* json;
  const char* expected;  // substring of the error message
};

class IrJsonErrors : public testing::TestWithParam<ErrorCase> {};

TEST_P(IrJsonErrors, NamesThePath) {
  auto parsed = fromJson(GetParam().json);
  ASSERT_FALSE(parsed.isOk());
  EXPECT_NE(parsed.status().message().find(GetParam().expected), std::string::npos)
      << "message: " << parsed.status().message();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, IrJsonErrors,
    testing::Values(
        ErrorCase{"NotJson", "{\"ports\": [", "invalid JSON"},
        ErrorCase{"Empty", "", "invalid JSON"},
        ErrorCase{"RootNotObject", "[]", "$: expected an object, got an array"},
        ErrorCase{"UnknownRootField", R"({"prots": []})", "$.prots: unknown field"},
        ErrorCase{"UnknownNestedField", R"({"ports": [{"prot": 80}]})",
                  "$.ports[0].prot: unknown field (expected one of address, port, protocol"},
        ErrorCase{"DuplicateField", R"({"version": 1, "version": 2})",
                  "$.version: duplicate field"},
        ErrorCase{"PortTooLarge", R"({"ports": [{}, {"port": 65536}]})",
                  "$.ports[1].port: expected an integer from 0 to 65535"},
        ErrorCase{"NegativeNumber", R"({"backends": [{"connect_timeout_ms": -1}]})",
                  "$.backends[0].connect_timeout_ms: expected an integer from 0 to 4294967295"},
        ErrorCase{"FloatNumber", R"({"version": 1.5})",
                  "$.version: expected an integer from 0 to 18446744073709551615, got a number"},
        ErrorCase{"StringForNumber", R"({"ports": [{"port": "80"}]})",
                  "$.ports[0].port: expected an integer from 0 to 65535, got a string"},
        ErrorCase{"NumberForString", R"({"backends": [{"name": 5}]})",
                  "$.backends[0].name: expected a string, got a number"},
        ErrorCase{"NullForString", R"({"backends": [{"name": null}]})",
                  "$.backends[0].name: expected a string, got null"},
        ErrorCase{"ObjectForArray", R"({"ports": {}})",
                  "$.ports: expected an array, got an object"},
        ErrorCase{"BadBool", R"({"backends": [{"tls": {"use_system_cas": "yes"}}]})",
                  "$.backends[0].tls.use_system_cas: expected a boolean, got a string"},
        ErrorCase{"UnknownEnum",
                  R"({"ports": [{"http_listeners": [{"rules": [{}],
                     "entries": [{"match": {"path": {"type": "Prefix"}}}]}]}]})",
                  "$.ports[0].http_listeners[0].entries[0].match.path.type: unknown value "
                  "\"Prefix\" (expected one of Exact, PathPrefix, RegularExpression)"},
        ErrorCase{"EnumCaseSensitive", R"({"ports": [{"protocol": "http"}]})",
                  "$.ports[0].protocol: unknown value \"http\""},
        ErrorCase{"EnumNotString", R"({"backends": [{"app_protocol": 1}]})",
                  "$.backends[0].app_protocol: expected a string, got a number"},
        ErrorCase{
            "RuleIndexOutOfRange",
            R"({"ports": [{"http_listeners": [{"rules": [{}], "entries": [{}, {"rule": 1}]}]}]})",
            "$.ports[0].http_listeners[0].entries[1].rule: rule index 1 out of range (1 "
            "rules)"},
        ErrorCase{"EntriesWithoutRules", R"({"ports": [{"http_listeners": [{"entries": [{}]}]}]})",
                  "entries[0].rule: rule index 0 out of range (0 rules)"},
        ErrorCase{
            "RetryCodeTooLarge",
            R"({"ports": [{"http_listeners": [{"rules": [{"retry": {"codes": [500, 70000]}}]}]}]})",
            "$.ports[0].http_listeners[0].rules[0].retry.codes[1]: expected an integer"},
        ErrorCase{"DeepFilterField",
                  R"({"ports": [{"http_listeners": [{"rules": [{"backends": [{"filters": [
                     {"type": "RequestHeaderModifier", "header_modifier": {"set": [{"nam": "x"}]}}
                     ]}]}]}]}]})",
                  "$.ports[0].http_listeners[0].rules[0].backends[0].filters[0].header_modifier."
                  "set[0].nam: unknown field"},
        ErrorCase{"RedirectPortType",
                  R"({"ports": [{"http_listeners": [{"rules": [{"filters": [
                     {"type": "RequestRedirect", "redirect": {"port": true}}]}]}]}]})",
                  "filters[0].redirect.port: expected an integer from 0 to 65535, got a boolean"},
        ErrorCase{"TrailingGarbage", R"({"version": 1} x)", "invalid JSON"}),
    [](const testing::TestParamInfo<ErrorCase>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace gantry::ir

// HTTPRoute filters (src/dataplane/filters): path modification, header modifier composition,
// redirect Location, CORS origin matching and field generation.
#include <gtest/gtest.h>

#include "dataplane/filters/cors.h"
#include "dataplane/filters/header_modifier.h"
#include "dataplane/filters/path_modifier.h"
#include "dataplane/filters/redirect.h"
#include "dataplane/filters/rule_filters.h"

namespace gantry::dataplane::filters {
namespace {

std::string modify(ir::PathModifierType type, std::string value, std::string prefix,
                   std::string path) {
  ir::PathModifier m{type, std::move(value)};
  std::string out = "keep:";
  modifyPath(m, {std::move(prefix)}, path, out);
  return out.substr(5);
}

// The table in the HTTPPathModifier.replacePrefixMatch doc comment, row by row.
TEST(PathModifier, ReplacePrefixMatchSpecTable) {
  const auto P = ir::PathModifierType::kReplacePrefixMatch;
  EXPECT_EQ(modify(P, "/xyz", "/foo", "/foo/bar"), "/xyz/bar");
  EXPECT_EQ(modify(P, "/xyz/", "/foo", "/foo/bar"), "/xyz/bar");
  EXPECT_EQ(modify(P, "/xyz", "/foo/", "/foo/bar"), "/xyz/bar");
  EXPECT_EQ(modify(P, "/xyz/", "/foo/", "/foo/bar"), "/xyz/bar");
  EXPECT_EQ(modify(P, "/xyz", "/foo", "/foo"), "/xyz");
  EXPECT_EQ(modify(P, "/xyz", "/foo", "/foo/"), "/xyz/");
  EXPECT_EQ(modify(P, "", "/foo", "/foo/bar"), "/bar");
  EXPECT_EQ(modify(P, "", "/foo", "/foo/"), "/");
  EXPECT_EQ(modify(P, "", "/foo", "/foo"), "/");
  EXPECT_EQ(modify(P, "/", "/foo", "/foo/"), "/");
  EXPECT_EQ(modify(P, "/", "/foo", "/foo"), "/");
}

TEST(PathModifier, ConformanceRewritePathCases) {
  const auto P = ir::PathModifierType::kReplacePrefixMatch;
  EXPECT_EQ(modify(P, "/one", "/prefix/one", "/prefix/one/two"), "/one/two");
  EXPECT_EQ(modify(P, "/", "/strip-prefix", "/strip-prefix/three"), "/three");
  EXPECT_EQ(modify(P, "/", "/strip-prefix", "/strip-prefix"), "/");
  EXPECT_EQ(modify(P, "/prefix", "/prefix/rewrite-path-and-modify-headers",
                   "/prefix/rewrite-path-and-modify-headers/one"),
            "/prefix/one");
  EXPECT_EQ(modify(ir::PathModifierType::kReplaceFullPath, "/one", "/full/one", "/full/one/two"),
            "/one");
}

TEST(PathModifier, RootPrefixAndNoMatch) {
  const auto P = ir::PathModifierType::kReplacePrefixMatch;
  EXPECT_EQ(modify(P, "/api", "/", "/v1/x"), "/api/v1/x");
  EXPECT_EQ(modify(P, "xyz", "/foo", "/foo/bar"), "/xyz/bar");  // a leading '/' is guaranteed
  // No prefix of the rule matches (cannot happen after routing): the path is kept.
  EXPECT_EQ(modify(P, "/xyz", "/foo", "/other"), "/other");
  EXPECT_EQ(modify(ir::PathModifierType::kNone, "", "/foo", "/foo/a"), "/foo/a");
  // The first matching prefix (precedence order) is the one replaced.
  std::string out;
  modifyPath({P, "/n"}, {"/a/b", "/a"}, "/a/b/c", out);
  EXPECT_EQ(out, "/n/c");
}

ir::HeaderModifier mod(std::vector<ir::HeaderValue> set, std::vector<ir::HeaderValue> add,
                       std::vector<std::string> remove) {
  return ir::HeaderModifier{std::move(set), std::move(add), std::move(remove)};
}

TEST(HeaderModifier, SetAddRemove) {
  auto m = mod({{"X-Header-Set", "v"}}, {{"X-Header-Add", "a"}}, {"x-header-remove"});
  std::vector<std::string> w;
  auto c = HeaderModifier::compile({&m}, Direction::kRequest, &w);
  EXPECT_TRUE(w.empty());
  EXPECT_TRUE(c.drops("x-header-set"));
  EXPECT_TRUE(c.drops("X-HEADER-SET"));
  EXPECT_TRUE(c.drops("X-Header-Remove"));
  EXPECT_FALSE(c.drops("x-header-add"));  // add appends: the received value stays
  EXPECT_EQ(c.lines(), "X-Header-Set: v\r\nX-Header-Add: a\r\n");
  EXPECT_FALSE(c.setsHost());
}

TEST(HeaderModifier, RuleThenBackendComposition) {
  auto rule = mod({{"A", "rule"}}, {{"B", "rule"}, {"C", "rule"}}, {});
  auto backend = mod({{"b", "backend"}}, {}, {"C"});
  auto c = HeaderModifier::compile({&rule, &backend}, Direction::kRequest, nullptr);
  // The backendRef's set of B replaces the rule's added B; its remove of C drops the rule's C.
  EXPECT_EQ(c.lines(), "A: rule\r\nb: backend\r\n");
  EXPECT_TRUE(c.drops("a"));
  EXPECT_TRUE(c.drops("b"));
  EXPECT_TRUE(c.drops("c"));
}

TEST(HeaderModifier, ProtectedFieldsAndHost) {
  auto m = mod({{"Host", "up.example"}, {"Content-Length", "5"}, {"X", "ok"}},
               {{"Transfer-Encoding", "chunked"}, {"Host", "dup"}},
               {"connection", "host", "Proxy-Authorization"});
  std::vector<std::string> w;
  auto c = HeaderModifier::compile({&m}, Direction::kRequest, &w);
  EXPECT_EQ(c.lines(), "X: ok\r\n");
  EXPECT_TRUE(c.setsHost());
  EXPECT_EQ(c.host(), "up.example");
  EXPECT_FALSE(c.drops("content-length"));
  EXPECT_FALSE(c.drops("connection"));
  EXPECT_FALSE(c.drops("host"));
  EXPECT_EQ(w.size(), 6u);
  // A response has no Host to replace: set of Host is an ordinary field there.
  auto r = HeaderModifier::compile({&m}, Direction::kResponse, nullptr);
  EXPECT_EQ(r.lines(), "Host: up.example\r\nX: ok\r\nHost: dup\r\n");
}

TEST(HeaderModifier, InjectionRejected) {
  auto m = mod({{"X", "a\r\nEvil: 1"}, {"Bad Name", "v"}}, {{"Y", "ok"}}, {});
  std::vector<std::string> w;
  auto c = HeaderModifier::compile({&m}, Direction::kRequest, &w);
  EXPECT_EQ(c.lines(), "Y: ok\r\n");
  EXPECT_EQ(w.size(), 2u);
}

TEST(HeaderModifier, Empty) {
  auto c = HeaderModifier::compile({nullptr, nullptr}, Direction::kResponse, nullptr);
  EXPECT_TRUE(c.empty());
}

std::string location(const ir::RequestRedirect& r, std::string_view scheme, uint16_t port,
                     std::string host = "gw.example", std::string path = "/a/b",
                     std::string query = "") {
  auto c = Redirect::compile(r, scheme, port, {"/a"});
  std::string out;
  c.appendLocation(host, path, !query.empty(), query, out);
  return out;
}

TEST(Redirect, PortRules) {
  ir::RequestRedirect r;
  r.hostname = "example.org";
  // Scheme and port unset: the listener port, omitted when it is the scheme's default.
  EXPECT_EQ(location(r, "http", 80), "location: http://example.org/a/b\r\n");
  EXPECT_EQ(location(r, "http", 8080), "location: http://example.org:8080/a/b\r\n");
  EXPECT_EQ(location(r, "https", 443), "location: https://example.org/a/b\r\n");
  EXPECT_EQ(location(r, "https", 8443), "location: https://example.org:8443/a/b\r\n");
  // Scheme set, port unset: the scheme's well-known port.
  r.scheme = "https";
  EXPECT_EQ(location(r, "http", 8080), "location: https://example.org/a/b\r\n");
  r.scheme = "http";
  EXPECT_EQ(location(r, "https", 443), "location: http://example.org/a/b\r\n");
  // Port set.
  r.port = 8443;
  r.scheme = "https";
  EXPECT_EQ(location(r, "http", 80), "location: https://example.org:8443/a/b\r\n");
  r.port = 443;
  EXPECT_EQ(location(r, "http", 80), "location: https://example.org/a/b\r\n");
  r.scheme.clear();
  r.port = 80;
  EXPECT_EQ(location(r, "http", 8080), "location: http://example.org/a/b\r\n");
  r.port = 8083;
  EXPECT_EQ(location(r, "http", 80), "location: http://example.org:8083/a/b\r\n");
}

TEST(Redirect, HostPathQueryStatus) {
  ir::RequestRedirect r;
  EXPECT_EQ(location(r, "http", 80, "gw.example", "/a/b", "x=1&y"),
            "location: http://gw.example/a/b?x=1&y\r\n");
  r.path = {ir::PathModifierType::kReplacePrefixMatch, "/replacement-prefix"};
  EXPECT_EQ(location(r, "http", 80, "gw.example", "/a/lemon"),
            "location: http://gw.example/replacement-prefix/lemon\r\n");
  r.path = {ir::PathModifierType::kReplaceFullPath, "/full"};
  EXPECT_EQ(location(r, "http", 80, "gw.example", "/a/lemon", "q"),
            "location: http://gw.example/full?q\r\n");
  for (uint16_t code : {301, 302, 303, 307, 308}) {
    r.status_code = code;
    EXPECT_EQ(Redirect::compile(r, "http", 80, {}).status(), code);
  }
  r.status_code = 200;
  EXPECT_EQ(Redirect::compile(r, "http", 80, {}).status(), 302);
}

ir::Cors cors(std::vector<std::string> origins, bool creds, std::vector<std::string> methods = {},
              std::vector<std::string> headers = {}, std::vector<std::string> expose = {},
              uint32_t max_age = 5) {
  return ir::Cors{std::move(origins), creds,  std::move(methods), std::move(headers),
                  std::move(expose),  max_age};
}

TEST(Cors, OriginMatching) {
  auto c = Cors::compile(
      cors({"https://www.foo.com", "https://*.bar.com", "http://a.example:8080"}, false), nullptr);
  EXPECT_TRUE(c.allows("https://www.foo.com"));
  EXPECT_TRUE(c.allows("https://www.foo.com:443"));  // default port assumed
  EXPECT_TRUE(c.allows("HTTPS://WWW.FOO.COM"));
  EXPECT_FALSE(c.allows("http://www.foo.com"));
  EXPECT_FALSE(c.allows("https://www.foo.com:8443"));
  EXPECT_FALSE(c.allows("https://foobar.com"));
  EXPECT_TRUE(c.allows("https://www.bar.com"));
  EXPECT_TRUE(c.allows("https://xpto.www.bar.com"));  // any number of labels
  EXPECT_FALSE(c.allows("https://bar.com"));
  EXPECT_FALSE(c.allows("https://xbar.com"));
  EXPECT_TRUE(c.allows("http://a.example:8080"));
  EXPECT_FALSE(c.allows("http://a.example"));
  EXPECT_FALSE(c.allows("null"));
  EXPECT_FALSE(c.allows(""));
  auto any = Cors::compile(cors({"*"}, false), nullptr);
  EXPECT_TRUE(any.allows("https://foobar.com:12345"));
  EXPECT_TRUE(any.allows("null"));
}

std::vector<http1::Header> hdrs(std::vector<std::pair<std::string_view, std::string_view>> v) {
  std::vector<http1::Header> out;
  for (auto& [n, val] : v) out.push_back({n, val});
  return out;
}

TEST(Cors, PreflightListed) {
  auto c = Cors::compile(cors({"https://www.foo.com"}, true, {"GET", "OPTIONS"},
                              {"x-header-1", "x-header-2"}, {"x-header-3", "x-header-4"}, 3600),
                         nullptr);
  auto h = hdrs({{"Origin", "https://www.foo.com"},
                 {"Access-Control-Request-Method", "GET"},
                 {"access-control-request-headers", "x-header-1, x-header-2"}});
  auto r = CorsRequest::inspect("OPTIONS", h);
  ASSERT_TRUE(r.preflight());
  std::string out;
  c.appendPreflight(r, out);
  EXPECT_EQ(out,
            "access-control-allow-origin: https://www.foo.com\r\n"
            "access-control-allow-credentials: true\r\n"
            "access-control-allow-methods: GET, OPTIONS\r\n"
            "access-control-allow-headers: x-header-1, x-header-2\r\n"
            "access-control-expose-headers: x-header-3, x-header-4\r\n"
            "access-control-max-age: 3600\r\n"
            "vary: origin\r\n");
  EXPECT_FALSE(CorsRequest::inspect("GET", h).preflight());
  EXPECT_FALSE(CorsRequest::inspect("OPTIONS", hdrs({{"Origin", "https://a"}})).preflight());
}

TEST(Cors, WildcardsWithAndWithoutCredentials) {
  auto h = hdrs({{"Origin", "https://other.foo.com"},
                 {"Access-Control-Request-Method", "PUT"},
                 {"Access-Control-Request-Headers", "x-header-1, x-header-2"}});
  auto r = CorsRequest::inspect("OPTIONS", h);
  std::string out;
  Cors::compile(cors({"*"}, true, {"*"}, {"*"}, {"*"}), nullptr).appendPreflight(r, out);
  // With credentials no '*' is returned: the request's method and headers are echoed.
  EXPECT_EQ(out,
            "access-control-allow-origin: https://other.foo.com\r\n"
            "access-control-allow-credentials: true\r\n"
            "access-control-allow-methods: PUT\r\n"
            "access-control-allow-headers: x-header-1, x-header-2\r\n"
            "access-control-max-age: 5\r\n"
            "vary: origin\r\n");
  out.clear();
  Cors::compile(cors({"*"}, false, {"*"}, {"*"}, {"*"}), nullptr).appendPreflight(r, out);
  EXPECT_EQ(out,
            "access-control-allow-origin: https://other.foo.com\r\n"
            "access-control-allow-methods: *\r\n"
            "access-control-allow-headers: *\r\n"
            "access-control-expose-headers: *\r\n"
            "access-control-max-age: 5\r\n"
            "vary: origin\r\n");
  // Credentials + "*" headers and no Access-Control-Request-Headers: the field is omitted.
  out.clear();
  auto r2 = CorsRequest::inspect(
      "OPTIONS", hdrs({{"Origin", "https://o.example"}, {"Access-Control-Request-Method", "GET"}}));
  Cors::compile(cors({"*"}, true, {"*"}, {"*"}), nullptr).appendPreflight(r2, out);
  EXPECT_EQ(out.find("access-control-allow-headers"), std::string::npos);
}

TEST(Cors, ActualRequest) {
  auto c = Cors::compile(cors({"https://www.foo.com"}, true, {}, {}, {"x-a"}), nullptr);
  auto r = CorsRequest::inspect("GET", hdrs({{"origin", "https://www.foo.com"}}));
  std::string out;
  c.appendActual(r, out);
  EXPECT_EQ(out,
            "access-control-allow-origin: https://www.foo.com\r\n"
            "access-control-allow-credentials: true\r\n"
            "access-control-expose-headers: x-a\r\n"
            "vary: origin\r\n");
  EXPECT_TRUE(isCorsResponseField("Access-Control-Allow-Origin"));
  EXPECT_FALSE(isCorsResponseField("access-control-max-age"));
}

TEST(RuleFilters, NoFiltersNoCost) {
  ir::Rule r;
  r.backends.push_back({"b", 1, {}});
  ir::HttpListener l;
  EXPECT_EQ(compileRuleFilters(r, l, 0, ir::Protocol::kHttp, 80, nullptr), nullptr);
  ir::Filter mirror;
  mirror.type = ir::FilterType::kRequestMirror;
  r.filters.push_back(mirror);
  EXPECT_EQ(compileRuleFilters(r, l, 0, ir::Protocol::kHttp, 80, nullptr), nullptr);
}

TEST(RuleFilters, PerBackendComposition) {
  ir::Rule r;
  ir::Filter rh;
  rh.type = ir::FilterType::kRequestHeaderModifier;
  rh.header_modifier.set.push_back({"X-Rule", "1"});
  r.filters.push_back(rh);
  ir::Filter rw;
  rw.type = ir::FilterType::kUrlRewrite;
  rw.rewrite.hostname = "rule.example";
  rw.rewrite.path = {ir::PathModifierType::kReplacePrefixMatch, "/new"};
  r.filters.push_back(rw);
  r.backends.push_back({"a", 1, {}});
  ir::WeightedBackend b{"b", 1, {}};
  ir::Filter bh;
  bh.type = ir::FilterType::kRequestHeaderModifier;
  bh.header_modifier.add.push_back({"X-Backend", "b"});
  b.filters.push_back(bh);
  ir::Filter brw;
  brw.type = ir::FilterType::kUrlRewrite;
  brw.rewrite.hostname = "b.example";
  b.filters.push_back(brw);
  r.backends.push_back(b);
  ir::HttpListener l;
  ir::RouteEntry e;
  e.match.path = {ir::PathMatchType::kPathPrefix, "/old"};
  e.rule = 0;
  l.entries.push_back(e);
  l.entries.push_back(e);  // another hostname, same match
  auto f = compileRuleFilters(r, l, 0, ir::Protocol::kHttp, 80, nullptr);
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->prefixes, std::vector<std::string>{"/old"});
  const BackendFilters* a = f->forBackend(0);
  const BackendFilters* bb = f->forBackend(1);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(bb, nullptr);
  EXPECT_EQ(a->request.lines(), "X-Rule: 1\r\n");
  EXPECT_EQ(bb->request.lines(), "X-Rule: 1\r\nX-Backend: b\r\n");
  EXPECT_EQ(a->host, "rule.example");
  EXPECT_EQ(bb->host, "b.example");
  EXPECT_TRUE(bb->rewritesPath());  // the rule's path rewrite still applies
}

}  // namespace
}  // namespace gantry::dataplane::filters

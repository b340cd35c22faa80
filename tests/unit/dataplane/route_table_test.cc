// Route matching over the IR (Gateway API HTTPRoute semantics) and the compiled table.
#include "dataplane/router/route_table.h"

#include <gtest/gtest.h>

namespace gantry::dataplane {
namespace {

ir::RouteEntry entry(std::string host, ir::PathMatchType type, std::string path, uint32_t rule) {
  ir::RouteEntry e;
  e.hostname = std::move(host);
  e.match.path.type = type;
  e.match.path.value = std::move(path);
  e.rule = rule;
  return e;
}

ir::Rule rule(std::string name, std::vector<std::pair<std::string, uint32_t>> backends = {}) {
  ir::Rule r;
  r.route = std::move(name);
  for (auto& [b, w] : backends) r.backends.push_back(ir::WeightedBackend{b, w, {}});
  return r;
}

struct Req {
  std::string method = "GET", host = "a.example", path = "/", query;
  std::vector<http1::Header> headers;
  RequestInfo info() const {
    RequestInfo r;
    r.method = method;
    r.host = host;
    r.path = path;
    r.query = query;
    r.headers = &headers;
    return r;
  }
};

std::string routeName(const RouteTable& t, const Req& r) {
  const CompiledRule* cr = t.route(0, r.info());
  return cr ? cr->ir->route : "404";
}

TEST(Hostname, Matching) {
  EXPECT_TRUE(hostnameMatches("", "anything"));
  EXPECT_TRUE(hostnameMatches("a.example", "a.example"));
  EXPECT_FALSE(hostnameMatches("a.example", "b.example"));
  EXPECT_TRUE(hostnameMatches("*.example", "a.example"));
  EXPECT_TRUE(hostnameMatches("*.example", "a.b.example"));  // one or more labels
  EXPECT_FALSE(hostnameMatches("*.example", "example"));
  EXPECT_FALSE(hostnameMatches("*.example", "aexample"));
}

TEST(PathPrefix, ElementWise) {
  EXPECT_TRUE(pathPrefixMatches("/", "/anything"));
  EXPECT_TRUE(pathPrefixMatches("/foo", "/foo"));
  EXPECT_TRUE(pathPrefixMatches("/foo", "/foo/"));
  EXPECT_TRUE(pathPrefixMatches("/foo", "/foo/bar"));
  EXPECT_FALSE(pathPrefixMatches("/foo", "/foobar"));
  EXPECT_TRUE(pathPrefixMatches("/foo/", "/foo"));  // trailing slash ignored
  EXPECT_TRUE(pathPrefixMatches("/foo/", "/foo/bar"));
  EXPECT_FALSE(pathPrefixMatches("/foo/bar", "/foo"));
}

class RouteTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = std::make_shared<ir::Snapshot>();
    ir::Port p;
    p.address = "127.0.0.1";
    p.port = 8080;
    ir::HttpListener exact;
    exact.name = "gw/exact";
    exact.hostname = "only.example";
    exact.rules.push_back(rule("only"));
    exact.entries.push_back(entry("only.example", ir::PathMatchType::kPathPrefix, "/", 0));
    ir::HttpListener any;
    any.name = "gw/any";
    any.rules = {rule("exact"),  rule("prefix"), rule("regex"), rule("header"), rule("query"),
                 rule("method"), rule("wild"),   rule("root"),  rule("hregex")};
    any.entries.push_back(entry("", ir::PathMatchType::kExact, "/exact", 0));
    any.entries.push_back(entry("", ir::PathMatchType::kPathPrefix, "/prefix", 1));
    any.entries.push_back(entry("", ir::PathMatchType::kRegularExpression, "/re/[0-9]+", 2));
    auto h = entry("", ir::PathMatchType::kPathPrefix, "/h", 3);
    h.match.headers.push_back(ir::HeaderMatch{ir::ValueMatchType::kExact, "x-version", "2"});
    any.entries.push_back(h);
    auto hr = entry("", ir::PathMatchType::kPathPrefix, "/h", 8);
    hr.match.headers.push_back(
        ir::HeaderMatch{ir::ValueMatchType::kRegularExpression, "x-version", "v[0-9]"});
    any.entries.push_back(hr);
    auto q = entry("", ir::PathMatchType::kPathPrefix, "/q", 4);
    q.match.query_params.push_back(ir::QueryParamMatch{ir::ValueMatchType::kExact, "a", "1"});
    any.entries.push_back(q);
    auto m = entry("", ir::PathMatchType::kPathPrefix, "/m", 5);
    m.match.method = "POST";
    any.entries.push_back(m);
    any.entries.push_back(entry("*.wild.example", ir::PathMatchType::kPathPrefix, "/", 6));
    any.entries.push_back(entry("", ir::PathMatchType::kPathPrefix, "/", 7));
    p.http_listeners.push_back(exact);
    p.http_listeners.push_back(any);
    s->ports.push_back(p);
    snapshot_ = s;
    table_ = RouteTable::build(s, &warnings_);
  }
  ir::SnapshotPtr snapshot_;
  RouteTablePtr table_;
  std::vector<std::string> warnings_;
};

TEST_F(RouteTableTest, PathMatchTypes) {
  Req r;
  r.path = "/exact";
  EXPECT_EQ(routeName(*table_, r), "exact");
  r.path = "/exact/";
  EXPECT_EQ(routeName(*table_, r), "root");
  r.path = "/prefix/x";
  EXPECT_EQ(routeName(*table_, r), "prefix");
  r.path = "/prefixx";
  EXPECT_EQ(routeName(*table_, r), "root");
  r.path = "/re/123";
  EXPECT_EQ(routeName(*table_, r), "regex");
  r.path = "/re/123x";  // RE2 full match
  EXPECT_EQ(routeName(*table_, r), "root");
}

TEST_F(RouteTableTest, HeadersCaseInsensitiveNames) {
  Req r;
  r.path = "/h";
  r.headers = {{"X-Version", "2"}};
  EXPECT_EQ(routeName(*table_, r), "header");
  r.headers = {{"x-version", "v7"}};
  EXPECT_EQ(routeName(*table_, r), "hregex");
  r.headers = {{"x-version", "3"}};
  EXPECT_EQ(routeName(*table_, r), "root");
}

TEST_F(RouteTableTest, QueryAndMethod) {
  Req r;
  r.path = "/q";
  r.query = "b=2&a=1";
  EXPECT_EQ(routeName(*table_, r), "query");
  r.query = "a=2";
  EXPECT_EQ(routeName(*table_, r), "root");
  r.path = "/m";
  EXPECT_EQ(routeName(*table_, r), "root");
  r.method = "POST";
  EXPECT_EQ(routeName(*table_, r), "method");
}

TEST_F(RouteTableTest, ListenerIsolationAndWildcards) {
  Req r;
  r.host = "only.example";
  r.path = "/exact";  // would match "exact" on the other listener, but isolation wins
  EXPECT_EQ(routeName(*table_, r), "only");
  r.host = "x.wild.example";
  r.path = "/";
  EXPECT_EQ(routeName(*table_, r), "wild");
  r.host = "a.b.wild.example";
  EXPECT_EQ(routeName(*table_, r), "wild");
  r.host = "wild.example";
  EXPECT_EQ(routeName(*table_, r), "root");
}

// The host index (exact hosts named by entries -> candidate entries) must keep the listener's
// entry order across exact, wildcard and "" entries, as the linear scan it replaces did.
TEST(RouteTable, HostIndexKeepsEntryOrderAcrossHostKinds) {
  auto s = std::make_shared<ir::Snapshot>();
  ir::Port p;
  p.address = "127.0.0.1";
  p.port = 8080;
  ir::HttpListener l;
  l.name = "gw/any";
  l.rules = {rule("exactA"),    rule("wild"),  rule("wideWild"), rule("any"),
             rule("exactRoot"), rule("other"), rule("deepWild")};
  l.entries.push_back(entry("a.wild.example", ir::PathMatchType::kPathPrefix, "/a", 0));
  l.entries.push_back(entry("*.wild.example", ir::PathMatchType::kPathPrefix, "/w", 1));
  l.entries.push_back(entry("*.example", ir::PathMatchType::kPathPrefix, "/e", 2));
  l.entries.push_back(entry("", ir::PathMatchType::kPathPrefix, "/any", 3));
  l.entries.push_back(entry("a.wild.example", ir::PathMatchType::kPathPrefix, "/", 4));
  l.entries.push_back(entry("other.example", ir::PathMatchType::kPathPrefix, "/", 5));
  l.entries.push_back(entry("*.deep.wild.example", ir::PathMatchType::kPathPrefix, "/", 6));
  p.http_listeners.push_back(l);
  s->ports.push_back(p);
  auto t = RouteTable::build(s, nullptr);
  auto at = [&](std::string host, std::string path) {
    Req r;
    r.host = std::move(host);
    r.path = std::move(path);
    return routeName(*t, r);
  };
  EXPECT_EQ(at("a.wild.example", "/a"), "exactA");
  EXPECT_EQ(at("a.wild.example", "/w"), "wild");
  EXPECT_EQ(at("a.wild.example", "/e"), "wideWild");
  EXPECT_EQ(at("a.wild.example", "/any"), "any");
  EXPECT_EQ(at("a.wild.example", "/zzz"), "exactRoot");
  // A host no entry names exactly: wildcard and "" entries only.
  EXPECT_EQ(at("z.wild.example", "/w"), "wild");
  EXPECT_EQ(at("z.wild.example", "/any"), "any");
  EXPECT_EQ(at("z.wild.example", "/zzz"), "404");
  EXPECT_EQ(at("x.deep.wild.example", "/zzz"), "deepWild");
  EXPECT_EQ(at("other.example", "/w"), "other");  // *.wild.example does not match it
  EXPECT_EQ(at("other.example", "/e"), "wideWild");
  EXPECT_EQ(at("other.example", "/zzz"), "other");
  EXPECT_EQ(at("example", "/e"), "404");  // a wildcard needs at least one label before it
  EXPECT_EQ(at("example", "/any"), "any");
}

TEST_F(RouteTableTest, UnknownPort) {
  Req r;
  EXPECT_EQ(table_->route(-1, r.info()), nullptr);
  EXPECT_EQ(table_->findPort("127.0.0.1", 8080), 0);
  EXPECT_EQ(table_->findPort("127.0.0.1", 8081), -1);
}

TEST(RouteTable, InvalidRegexEntryNeverMatchesAndIsReported) {
  auto s = std::make_shared<ir::Snapshot>();
  ir::Port p;
  ir::HttpListener l;
  l.rules = {rule("bad"), rule("good")};
  l.entries.push_back(entry("", ir::PathMatchType::kRegularExpression, "(", 0));
  l.entries.push_back(entry("", ir::PathMatchType::kPathPrefix, "/", 1));
  p.http_listeners.push_back(l);
  s->ports.push_back(p);
  std::vector<std::string> warnings;
  auto t = RouteTable::build(s, &warnings);
  EXPECT_EQ(warnings.size(), 1u);
  Req r;
  EXPECT_EQ(routeName(*t, r), "good");
}

TEST(RouteTable, BackendsWeightsAndInvalidRefs) {
  auto s = std::make_shared<ir::Snapshot>();
  ir::Backend b;
  b.name = "ns/svc:80";
  b.endpoints = {{"127.0.0.1", 1, 1}, {"127.0.0.2", 2, 0}, {"::1", 3, 2}};
  s->backends.push_back(b);
  ir::Port p;
  ir::HttpListener l;
  l.rules = {rule("r", {{"ns/svc:80", 3}, {"", 1}, {"missing", 1}, {"ns/svc:80", 0}})};
  l.entries.push_back(entry("", ir::PathMatchType::kPathPrefix, "/", 0));
  p.http_listeners.push_back(l);
  s->ports.push_back(p);
  auto t = RouteTable::build(s, nullptr);
  ASSERT_EQ(t->backendCount(), 1u);
  const CompiledBackend& cb = t->backend(0);
  EXPECT_EQ(cb.endpoints.size(), 2u);  // weight-0 endpoint left out
  EXPECT_EQ(cb.total_weight, 3u);
  Req r;
  const CompiledRule* cr = t->route(0, r.info());
  ASSERT_NE(cr, nullptr);
  ASSERT_EQ(cr->backends.size(), 3u);  // weight-0 backendRef never selected
  EXPECT_EQ(cr->backends[0], 0);
  EXPECT_EQ(cr->backends[1], kInvalidBackend);
  EXPECT_EQ(cr->backends[2], kUnknownBackend);
  EXPECT_EQ(cr->total_weight, 5u);
}

TEST(RouteTable, KeepsSnapshotAliveAndReleasesIt) {
  auto s = std::make_shared<ir::Snapshot>();
  std::weak_ptr<const ir::Snapshot> weak = s;
  auto t = RouteTable::build(s, nullptr);
  s.reset();
  EXPECT_FALSE(weak.expired());
  t.reset();
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace gantry::dataplane

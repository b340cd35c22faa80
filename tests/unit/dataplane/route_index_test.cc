// The RouteTable's host/path index must give exactly the result of a linear scan over the
// listener's entries in precedence order (the IR's contract). Randomised comparison against a
// reference written directly from the Gateway API rules.
#include <gtest/gtest.h>
#include <re2/re2.h>

#include <random>

#include "dataplane/router/route_table.h"

namespace gantry::dataplane {
namespace {

bool referenceMatches(const ir::RouteEntry& e, std::string_view host, std::string_view path) {
  if (!hostnameMatches(e.hostname, host)) return false;
  switch (e.match.path.type) {
    case ir::PathMatchType::kExact:
      return path == e.match.path.value;
    case ir::PathMatchType::kPathPrefix:
      return pathPrefixMatches(e.match.path.value, path);
    case ir::PathMatchType::kRegularExpression:
      return RE2::FullMatch(re2::StringPiece(path.data(), path.size()), RE2(e.match.path.value));
  }
  return false;
}

// Index of the rule a linear scan picks, or -1.
int reference(const ir::Port& port, std::string_view host, std::string_view path) {
  for (const auto& l : port.http_listeners) {
    if (!hostnameMatches(l.hostname, host)) continue;
    for (const auto& e : l.entries) {
      if (referenceMatches(e, host, path)) return static_cast<int>(e.rule);
    }
    return -1;
  }
  return -1;
}

TEST(RouteIndex, AgreesWithLinearScan) {
  std::mt19937 rng(12345);
  auto pick = [&](const std::vector<std::string>& v) { return v[rng() % v.size()]; };
  const std::vector<std::string> hosts = {"",
                                          "a.example",
                                          "b.example",
                                          "*.example",
                                          "*.a.example",
                                          "x.a.example",
                                          "*.b.example",
                                          "c.b.example"};
  const std::vector<std::string> paths = {"/",  "/a",    "/a/",   "/a/b",   "/a/b/", "/ab",
                                          "/b", "/a//b", "/a/bc", "/x/y/z", "/a/b/c"};
  const std::vector<std::string> regexes = {"/a/.*", "/[ab]", "/x/.+/z", ".*"};
  const std::vector<std::string> req_hosts = {"a.example",     "b.example",   "x.a.example",
                                              "y.x.a.example", "c.b.example", "example",
                                              "other.org",     "z.example"};
  for (int round = 0; round < 300; ++round) {
    auto s = std::make_shared<ir::Snapshot>();
    ir::Port p;
    p.port = 80;
    ir::HttpListener l;
    l.name = "gw/l";
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      ir::Rule r;
      r.route = std::to_string(i);
      l.rules.push_back(r);
      ir::RouteEntry e;
      e.hostname = pick(hosts);
      int t = static_cast<int>(rng() % 3);
      e.match.path.type = static_cast<ir::PathMatchType>(t);
      e.match.path.value = t == 2 ? pick(regexes) : pick(paths);
      e.rule = static_cast<uint32_t>(i);
      l.entries.push_back(e);
    }
    p.http_listeners.push_back(l);
    s->ports.push_back(p);
    auto table = RouteTable::build(s, nullptr);
    for (const auto& h : req_hosts) {
      for (const auto& path : paths) {
        RequestInfo ri;
        ri.method = "GET";
        ri.host = h;
        ri.path = path;
        std::vector<http1::Header> none;
        ri.headers = &none;
        const CompiledRule* got = table->route(0, ri);
        int want = reference(s->ports[0], h, path);
        int got_idx = got ? std::stoi(got->ir->route) : -1;
        ASSERT_EQ(got_idx, want) << "round " << round << " host " << h << " path " << path;
      }
    }
  }
}

}  // namespace
}  // namespace gantry::dataplane

// Route lookup cost against the number of routes on ONE listener (issue 4: with 10,000 routes a
// lookup must stay within 2x of its cost with 10 routes). Shapes:
//   Paths/N:     one hostname, N PathPrefix routes "/svc-<i>/" (+ every 10th an Exact route);
//                the request hits the route in the middle with a 3-segment path.
//   Hosts/N:     N routes over N/10 exact hostnames plus a wildcard listener-wide fallback
//                (the issue 3 benchmark's shape); request to a host in the middle.
//   Wildcard/N:  N routes on N wildcard hostnames "*.t<i>.example.com"; request to a.t<i>....
//   Miss/N:      Paths/N with a path no route matches (404 after the index is consulted).
// Run: build-*/bench_route_lookup --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <string>

#include "dataplane/router/route_table.h"

namespace {

using namespace gantry;
using dataplane::RequestInfo;
using dataplane::RouteTable;

ir::Rule rule(int i) {
  ir::Rule r;
  r.route = "HTTPRoute/default/r" + std::to_string(i);
  r.backends = {{"default/svc:80", 1, {}}};
  return r;
}

std::shared_ptr<const RouteTable> table(int shape, int n) {
  auto s = std::make_shared<ir::Snapshot>();
  ir::Backend b;
  b.name = "default/svc:80";
  b.endpoints = {{"127.0.0.1", 9, 1}};
  s->backends.push_back(b);
  ir::Port p;
  p.address = "127.0.0.1";
  p.port = 8080;
  ir::HttpListener l;
  l.name = "default/gw/http";
  for (int i = 0; i < n; ++i) {
    l.rules.push_back(rule(i));
    ir::RouteEntry e;
    e.rule = static_cast<uint32_t>(i);
    switch (shape) {
      case 0:  // Paths
      case 3:  // Miss
        e.hostname = "api.example.com";
        if (i % 10 == 9) {
          e.match.path = {ir::PathMatchType::kExact, "/svc-" + std::to_string(i) + "/health"};
        } else {
          e.match.path = {ir::PathMatchType::kPathPrefix, "/svc-" + std::to_string(i) + "/"};
        }
        break;
      case 1:  // Hosts
        e.hostname = "host-" + std::to_string(i / 10) + ".example.com";
        e.match.path = {ir::PathMatchType::kPathPrefix, "/r" + std::to_string(i % 10)};
        break;
      case 2:  // Wildcard
        e.hostname = "*.t" + std::to_string(i) + ".example.com";
        e.match.path = {ir::PathMatchType::kPathPrefix, "/"};
        break;
    }
    l.entries.push_back(std::move(e));
  }
  if (shape == 1) {
    l.rules.push_back(rule(n));
    ir::RouteEntry e;
    e.hostname = "*.example.com";
    e.rule = static_cast<uint32_t>(n);
    l.entries.push_back(e);
  }
  p.http_listeners.push_back(std::move(l));
  s->ports.push_back(std::move(p));
  return RouteTable::build(s, nullptr);
}

void lookup(benchmark::State& state, int shape) {
  const int n = static_cast<int>(state.range(0));
  auto t = table(shape, n);
  const int mid = n / 2 - (n / 2) % 10;  // a PathPrefix route in the Paths shape
  std::string host, path;
  switch (shape) {
    case 0:
      host = "api.example.com";
      path = "/svc-" + std::to_string(mid) + "/v1/items";
      break;
    case 1:
      host = "host-" + std::to_string(mid / 10) + ".example.com";
      path = "/r5/items/42";
      break;
    case 2:
      host = "a.t" + std::to_string(mid) + ".example.com";
      path = "/v1/items";
      break;
    case 3:
      host = "api.example.com";
      path = "/nothing/here/at/all";
      break;
  }
  std::vector<gantry::dataplane::http1::Header> headers = {
      {"host", host}, {"user-agent", "bench"}, {"accept", "*/*"}};
  RequestInfo ri;
  ri.method = "GET";
  ri.host = host;
  ri.path = path;
  ri.headers = &headers;
  const auto* expect = t->route(0, ri);
  if ((expect == nullptr) != (shape == 3)) {
    state.SkipWithError("lookup did not give the expected result");
    return;
  }
  for (auto _ : state) {
    const auto* r = t->route(0, ri);
    benchmark::DoNotOptimize(r);
  }
}

void BM_Paths(benchmark::State& s) { lookup(s, 0); }
void BM_Hosts(benchmark::State& s) { lookup(s, 1); }
void BM_Wildcard(benchmark::State& s) { lookup(s, 2); }
void BM_Miss(benchmark::State& s) { lookup(s, 3); }

BENCHMARK(BM_Paths)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_Hosts)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_Wildcard)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);
BENCHMARK(BM_Miss)->Arg(10)->Arg(100)->Arg(1000)->Arg(10000);

}  // namespace

BENCHMARK_MAIN();

// Per-request cost of the HTTPRoute filters (src/dataplane/filters), i.e. the work proxy.cc adds
// to a request whose rule has filters. A rule without filters pays one null-pointer test.
//   HeaderModifierRequest: 20 received fields checked against a modifier with 2 set, 2 add,
//                          2 remove (drops() per field) and its lines appended, into a reused
//                          string, as when the upstream head is written.
//   PathPrefixRewrite:     ReplacePrefixMatch of a 4-segment path into a reused string.
//   RedirectLocation:      a Location with scheme/host/port and a prefix replacement.
//   CorsActual:            inspect the request fields, match a wildcard origin, build the lines.
//   CorsPreflight:         the same for a preflight answer.
// Run: build-*/bench_filters
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "dataplane/filters/cors.h"
#include "dataplane/filters/header_modifier.h"
#include "dataplane/filters/path_modifier.h"
#include "dataplane/filters/redirect.h"

namespace {

using namespace gantry;
using namespace gantry::dataplane;

std::vector<std::string> g_store;

std::vector<http1::Header> requestFields(int n) {
  g_store.clear();
  g_store.reserve(static_cast<size_t>(2 * n));
  std::vector<http1::Header> out;
  for (int i = 0; i < n; ++i) {
    g_store.push_back("x-field-" + std::to_string(i));
    g_store.push_back("value-" + std::to_string(i));
  }
  for (int i = 0; i < n; ++i) out.push_back({g_store[2 * i], g_store[2 * i + 1]});
  return out;
}

void HeaderModifierRequest(benchmark::State& st) {
  ir::HeaderModifier m;
  m.set = {{"X-Env", "production"}, {"X-Field-3", "overwritten"}};
  m.add = {{"X-Trace", "edge"}, {"X-Field-5", "more"}};
  m.remove = {"x-field-7", "x-debug"};
  auto c = filters::HeaderModifier::compile({&m}, filters::Direction::kRequest, nullptr);
  auto fields = requestFields(20);
  std::string out;
  out.reserve(4096);
  for (auto _ : st) {
    out.clear();
    for (const auto& h : fields) {
      if (c.drops(h.name)) continue;
      out.append(h.name).append(": ").append(h.value).append("\r\n");
    }
    out.append(c.lines());
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(HeaderModifierRequest);

void PathPrefixRewrite(benchmark::State& st) {
  ir::PathModifier m{ir::PathModifierType::kReplacePrefixMatch, "/v2"};
  std::vector<std::string> prefixes = {"/api/v1"};
  std::string out;
  out.reserve(256);
  for (auto _ : st) {
    out.clear();
    filters::modifyPath(m, prefixes, "/api/v1/users/42", out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(PathPrefixRewrite);

void RedirectLocation(benchmark::State& st) {
  ir::RequestRedirect r;
  r.scheme = "https";
  r.hostname = "www.example.com";
  r.path = {ir::PathModifierType::kReplacePrefixMatch, "/new"};
  auto c = filters::Redirect::compile(r, "http", 8080, {"/old"});
  std::string out;
  out.reserve(256);
  for (auto _ : st) {
    out.clear();
    c.appendLocation("shop.example.com", "/old/items/7", true, "a=1", out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(RedirectLocation);

filters::Cors cors() {
  ir::Cors c;
  c.allow_origins = {"https://app.example.com", "https://*.preview.example.com"};
  c.allow_methods = {"GET", "POST", "PUT"};
  c.allow_headers = {"Authorization", "Content-Type"};
  c.expose_headers = {"X-Request-Id"};
  c.allow_credentials = true;
  return filters::Cors::compile(c, nullptr);
}

void CorsActual(benchmark::State& st) {
  auto c = cors();
  auto fields = requestFields(12);
  fields.push_back({"origin", "https://pr-42.preview.example.com"});
  std::string out;
  out.reserve(512);
  for (auto _ : st) {
    out.clear();
    auto r = filters::CorsRequest::inspect("GET", fields);
    if (r.has_origin && c.allows(r.origin)) c.appendActual(r, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(CorsActual);

void CorsPreflight(benchmark::State& st) {
  auto c = cors();
  auto fields = requestFields(8);
  fields.push_back({"origin", "https://app.example.com"});
  fields.push_back({"access-control-request-method", "PUT"});
  std::string out;
  out.reserve(512);
  for (auto _ : st) {
    out.clear();
    auto r = filters::CorsRequest::inspect("OPTIONS", fields);
    if (r.preflight() && c.allows(r.origin)) c.appendPreflight(r, out);
    benchmark::DoNotOptimize(out.data());
  }
}
BENCHMARK(CorsPreflight);

}  // namespace

BENCHMARK_MAIN();

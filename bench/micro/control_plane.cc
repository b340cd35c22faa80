// The control plane's stages at issue 3's scale, one at a time: the manifests written by
// bench/translate_scale/generate.py (10,000 HTTPRoutes over 1,000 hostnames) are
//   parsed (api::parseFile per file), translated (first translation, a re-translation with the
//   previous statuses, and the delta a one-route change costs), and compiled into a RouteTable
//   (Server::publish).
// The end-to-end figures (file write -> traffic) come from bench/translate_scale/run.py; this
// says where the time of one step goes, and is what `perf record` should be pointed at.
//
//   bench_control_plane                         # generates the manifests into a temporary folder
//   GANTRY_SCALE_DIR=/tmp/scale bench_control_plane --benchmark_filter=Translate
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "api/parse.h"
#include "controlplane/providers/files.h"
#include "controlplane/translate/incremental.h"
#include "controlplane/translate/translate.h"
#include "dataplane/router/route_table.h"

namespace {

namespace fs = std::filesystem;
using namespace gantry;

std::string scaleDir() {
  static const std::string dir = [] {
    if (const char* d = std::getenv("GANTRY_SCALE_DIR"); d && *d) return std::string(d);
    std::string out = (fs::temp_directory_path() / "gantry-bench-control-plane").string();
    if (!fs::exists(out + "/00-gateway.yaml")) {
      const fs::path gen =
          fs::path(__FILE__).parent_path().parent_path() / "translate_scale/generate.py";
      const std::string cmd = "python3 " + gen.string() + " " + out + " > /dev/null";
      if (std::system(cmd.c_str()) != 0) std::abort();
    }
    return out;
  }();
  return dir;
}

const std::vector<api::SourceFile>& sources() {
  static const std::vector<api::SourceFile> files = [] {
    std::vector<api::SourceFile> out;
    auto listed = controlplane::providers::listManifestFiles(scaleDir());
    if (!listed.isOk()) std::abort();
    for (const auto& path : *listed) {
      std::ifstream in(path, std::ios::binary);
      std::ostringstream ss;
      ss << in.rdbuf();
      out.push_back(api::SourceFile{path, ss.str()});
    }
    return out;
  }();
  return files;
}

// The objects as the provider hands them to the translator (metadata assigned).
std::shared_ptr<const api::ObjectSet> providerObjects() {
  static std::unique_ptr<controlplane::providers::FileProvider> provider;
  if (!provider) {
    controlplane::providers::FileProviderOptions o;
    o.dir = scaleDir();
    provider = std::make_unique<controlplane::providers::FileProvider>(o);
    if (!provider->loadAll().isOk()) std::abort();
  }
  return provider->objects();
}

controlplane::TranslateOptions options() {
  controlplane::TranslateOptions o;
  o.now = "2026-01-01T00:00:00Z";
  return o;
}

void BM_ParseAll(benchmark::State& state) {
  size_t bytes = 0;
  for (const auto& f : sources()) bytes += f.content.size();
  for (auto _ : state) {
    api::ParseResult r;
    for (const auto& f : sources()) api::parseFile(f, r);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes * state.iterations()));
}
BENCHMARK(BM_ParseAll)->Unit(benchmark::kMillisecond)->UseRealTime();

// Read + parse + provider bookkeeping, on Arg threads (0 = one per core); CPU of all threads.
void BM_LoadAll(benchmark::State& state) {
  for (auto _ : state) {
    controlplane::providers::FileProviderOptions o;
    o.dir = scaleDir();
    o.parse_threads = static_cast<unsigned>(state.range(0));
    controlplane::providers::FileProvider provider(o);
    benchmark::DoNotOptimize(provider.loadAll());
  }
}
BENCHMARK(BM_LoadAll)
    ->Arg(1)
    ->Arg(0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->MeasureProcessCPUTime();

void BM_TranslateFirst(benchmark::State& state) {
  auto objects = providerObjects();
  const auto o = options();
  for (auto _ : state) benchmark::DoNotOptimize(controlplane::translate(*objects, o));
}
BENCHMARK(BM_TranslateFirst)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_TranslateAgain(benchmark::State& state) {  // what each change does
  auto objects = providerObjects();
  const auto o = options();
  const auto previous = controlplane::translate(*objects, o).statuses;
  for (auto _ : state) benchmark::DoNotOptimize(controlplane::translate(*objects, o, previous));
}
BENCHMARK(BM_TranslateAgain)->Unit(benchmark::kMillisecond)->UseRealTime();

// The first translation as the controller runs it: traced, and the delta state built from it
// (compare with BM_TranslateFirst: what start-up pays for later deltas).
void BM_TranslateFirstIncremental(benchmark::State& state) {
  auto objects = providerObjects();
  const auto o = options();
  for (auto _ : state) {
    controlplane::IncrementalTranslator inc;
    benchmark::DoNotOptimize(inc.translate(*objects, o, nullptr, 1));
  }
}
BENCHMARK(BM_TranslateFirstIncremental)->Unit(benchmark::kMillisecond)->UseRealTime();

// What a one-route change costs on the controller's path (IncrementalTranslator): the objects
// alternate between two sets that differ in one HTTPRoute's hostname, so every iteration is a
// delta (re-translate one route, splice it into the previous snapshot and statuses).
void BM_TranslateDelta(benchmark::State& state) {
  auto objects = providerObjects();
  api::ObjectSet changed = *objects;
  auto& route = changed.http_routes[changed.http_routes.size() / 2];
  route.hostnames = {"changed.example.com"};
  ++route.metadata.spec_hash;
  ++route.metadata.generation;
  const auto o = options();
  controlplane::IncrementalTranslator inc;
  auto previous = inc.translate(*objects, o, nullptr, 1).statuses;
  uint64_t version = 1;
  size_t deltas = 0;
  for (auto _ : state) {
    ++version;
    auto r = inc.translate(version % 2 ? *objects : changed, o, previous, version);
    deltas += r.incremental ? 1 : 0;
    previous = r.statuses;
    benchmark::DoNotOptimize(r);
  }
  state.counters["delta_share"] =
      static_cast<double>(deltas) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_TranslateDelta)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RouteTableBuild(benchmark::State& state) {
  auto objects = providerObjects();
  auto snap =
      std::make_shared<const ir::Snapshot>(controlplane::translate(*objects, options()).snapshot);
  for (auto _ : state) {
    std::vector<std::string> warnings;
    benchmark::DoNotOptimize(dataplane::RouteTable::build(snap, &warnings));
  }
}
BENCHMARK(BM_RouteTableBuild)->Unit(benchmark::kMillisecond)->UseRealTime();

// What the last holder of a replaced snapshot pays: freeing its RouteTable and ir::Snapshot. The
// last holder is usually a worker (it drops its LocalTable when it swaps), so this is time a
// worker spends before its next request after each publish.
void BM_SnapshotRelease(benchmark::State& state) {
  auto objects = providerObjects();
  const auto o = options();
  for (auto _ : state) {
    state.PauseTiming();
    auto snap = std::make_shared<const ir::Snapshot>(controlplane::translate(*objects, o).snapshot);
    auto table = dataplane::RouteTable::build(snap, nullptr);
    snap.reset();
    state.ResumeTiming();
    table.reset();
  }
}
BENCHMARK(BM_SnapshotRelease)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();

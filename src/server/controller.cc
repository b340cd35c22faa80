// The standalone controller: file provider -> translate -> Server::publish, plus the admin API.
// See docs/config-propagation.md for the pipeline and its timings.
#include "server/controller.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <exception>
#include <mutex>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "controlplane/providers/files.h"
#include "controlplane/translate/incremental.h"
#include "server/admin.h"

namespace gantry::server {

namespace {

std::string rfc3339Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t steadyUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// What Server::publish could not do, recovered from its message ("addr:port: reason; ...").
struct HostFacts {
  std::vector<std::string> unusable_addresses;
  std::vector<std::pair<std::string, uint16_t>> unavailable_ports;
  bool empty() const { return unusable_addresses.empty() && unavailable_ports.empty(); }
};

HostFacts parsePublishErrors(const std::string& message) {
  HostFacts facts;
  size_t pos = 0;
  while (pos < message.size()) {
    size_t end = message.find("; ", pos);
    if (end == std::string::npos) end = message.size();
    const std::string piece = message.substr(pos, end - pos);
    pos = end + 2;
    // "<address>:<port>: <reason>"; IPv6 addresses contain ':' too, so split at ": ".
    const size_t sep = piece.find(": ");
    if (sep == std::string::npos) continue;
    const std::string where = piece.substr(0, sep);
    const std::string reason = piece.substr(sep + 2);
    const size_t colon = where.rfind(':');
    if (colon == std::string::npos) continue;
    std::string address = where.substr(0, colon);
    if (address.size() > 1 && address.front() == '[')
      address = address.substr(1, address.size() - 2);
    const long port = std::strtol(where.c_str() + colon + 1, nullptr, 10);
    if (port <= 0 || port > 65535) continue;
    if (reason.find("not served yet") != std::string::npos) continue;  // not a host fact
    // EADDRNOTAVAIL: the address is not on this host (Gateway spec.addresses).
    if (reason.find("assign requested address") != std::string::npos || reason == "bad address") {
      if (std::find(facts.unusable_addresses.begin(), facts.unusable_addresses.end(), address) ==
          facts.unusable_addresses.end()) {
        facts.unusable_addresses.push_back(address);
      }
      continue;
    }
    facts.unavailable_ports.emplace_back(address, static_cast<uint16_t>(port));
  }
  return facts;
}

struct ReloadStats {
  uint64_t snapshots = 0;  // snapshots published by this controller
  uint64_t translate_failures = 0;
  uint64_t last_translate_us = 0;
  uint64_t last_publish_us = 0;
  uint64_t last_reconcile_us = 0;  // provider change seen -> snapshot published
  // The last change's path from its first inotify event (0: not from the watcher): coalescing
  // wait, provider apply (read + parse + merge), translate, publish, workers swapped.
  uint64_t last_event_steady_us = 0;
  uint64_t last_wait_us = 0;
  uint64_t last_files_us = 0;
  uint64_t last_publish_start_steady_us = 0;
  // The last translation: a delta (only the changed HTTPRoutes re-translated) or a full one.
  bool last_incremental = false;
  uint64_t last_routes_translated = 0;
};

class ControllerImpl : public Controller {
 public:
  ControllerImpl(ControllerOptions options, Server& server)
      : options_(std::move(options)), server_(server) {}
  ~ControllerImpl() override { stop(); }

  Status init() {
    if (!options_.config_dir.empty()) {
      controlplane::providers::FileProviderOptions po;
      po.dir = options_.config_dir;
      provider_ = std::make_unique<controlplane::providers::FileProvider>(po);
      if (auto st = provider_->loadAll(); !st.isOk()) return st;
      reconcile();
    }
    if (!options_.admin_address.empty()) {
      AdminSource src;
      src.statuses = [this] {
        std::lock_guard lock(mu_);
        return *statuses_;
      };
      src.errors = [this] { return errors(); };
      src.snapshot = [this] { return server_.current(); };
      src.ready = [this] {
        // In --snapshot mode there is no provider: the caller published before starting us.
        return ready_.load() || (!provider_ && server_.current() != nullptr);
      };
      src.stats_json = [this] { return statsJson(); };
      auto admin = AdminServer::start(options_.admin_address, std::move(src));
      if (!admin.isOk()) return admin.status();
      admin_ = std::move(admin.value());
    }
    if (provider_) {
      auto st = provider_->startWatching([this] { reconcile(); });
      if (!st.isOk()) {
        // Serving the initial load without live reload is better than not serving at all.
        spdlog::error("config: watching {} failed ({}); changes will not be applied",
                      options_.config_dir, st.message());
      }
    }
    return Status::ok();
  }

  void stop() override {
    if (stopped_.exchange(true)) return;
    if (provider_) provider_->stop();
    if (admin_) admin_->stop();
  }

 private:
  // Objects -> translate -> publish. Runs on the caller of start() once, then on the provider's
  // watch thread (never concurrently: the watch thread is the only caller after init).
  // The IncrementalTranslator gives translate()'s result, as a delta of the previous one when
  // only HTTPRoutes changed (controlplane/translate/incremental.h).
  bool translateInto(const api::ObjectSet& objects, const controlplane::TranslateOptions& topts,
                     const std::shared_ptr<const std::vector<api::ObjectStatus>>& previous,
                     uint64_t version, controlplane::IncrementalResult& out) {
    try {
      out = incremental_.translate(objects, topts, previous, version, /*defer_statuses=*/true);
      return true;
    } catch (const std::exception& e) {
      // The translator does not throw by contract; if it does anyway, the last good snapshot
      // keeps serving and the failure is reported.
      spdlog::error("config: translation failed: {}; the previous snapshot keeps serving",
                    e.what());
      std::lock_guard lock(mu_);
      ++stats_.translate_failures;
      runtime_errors_ = {api::ValidationError{options_.config_dir, 0, "", "",
                                              fmt::format("translation failed: {}", e.what())}};
      return false;
    }
  }

  void reconcile() {
    const uint64_t t0 = steadyUs();
    const controlplane::providers::ProviderStats pstats = provider_->stats();
    auto objects = provider_->objects();
    controlplane::TranslateOptions topts = options_.translate;
    topts.now = rfc3339Now();

    // Shared, not copied: at 10,000 routes a copy of the statuses costs milliseconds.
    std::shared_ptr<const std::vector<api::ObjectStatus>> previous;
    {
      std::lock_guard lock(mu_);
      previous = statuses_;
    }
    controlplane::IncrementalResult result;
    if (!translateInto(*objects, topts, previous, version_ + 1, result)) return;
    ++version_;
    const uint64_t t1 = steadyUs();

    auto snap = result.snapshot;
    Status published = server_.publish(snap);
    const Status first_publish = published;  // what the host refused, for GET /errors
    if (!published.isOk()) {
      // The host said no to some (address, port) pairs: translate again with those facts so that
      // status says so (AddressNotUsable / PortUnavailable), against the same `previous` so that
      // lastTransitionTime stays stable. Each reload retries the binds, so a port freed later is
      // picked up by the next change.
      HostFacts facts = parsePublishErrors(published.message());
      if (!facts.empty()) {
        topts.unusable_addresses = std::move(facts.unusable_addresses);
        topts.unavailable_ports = std::move(facts.unavailable_ports);
        controlplane::IncrementalResult second;
        if (translateInto(*objects, topts, previous, version_ + 1, second)) {
          ++version_;
          snap = second.snapshot;
          published = server_.publish(snap);
          result.statuses = std::move(second.statuses);
        }
      }
    }
    const uint64_t t2 = steadyUs();
    // A delta's statuses are built once its snapshot is out (incremental.h).
    if (!result.statuses) {
      try {
        result.statuses = incremental_.finishStatuses();
      } catch (const std::exception& e) {
        spdlog::error("config: statuses failed: {}", e.what());
      }
      if (!result.statuses) result.statuses = previous;
    }

    {
      std::lock_guard lock(mu_);
      statuses_ = result.statuses;
      runtime_errors_.clear();
      for (const Status* st : std::initializer_list<const Status*>{&first_publish, &published}) {
        if (st->isOk() || (st == &published && st->message() == first_publish.message())) continue;
        runtime_errors_.push_back(
            api::ValidationError{"", 0, "", "", fmt::format("publish: {}", st->message())});
      }
      ++stats_.snapshots;
      stats_.last_translate_us = t1 - t0;
      stats_.last_publish_us = t2 - t1;
      stats_.last_reconcile_us = t2 - t0;
      stats_.last_event_steady_us = pstats.last_event_steady_us;
      stats_.last_wait_us = pstats.last_wait_us;
      stats_.last_files_us = pstats.last_apply_us;
      stats_.last_publish_start_steady_us = t1;
      stats_.last_incremental = result.incremental;
      stats_.last_routes_translated = result.routes_translated;
    }
    ready_.store(true);
    if (!published.isOk()) spdlog::warn("config: publish: {}", published.message());
    // The change's path, step by step (docs/config-propagation.md): the provider's read + parse +
    // merge of the changed files, then translate, then publish (RouteTable build, binds, swap).
    const auto pt = server_.lastPublishTimings();
    spdlog::info(
        "config: snapshot {} published ({} ports): files {:.1f} ms, translate {:.1f} ms ({}), "
        "publish {:.1f} ms",
        snap->version, snap->ports.size(), pstats.last_apply_us / 1000.0, (t1 - t0) / 1000.0,
        result.incremental ? fmt::format("delta: {} HTTPRoutes re-translated, {} taken out",
                                         result.routes_translated, result.routes_removed)
                           : fmt::format("full: {}", result.full_reason),
        (t2 - t1) / 1000.0);
    if (pstats.last_event_steady_us != 0) {
      // The whole path of a watched change, each step's start relative to its first event.
      spdlog::debug(
          "config: change spans (ms): coalescing wait {:.1f}, read+parse+merge {:.1f}, "
          "translate {:.1f}, route table {:.1f}, publish {:.1f}, workers swapped {}; event -> "
          "published {:.1f}",
          pstats.last_wait_us / 1000.0, pstats.last_apply_us / 1000.0, (t1 - t0) / 1000.0,
          pt.route_table_us / 1000.0, (t2 - t1) / 1000.0,
          pt.version == snap->version && pt.swapped_us != 0
              ? fmt::format("{:.1f} after publish start", pt.swapped_us / 1000.0)
              : std::string("pending"),
          (t2 - pstats.last_event_steady_us) / 1000.0);
    }
  }

  std::vector<api::ValidationError> errors() const {
    std::vector<api::ValidationError> out;
    if (provider_) out = provider_->errors();
    std::lock_guard lock(mu_);
    out.insert(out.end(), runtime_errors_.begin(), runtime_errors_.end());
    return out;
  }

  std::string statsJson() const {
    controlplane::providers::ProviderStats ps;
    if (provider_) ps = provider_->stats();
    const auto pt = server_.lastPublishTimings();
    std::lock_guard lock(mu_);
    // "last_change": the last watched change's spans, in microseconds from its first event:
    // wait (coalescing), files (read + parse + merge), translate, route_table, publish, and
    // event_to_swapped (every worker on the new table; 0 while not all have swapped).
    const ReloadStats& s = stats_;
    uint64_t event_to_swapped = 0;
    if (s.last_event_steady_us != 0 && pt.swapped_us != 0 &&
        s.last_publish_start_steady_us >= s.last_event_steady_us) {
      event_to_swapped = s.last_publish_start_steady_us - s.last_event_steady_us + pt.swapped_us;
    }
    return fmt::format(
        "{{\"snapshots\":{},\"translate_failures\":{},\"last_translate_us\":{},"
        "\"last_publish_us\":{},\"last_reconcile_us\":{},\"last_route_table_us\":{},"
        "\"last_swapped_us\":{},\"last_change\":{{\"wait_us\":{},\"files_us\":{},"
        "\"translate_us\":{},\"route_table_us\":{},\"publish_us\":{},"
        "\"event_to_swapped_us\":{},\"incremental\":{},\"routes_translated\":{}}},"
        "\"provider\":{{\"reloads\":{},"
        "\"events\":{},\"files\":{},\"objects\":{},\"last_apply_us\":{}}}}}\n",
        s.snapshots, s.translate_failures, s.last_translate_us, s.last_publish_us,
        s.last_reconcile_us, pt.route_table_us, pt.swapped_us,
        s.last_event_steady_us ? s.last_wait_us : 0, s.last_event_steady_us ? s.last_files_us : 0,
        s.last_event_steady_us ? s.last_translate_us : 0, pt.route_table_us,
        s.last_event_steady_us ? s.last_publish_us : 0, event_to_swapped, s.last_incremental,
        s.last_routes_translated, ps.reloads, ps.events, ps.files, ps.objects, ps.last_apply_us);
  }

  ControllerOptions options_;
  Server& server_;
  std::unique_ptr<controlplane::providers::FileProvider> provider_;
  std::unique_ptr<AdminServer> admin_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<api::ObjectStatus>> statuses_ =
      std::make_shared<const std::vector<api::ObjectStatus>>();
  std::vector<api::ValidationError> runtime_errors_;
  ReloadStats stats_;
  controlplane::IncrementalTranslator incremental_;  // the watch thread's (see translateInto)
  uint64_t version_ = 0;
  std::atomic<bool> ready_{false};
  std::atomic<bool> stopped_{false};
};

}  // namespace

StatusOr<std::unique_ptr<Controller>> Controller::start(const ControllerOptions& options,
                                                        Server& server) {
  auto c = std::make_unique<ControllerImpl>(options, server);
  if (auto st = c->init(); !st.isOk()) return st;
  return std::unique_ptr<Controller>(std::move(c));
}

}  // namespace gantry::server

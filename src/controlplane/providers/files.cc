#include "controlplane/providers/files.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace gantry::controlplane::providers {

namespace fs = std::filesystem;

namespace {

std::string systemNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A random (version 4) UUID, as the API server assigns to metadata.uid.
std::string newUid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff,
                     hi & 0xffff, lo >> 48, lo & 0xffffffffffffULL);
}

// Calls f(kind, vector) for every vector of an ObjectSet (L4 routes carry their kind per element).
template <typename Set, typename F>
void forEachVector(Set& s, F&& f) {
  f("GatewayClass", s.gateway_classes);
  f("Gateway", s.gateways);
  f("ListenerSet", s.listener_sets);
  f("HTTPRoute", s.http_routes);
  f("GRPCRoute", s.grpc_routes);
  f("", s.l4_routes);
  f("ReferenceGrant", s.reference_grants);
  f("BackendTLSPolicy", s.backend_tls_policies);
  f("Namespace", s.namespaces);
  f("Service", s.services);
  f("EndpointSlice", s.endpoint_slices);
  f("Secret", s.secrets);
  f("ConfigMap", s.config_maps);
}

// Same, over two sets at once (source and destination of the same type member).
template <typename F>
void forEachVectorPair(const api::ObjectSet& src, api::ObjectSet& dst, F&& f) {
  f("GatewayClass", src.gateway_classes, dst.gateway_classes);
  f("Gateway", src.gateways, dst.gateways);
  f("ListenerSet", src.listener_sets, dst.listener_sets);
  f("HTTPRoute", src.http_routes, dst.http_routes);
  f("GRPCRoute", src.grpc_routes, dst.grpc_routes);
  f("", src.l4_routes, dst.l4_routes);
  f("ReferenceGrant", src.reference_grants, dst.reference_grants);
  f("BackendTLSPolicy", src.backend_tls_policies, dst.backend_tls_policies);
  f("Namespace", src.namespaces, dst.namespaces);
  f("Service", src.services, dst.services);
  f("EndpointSlice", src.endpoint_slices, dst.endpoint_slices);
  f("Secret", src.secrets, dst.secrets);
  f("ConfigMap", src.config_maps, dst.config_maps);
}

template <typename T>
std::string_view kindOf(std::string_view list_kind, const T&) {
  return list_kind;
}
std::string_view kindOf(std::string_view, const api::L4Route& r) { return r.kind; }

template <typename T>
std::string objectKey(std::string_view list_kind, const T& o) {
  return fmt::format("{}/{}/{}", kindOf(list_kind, o), o.metadata.namespace_, o.metadata.name);
}

// The forms an error's `object` may take for this object ("Kind ns/name"; cluster-scoped kinds
// as "Kind name" or "Kind /name").
template <typename T>
bool errorNames(const api::ValidationError& e, std::string_view list_kind, const T& o) {
  const auto kind = kindOf(list_kind, o);
  const auto& m = o.metadata;
  if (e.object == fmt::format("{} {}/{}", kind, m.namespace_, m.name)) return true;
  return m.namespace_.empty() && e.object == fmt::format("{} {}", kind, m.name);
}

template <typename T>
std::string objectLabel(std::string_view list_kind, const T& o) {
  const auto& m = o.metadata;
  if (m.namespace_.empty()) return fmt::format("{} {}", kindOf(list_kind, o), m.name);
  return fmt::format("{} {}/{}", kindOf(list_kind, o), m.namespace_, m.name);
}

size_t objectCount(const api::ObjectSet& s) {
  size_t n = 0;
  forEachVector(s, [&](std::string_view, const auto& v) { n += v.size(); });
  return n;
}

bool hasPrefixDir(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

StatusOr<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::error(fmt::format("{}: read error", path));
  return ss.str();
}

uint64_t nowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool isManifestFile(const std::string& path) {
  const auto name = fs::path(path).filename().string();
  if (name.empty() || name[0] == '.') return false;  // hidden, editor swap files, "..data"
  auto ends = [&](std::string_view suffix) {
    return name.size() > suffix.size() &&
           name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".yaml") || ends(".yml") || ends(".json");
}

StatusOr<std::vector<std::string>> listManifestFiles(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Status::error(
        fmt::format("{}: not a readable folder{}", dir, ec ? ": " + ec.message() : std::string()));
  }
  std::vector<std::string> out;
  // Follows symlinked folders (ConfigMap volumes), but skips hidden entries so that "..data" and
  // the timestamped "..2024_..." folders behind it are not read twice.
  fs::recursive_directory_iterator it(dir,
                                      fs::directory_options::follow_directory_symlink |
                                          fs::directory_options::skip_permission_denied,
                                      ec);
  if (ec) return Status::error(fmt::format("{}: {}", dir, ec.message()));
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const auto name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (it.depth() > 32) {  // symlink loops
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file(ec) && isManifestFile(it->path().string())) {
      out.push_back(it->path().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

struct FileProvider::FileState {
  size_t content_hash = 0;
  bool parsed_once = false;
  api::ObjectSet objects;  // what this file contributes now (its last good objects)
  std::vector<api::ValidationError> errors;
};

FileProvider::FileProvider(FileProviderOptions options) : options_(std::move(options)) {
  if (!options_.now) options_.now = systemNow;
  // Normalise: no trailing slash, so prefix tests work.
  while (options_.dir.size() > 1 && options_.dir.back() == '/') options_.dir.pop_back();
  merged_ = std::make_shared<const api::ObjectSet>();
}

FileProvider::~FileProvider() { stop(); }

Status FileProvider::loadAll() {
  auto files = listManifestFiles(options_.dir);
  if (!files.isOk()) return files.status();
  std::lock_guard lock(mu_);
  const uint64_t t0 = nowUs();
  // Files that vanished since a previous load.
  std::set<std::string> present(files->begin(), files->end());
  for (auto it = files_.begin(); it != files_.end();) {
    it = present.count(it->first) ? std::next(it) : files_.erase(it);
  }
  for (const auto& f : *files) reparseFileLocked(f);
  rebuildLocked();
  stats_.last_apply_us = nowUs() - t0;
  return Status::ok();
}

void FileProvider::applyChanges(const std::vector<std::string>& paths) {
  std::lock_guard lock(mu_);
  applyLocked(paths);
}

void FileProvider::applyLocked(const std::vector<std::string>& paths) {
  const uint64_t t0 = nowUs();
  bool changed = false;
  std::set<std::string> unique(paths.begin(), paths.end());
  for (const auto& raw : unique) {
    std::string path = raw;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      changed |= forgetLocked(path);
    } else if (fs::is_directory(st)) {
      auto listed = listManifestFiles(path);
      if (!listed.isOk()) continue;
      std::set<std::string> now(listed->begin(), listed->end());
      for (auto it = files_.begin(); it != files_.end();) {
        if (hasPrefixDir(it->first, path) && !now.count(it->first)) {
          it = files_.erase(it);
          changed = true;
        } else {
          ++it;
        }
      }
      for (const auto& f : *listed) changed |= reparseFileLocked(f);
    } else if (isManifestFile(path)) {
      changed |= reparseFileLocked(path);
    }
  }
  if (changed) {
    rebuildLocked();
    ++stats_.reloads;
  }
  stats_.last_apply_us = nowUs() - t0;
}

bool FileProvider::forgetLocked(const std::string& path) {
  bool changed = false;
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->first == path || hasPrefixDir(it->first, path)) {
      it = files_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

bool FileProvider::reparseFileLocked(const std::string& path) {
  auto content = readFile(path);
  auto& slot = files_[path];
  if (!slot) slot = std::make_unique<FileState>();
  FileState& st = *slot;
  if (!content.isOk()) {
    // Unreadable (permissions, or removed between the event and now): keep what it defined.
    st.errors = {api::ValidationError{path, 0, "", "", content.status().message()}};
    return true;
  }
  const size_t h = std::hash<std::string>{}(*content);
  if (st.parsed_once && h == st.content_hash) return false;  // touch, or a write of the same bytes
  st.content_hash = h;

  api::ParseResult r;
  api::parseFile(api::SourceFile{path, *content}, r);
  const bool broken = std::any_of(r.errors.begin(), r.errors.end(),
                                  [](const api::ValidationError& e) { return e.object.empty(); });
  if (broken && st.parsed_once) {
    // The document itself is broken (syntax): the file keeps serving what it last defined.
    const size_t kept = objectCount(st.objects);
    st.errors = std::move(r.errors);
    if (kept > 0) {
      st.errors.push_back(api::ValidationError{
          path, 0, "", "",
          fmt::format("file not applied; the {} object(s) it last defined keep serving", kept)});
    }
    spdlog::warn("config: {} has errors; keeping its last good objects ({})", path, kept);
    for (const auto& e : st.errors) spdlog::warn("config: {}", e.toString());
    return true;
  }

  // Objects whose new version is invalid keep their previous version, as the API server would
  // have refused the update and kept serving the stored object.
  if (st.parsed_once && !r.errors.empty()) {
    forEachVectorPair(
        st.objects, r.objects, [&](std::string_view kind, const auto& old_v, auto& new_v) {
          for (const auto& old_obj : old_v) {
            const bool rejected = std::any_of(r.errors.begin(), r.errors.end(), [&](const auto& e) {
              return errorNames(e, kind, old_obj);
            });
            if (!rejected) continue;
            const auto key = objectKey(kind, old_obj);
            const bool present = std::any_of(new_v.begin(), new_v.end(), [&](const auto& n) {
              return objectKey(kind, n) == key;
            });
            if (!present) new_v.push_back(old_obj);
          }
        });
  }
  for (const auto& e : r.errors) spdlog::warn("config: {}", e.toString());
  st.objects = std::move(r.objects);
  st.errors = std::move(r.errors);
  st.parsed_once = true;
  return true;
}

void FileProvider::rebuildLocked() {
  auto merged = std::make_shared<api::ObjectSet>();
  std::vector<api::ValidationError> errors;
  std::map<std::string, std::pair<std::string, int>> seen;  // key -> (file, line)
  for (const auto& [path, st] : files_) {
    errors.insert(errors.end(), st->errors.begin(), st->errors.end());
    forEachVectorPair(st->objects, *merged, [&](std::string_view kind, const auto& src, auto& dst) {
      for (const auto& o : src) {
        auto key = objectKey(kind, o);
        auto [it, inserted] = seen.emplace(key, std::make_pair(path, o.source.line));
        if (!inserted) {
          errors.push_back(api::ValidationError{
              path, o.source.line, objectLabel(kind, o), "metadata.name",
              fmt::format("already defined at {}:{}; this definition is ignored", it->second.first,
                          it->second.second)});
          continue;
        }
        dst.push_back(o);
      }
    });
  }

  // The API server's metadata bookkeeping.
  std::string now;  // computed lazily: one timestamp for everything first seen in this reload
  std::set<std::string> alive;
  forEachVector(*merged, [&](std::string_view kind, auto& v) {
    for (auto& o : v) {
      auto key = objectKey(kind, o);
      alive.insert(key);
      auto& m = o.metadata;
      auto it = meta_.find(key);
      if (it == meta_.end()) {
        if (now.empty()) now = options_.now();
        ObjectMetaRecord rec;
        rec.uid = m.uid.empty() ? newUid() : m.uid;
        rec.creation_timestamp = m.creation_timestamp.empty() ? now : m.creation_timestamp;
        rec.generation = m.generation > 0 ? m.generation : 1;
        rec.spec_hash = m.spec_hash;
        rec.resource_version = std::to_string(++resource_version_);
        it = meta_.emplace(key, std::move(rec)).first;
      } else {
        auto& rec = it->second;
        const bool spec_changed = rec.spec_hash != m.spec_hash;
        if (m.generation > 0) {
          rec.generation = m.generation;  // the manifest says so
        } else if (spec_changed) {
          ++rec.generation;
        }
        if (!m.creation_timestamp.empty()) rec.creation_timestamp = m.creation_timestamp;
        if (!m.uid.empty()) rec.uid = m.uid;
        if (spec_changed) rec.resource_version = std::to_string(++resource_version_);
        rec.spec_hash = m.spec_hash;
      }
      m.uid = it->second.uid;
      m.creation_timestamp = it->second.creation_timestamp;
      m.generation = it->second.generation;
      if (m.resource_version.empty()) m.resource_version = it->second.resource_version;
    }
  });
  // Deleted objects are forgotten: if one comes back it is a new object (new uid, generation 1).
  for (auto it = meta_.begin(); it != meta_.end();) {
    it = alive.count(it->first) ? std::next(it) : meta_.erase(it);
  }

  stats_.files = files_.size();
  stats_.objects = objectCount(*merged);
  merged_ = std::move(merged);
  merged_errors_ = std::move(errors);
}

std::shared_ptr<const api::ObjectSet> FileProvider::objects() const {
  std::lock_guard lock(mu_);
  return merged_;
}

std::vector<api::ValidationError> FileProvider::errors() const {
  std::lock_guard lock(mu_);
  return merged_errors_;
}

ProviderStats FileProvider::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

// ------------------------------------------------------------------------------------------------
// inotify
// ------------------------------------------------------------------------------------------------

namespace {
// IN_CLOSE_WRITE rather than IN_MODIFY: a file is read once its writer closed it, not half
// written. Editors that write a temporary file and rename it into place produce IN_MOVED_TO.
constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE |
                                IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ATTRIB | IN_ONLYDIR;
}  // namespace

void FileProvider::addWatchesRecursive(const std::string& dir,
                                       std::vector<std::string>* new_files) {
  std::vector<std::string> stack{dir};
  int guard = 0;
  while (!stack.empty() && ++guard < 100000) {
    std::string d = std::move(stack.back());
    stack.pop_back();
    int wd = inotify_add_watch(inotify_fd_, d.c_str(), kWatchMask);
    if (wd < 0) {
      spdlog::warn("config: cannot watch {}: {}", d, std::strerror(errno));
      continue;
    }
    auto [it, inserted] = watch_dirs_.emplace(wd, d);
    if (!inserted) {
      if (it->second != d)
        it->second = d;  // same inode seen through another path
      else if (d != dir)
        continue;  // already watched (symlink loop)
    }
    std::error_code ec;
    for (fs::directory_iterator di(d, ec), end; !ec && di != end; di.increment(ec)) {
      const auto name = di->path().filename().string();
      if (name.empty() || name[0] == '.') continue;
      if (di->is_directory(ec)) {
        stack.push_back(di->path().string());
      } else if (new_files && isManifestFile(name)) {
        new_files->push_back(di->path().string());
      }
    }
  }
}

Status FileProvider::startWatching(std::function<void()> on_change) {
  on_change_ = std::move(on_change);
  inotify_fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) return Status::error(fmt::format("inotify_init1: {}", std::strerror(errno)));
  stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (stop_fd_ < 0) return Status::error(fmt::format("eventfd: {}", std::strerror(errno)));
  addWatchesRecursive(options_.dir, nullptr);
  if (watch_dirs_.empty()) return Status::error(fmt::format("cannot watch {}", options_.dir));
  // Anything written between loadAll() and the watches being in place.
  {
    std::lock_guard lock(mu_);
    applyLocked({options_.dir});
  }
  thread_ = std::thread([this] { watchLoop(); });
  return Status::ok();
}

void FileProvider::stop() {
  if (stopping_.exchange(true)) return;
  if (stop_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
  inotify_fd_ = stop_fd_ = -1;
}

void FileProvider::watchLoop() {
  using Clock = std::chrono::steady_clock;
  std::vector<std::string> pending;
  Clock::time_point first{}, last{};
  alignas(inotify_event) char buf[64 * 1024];

  while (!stopping_.load()) {
    int timeout = -1;
    if (!pending.empty()) {
      const auto now = Clock::now();
      const auto quiet = last + std::chrono::milliseconds(options_.debounce_ms);
      const auto cap = first + std::chrono::milliseconds(options_.max_delay_ms);
      const auto due = std::min(quiet, cap);
      timeout =
          due <= now
              ? 0
              : static_cast<int>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(due - now).count()) +
                    1;
    }
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int rc = ::poll(fds, 2, timeout);
    if (rc < 0 && errno != EINTR) {
      spdlog::error("config: poll: {}", std::strerror(errno));
      break;
    }
    if (fds[1].revents) break;
    if (rc > 0 && (fds[0].revents & POLLIN)) {
      for (;;) {
        ssize_t n = ::read(inotify_fd_, buf, sizeof buf);
        if (n <= 0) break;
        for (char* p = buf; p < buf + n;) {
          auto* ev = reinterpret_cast<inotify_event*>(p);
          p += sizeof(inotify_event) + ev->len;
          {
            std::lock_guard lock(mu_);
            ++stats_.events;
          }
          if (ev->mask & IN_Q_OVERFLOW) {
            spdlog::warn("config: inotify queue overflow; rescanning {}", options_.dir);
            pending.push_back(options_.dir);
            continue;
          }
          auto wit = watch_dirs_.find(ev->wd);
          if (ev->mask & IN_IGNORED) {
            if (wit != watch_dirs_.end()) watch_dirs_.erase(wit);
            continue;
          }
          if (wit == watch_dirs_.end()) continue;
          const std::string dir = wit->second;
          if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
            pending.push_back(dir);  // gone (or moved away): forget what it held
            if (ev->mask & IN_MOVE_SELF) {
              inotify_rm_watch(inotify_fd_, ev->wd);
              watch_dirs_.erase(ev->wd);
            }
            continue;
          }
          if (ev->len == 0) continue;
          const std::string name = ev->name;
          const std::string path = dir + "/" + name;
          if (name == "..data" && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
            // A Kubernetes ConfigMap/Secret volume swapped its "..data" symlink: every file in
            // the folder (symlinks through ..data) may have new content.
            pending.push_back(dir);
            continue;
          }
          if (ev->mask & IN_ISDIR) {
            if (!name.empty() && name[0] == '.') continue;
            if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
              // A new folder: watch it, and read what was put into it before the watch existed.
              addWatchesRecursive(path, nullptr);
            } else if (ev->mask & IN_MOVED_FROM) {
              for (auto it = watch_dirs_.begin(); it != watch_dirs_.end();) {
                if (it->second == path || hasPrefixDir(it->second, path)) {
                  inotify_rm_watch(inotify_fd_, it->first);
                  it = watch_dirs_.erase(it);
                } else {
                  ++it;
                }
              }
            }
            pending.push_back(path);
            continue;
          }
          if (ev->mask & IN_CREATE) {
            // A new regular file is read on IN_CLOSE_WRITE, when its content is complete; a
            // symlink (ConfigMap volumes, `ln -s`) is complete when created.
            struct stat lst {};
            if (::lstat(path.c_str(), &lst) != 0 || !S_ISLNK(lst.st_mode)) continue;
          }
          if (!isManifestFile(name)) continue;
          pending.push_back(path);
        }
        const auto now = Clock::now();
        if (!pending.empty()) {
          if (first == Clock::time_point{}) first = now;
          last = now;
        }
      }
    }
    if (pending.empty()) continue;
    const auto now = Clock::now();
    if (now < last + std::chrono::milliseconds(options_.debounce_ms) &&
        now < first + std::chrono::milliseconds(options_.max_delay_ms)) {
      continue;
    }
    std::vector<std::string> batch;
    batch.swap(pending);
    first = last = Clock::time_point{};
    uint64_t before;
    {
      std::lock_guard lock(mu_);
      before = stats_.reloads;
      applyLocked(batch);
      if (stats_.reloads == before) continue;  // nothing actually changed
    }
    if (on_change_) on_change_();
  }
}

}  // namespace gantry::controlplane::providers

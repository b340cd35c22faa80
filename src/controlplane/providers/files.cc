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
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string_view>
#include <thread>
#include <tuple>
#include <type_traits>
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

// Calls f(vector) for the vector of `s` that holds objects of `kind`.
template <typename F>
void withVector(api::ObjectSet& s, std::string_view kind, F&& f) {
  if (kind == "GatewayClass") return f(s.gateway_classes);
  if (kind == "Gateway") return f(s.gateways);
  if (kind == "ListenerSet") return f(s.listener_sets);
  if (kind == "HTTPRoute") return f(s.http_routes);
  if (kind == "GRPCRoute") return f(s.grpc_routes);
  if (kind == "TLSRoute" || kind == "TCPRoute" || kind == "UDPRoute") return f(s.l4_routes);
  if (kind == "ReferenceGrant") return f(s.reference_grants);
  if (kind == "BackendTLSPolicy") return f(s.backend_tls_policies);
  if (kind == "Namespace") return f(s.namespaces);
  if (kind == "Service") return f(s.services);
  if (kind == "EndpointSlice") return f(s.endpoint_slices);
  if (kind == "Secret") return f(s.secrets);
  if (kind == "ConfigMap") return f(s.config_maps);
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

// Keys are "Kind/namespace/name" (namespace "" for cluster-scoped kinds).
std::string_view kindOfKey(std::string_view key) { return key.substr(0, key.find('/')); }

// The object as error messages name it: "Kind ns/name", or "Kind name" for cluster-scoped kinds
// (with cluster_short=false, "Kind /name", the other spelling an error may use).
std::string labelFromKey(std::string_view key, bool cluster_short = true) {
  const size_t a = key.find('/');
  const size_t b = key.find('/', a + 1);
  const auto kind = key.substr(0, a);
  const auto ns = key.substr(a + 1, b - a - 1);
  const auto name = key.substr(b + 1);
  if (ns.empty() && cluster_short) return fmt::format("{} {}", kind, name);
  return fmt::format("{} {}/{}", kind, ns, name);
}

template <typename T>
std::string objectLabel(std::string_view list_kind, const T& o) {
  const auto& m = o.metadata;
  if (m.namespace_.empty()) return fmt::format("{} {}", kindOf(list_kind, o), m.name);
  return fmt::format("{} {}/{}", kindOf(list_kind, o), m.namespace_, m.name);
}

bool hasPrefixDir(const std::string& path, const std::string& dir) {
  return path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
         path[dir.size()] == '/';
}

StatusOr<std::string> readWholeFile(const std::string& path) {
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
  // The objects this file defines now (including last-good ones kept from earlier versions):
  // key -> line. Whether its object is the one in the merged set is owner_'s business.
  std::map<std::string, int> keys;
  std::vector<api::ValidationError> errors;
};

struct FileProvider::ReadResult {
  bool read = false;  // false: `error` says why
  std::string error;
  std::string content;
  size_t content_hash = 0;
  bool parsed = false;  // `result` holds api::parseFile(content)
  api::ParseResult result;
};

struct FileProvider::Batch {
  bool changed = false;
  std::set<std::string> force_reparse;  // files whose duplicate now has to take over
  std::set<std::string> maybe_gone;     // keys no file might define any more
};

FileProvider::FileProvider(FileProviderOptions options) : options_(std::move(options)) {
  if (!options_.now) options_.now = systemNow;
  // Normalise: no trailing slash, so prefix tests work.
  while (options_.dir.size() > 1 && options_.dir.back() == '/') options_.dir.pop_back();
  merged_ = std::make_shared<api::ObjectSet>();
  merged_->keys_unique = true;  // one object per key: see defineKeyLocked
  merged_readers_ = std::make_shared<Readers>();
}

FileProvider::~FileProvider() { stop(); }

Status FileProvider::loadAll() {
  auto files = listManifestFiles(options_.dir);
  if (!files.isOk()) return files.status();
  std::lock_guard lock(mu_);
  const uint64_t t0 = nowUs();
  ensureUniqueLocked();
  Batch batch;
  // Files that vanished since a previous load.
  std::set<std::string> present(files->begin(), files->end());
  std::vector<std::string> gone;
  for (const auto& [path, st] : files_) {
    if (!present.count(path)) gone.push_back(path);
  }
  for (const auto& g : gone) forgetLocked(g, batch);
  reparseAllLocked(*files, batch);
  finishBatchLocked(batch);
  stats_.last_apply_us = nowUs() - t0;
  stats_.last_event_steady_us = stats_.last_wait_us = 0;
  return Status::ok();
}

void FileProvider::applyChanges(const std::vector<std::string>& paths) {
  std::lock_guard lock(mu_);
  applyLocked(paths);
  stats_.last_event_steady_us = stats_.last_wait_us = 0;
}

void FileProvider::applyLocked(const std::vector<std::string>& paths) {
  const uint64_t t0 = nowUs();
  ensureUniqueLocked();
  Batch batch;
  std::set<std::string> unique;
  for (auto p : paths) {
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    unique.insert(std::move(p));
  }
  for (const auto& path : unique) {
    std::error_code ec;
    auto st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      forgetLocked(path, batch);
    } else if (fs::is_directory(st)) {
      auto listed = listManifestFiles(path);
      if (!listed.isOk()) continue;
      std::set<std::string> now(listed->begin(), listed->end());
      std::vector<std::string> gone;
      for (const auto& [f, fst] : files_) {
        if (hasPrefixDir(f, path) && !now.count(f)) gone.push_back(f);
      }
      for (const auto& g : gone) forgetLocked(g, batch);
      reparseAllLocked(*listed, batch);
    } else if (isManifestFile(path)) {
      reparseFileLocked(path, batch, false);
    }
  }
  finishBatchLocked(batch);
  if (batch.changed) ++stats_.reloads;
  stats_.last_apply_us = nowUs() - t0;
}

void FileProvider::ensureUniqueLocked() {
  // A reader (the translator, usually already done) still holds the current set: it is
  // immutable for that reader, so this batch works on a copy. Positions are preserved.
  bool shared;
  {
    std::lock_guard lock(merged_readers_->mu);
    shared = merged_readers_->count > 0;
  }
  if (shared) {
    merged_ = std::make_shared<api::ObjectSet>(*merged_);
    merged_readers_ = std::make_shared<Readers>();
  }
  batch_now_.clear();
}

void FileProvider::finishBatchLocked(Batch& batch) {
  // A file whose duplicate definition has to take over (the winning file dropped the object) is
  // re-read; bounded, since each round only ever moves ownership to a later file.
  for (int round = 0; !batch.force_reparse.empty() && round < 1000; ++round) {
    auto todo = std::move(batch.force_reparse);
    batch.force_reparse.clear();
    for (const auto& f : todo) {
      if (files_.count(f)) reparseFileLocked(f, batch, true);
    }
  }
  // Deleted objects are forgotten: if one comes back it is a new object (new uid, generation
  // 1). Done at the end of the batch so that an object moved between files in one batch keeps
  // its identity.
  for (const auto& k : batch.maybe_gone) {
    if (!defs_.count(k)) meta_.erase(k);
  }
  if (!batch.changed) return;

  std::vector<api::ValidationError> errors;
  for (const auto& [path, st] : files_) {
    errors.insert(errors.end(), st->errors.begin(), st->errors.end());
  }
  // Duplicates: every definition but the owner's is reported where it is.
  std::vector<api::ValidationError> dups;
  for (const auto& [key, paths] : defs_) {
    if (paths.size() < 2) continue;
    const auto& owner = owner_.at(key);
    const int owner_line = files_.at(owner)->keys.at(key);
    for (const auto& p : paths) {
      if (p == owner) continue;
      dups.push_back(api::ValidationError{
          p, files_.at(p)->keys.at(key), labelFromKey(key), "metadata.name",
          fmt::format("already defined at {}:{}; this definition is ignored", owner, owner_line)});
    }
  }
  std::sort(dups.begin(), dups.end(), [](const auto& a, const auto& b) {
    return std::tie(a.file, a.line, a.object) < std::tie(b.file, b.line, b.object);
  });
  errors.insert(errors.end(), dups.begin(), dups.end());
  merged_errors_ = std::move(errors);
  stats_.files = files_.size();
  stats_.objects = index_.size();
}

bool FileProvider::forgetLocked(const std::string& path, Batch& batch) {
  std::vector<std::string> gone;
  for (const auto& [f, st] : files_) {
    if (f == path || hasPrefixDir(f, path)) gone.push_back(f);
  }
  for (const auto& f : gone) {
    auto& st = *files_.at(f);
    for (const auto& [key, line] : st.keys) dropKeyLocked(f, key, batch);
    files_.erase(f);
    batch.changed = true;
  }
  return !gone.empty();
}

void FileProvider::dropKeyLocked(const std::string& path, const std::string& key, Batch& batch) {
  auto d = defs_.find(key);
  if (d == defs_.end()) return;
  d->second.erase(path);
  auto own = owner_.find(key);
  if (own != owner_.end() && own->second == path) {
    removeObjectLocked(key);
    owner_.erase(own);
    // The next file (in path order) that defines it serves it now.
    if (!d->second.empty()) batch.force_reparse.insert(*d->second.begin());
  }
  if (d->second.empty()) {
    defs_.erase(d);
    batch.maybe_gone.insert(key);
  }
}

void FileProvider::removeObjectLocked(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  const size_t pos = it->second;
  index_.erase(it);
  withVector(*merged_, kindOfKey(key), [&](auto& vec) {
    // Order within a vector is not meaningful (api::ObjectSet): swap with the last and pop.
    if (pos + 1 != vec.size()) {
      vec[pos] = std::move(vec.back());
      index_[objectKey(kindOfKey(key), vec[pos])] = pos;
    }
    vec.pop_back();
  });
}

template <typename T>
void FileProvider::assignMetaLocked(const std::string& key, T& o) {
  auto& m = o.metadata;
  auto it = meta_.find(key);
  if (it == meta_.end()) {
    if (batch_now_.empty()) batch_now_ = options_.now();
    ObjectMetaRecord rec;
    rec.uid = m.uid.empty() ? newUid() : m.uid;
    rec.creation_timestamp = m.creation_timestamp.empty() ? batch_now_ : m.creation_timestamp;
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
      ++rec.generation;  // as the API server does on a spec change
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

template <typename T>
void FileProvider::defineKeyLocked(const std::string& path, const std::string& key, T&& o) {
  defs_[key].insert(path);
  auto own = owner_.find(key);
  if (own != owner_.end() && own->second != path) {
    if (own->second < path) return;  // an earlier file defines it: reported as a duplicate
    removeObjectLocked(key);         // a later file's definition gives way to this one
  }
  assignMetaLocked(key, o);
  owner_[key] = path;
  auto idx = index_.find(key);
  withVector(*merged_, kindOfKey(key), [&](auto& vec) {
    using Elem = typename std::decay_t<decltype(vec)>::value_type;
    if constexpr (std::is_same_v<Elem, std::decay_t<T>>) {
      if (idx != index_.end()) {
        vec[idx->second] = std::forward<T>(o);
      } else {
        index_[key] = vec.size();
        vec.push_back(std::forward<T>(o));
      }
    }
  });
}

void FileProvider::readFile(const std::string& path, ReadResult& out) {
  auto content = readWholeFile(path);
  if (!content.isOk()) {
    out.error = content.status().message();
    return;
  }
  out.read = true;
  out.content = std::move(*content);
  out.content_hash = std::hash<std::string>{}(out.content);
}

void FileProvider::reparseAllLocked(const std::vector<std::string>& paths, Batch& batch) {
  unsigned threads = options_.parse_threads != 0
                         ? options_.parse_threads
                         : std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, paths.size()));
  if (threads <= 1) {
    for (const auto& f : paths) reparseFileLocked(f, batch, false);
    return;
  }
  // Which files are known with which bytes (read here, under the lock, not by the readers).
  std::vector<std::optional<size_t>> known(paths.size());
  for (size_t i = 0; i < paths.size(); ++i) {
    auto it = files_.find(paths[i]);
    if (it != files_.end() && it->second->parsed_once) known[i] = it->second->content_hash;
  }
  std::vector<ReadResult> results(paths.size());
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < paths.size();) {
      try {
        // Read first, parse only if the bytes changed (a rescan of an unchanged folder is cheap).
        readFile(paths[i], results[i]);
        auto& r = results[i];
        if (r.read && (!known[i] || *known[i] != r.content_hash)) {
          api::parseFile(api::SourceFile{paths[i], r.content}, r.result);
          r.parsed = true;
        }
      } catch (const std::exception& e) {  // allocation failure: reported as unreadable
        results[i] = ReadResult{};
        results[i].error = fmt::format("{}: {}", paths[i], e.what());
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  // Applied in path order, exactly as one file at a time would be (first file wins duplicates).
  for (size_t i = 0; i < paths.size(); ++i) reparseFileLocked(paths[i], batch, false, &results[i]);
}

bool FileProvider::reparseFileLocked(const std::string& path, Batch& batch, bool force,
                                     ReadResult* pre) {
  ReadResult own;
  ReadResult& in = pre ? *pre : own;
  if (!pre) readFile(path, own);
  auto& slot = files_[path];
  if (!slot) slot = std::make_unique<FileState>();
  FileState& st = *slot;
  if (!in.read) {
    // Unreadable (permissions, or removed between the event and now): keep what it defined.
    st.errors = {api::ValidationError{path, 0, "", "", in.error}};
    batch.changed = true;
    return true;
  }
  const size_t h = in.content_hash;
  if (!force && st.parsed_once && h == st.content_hash) return false;  // touch, same bytes
  st.content_hash = h;

  if (!in.parsed) {
    api::parseFile(api::SourceFile{path, in.content}, in.result);
    in.parsed = true;
  }
  api::ParseResult& r = in.result;
  batch.changed = true;
  const bool broken = std::any_of(r.errors.begin(), r.errors.end(),
                                  [](const api::ValidationError& e) { return e.object.empty(); });
  if (broken && st.parsed_once) {
    // The document itself is broken (syntax): the file keeps serving what it last defined.
    st.errors = std::move(r.errors);
    if (!st.keys.empty()) {
      st.errors.push_back(api::ValidationError{
          path, 0, "", "",
          fmt::format("file not applied; the {} object(s) it last defined keep serving",
                      st.keys.size())});
    }
    spdlog::warn("config: {} has errors; keeping its last good objects ({})", path, st.keys.size());
    for (const auto& e : st.errors) spdlog::warn("config: {}", e.toString());
    return true;
  }
  for (const auto& e : r.errors) spdlog::warn("config: {}", e.toString());

  // Keys the new content defines.
  std::map<std::string, int> new_keys;
  forEachVector(r.objects, [&](std::string_view kind, const auto& vec) {
    for (const auto& o : vec) new_keys.emplace(objectKey(kind, o), o.source.line);
  });
  // Objects whose new version is invalid keep their previous version, as the API server would
  // have refused the update and kept serving the stored object.
  std::map<std::string, int> kept;
  if (st.parsed_once && !r.errors.empty()) {
    for (const auto& [key, line] : st.keys) {
      if (new_keys.count(key)) continue;
      const auto label = labelFromKey(key, /*cluster_short=*/false);
      const auto short_label = labelFromKey(key, /*cluster_short=*/true);
      const bool rejected = std::any_of(r.errors.begin(), r.errors.end(), [&](const auto& e) {
        return e.object == label || e.object == short_label;
      });
      if (rejected) kept.emplace(key, line);
    }
  }
  // What this file no longer defines.
  std::vector<std::string> dropped;
  for (const auto& [key, line] : st.keys) {
    if (!new_keys.count(key) && !kept.count(key)) dropped.push_back(key);
  }
  for (const auto& key : dropped) dropKeyLocked(path, key, batch);
  // The new definitions (a second definition in the same file is reported and ignored).
  std::set<std::string> seen_here;
  forEachVector(r.objects, [&](std::string_view kind, auto& vec) {
    for (auto& o : vec) {
      auto key = objectKey(kind, o);
      if (!seen_here.insert(key).second) {
        r.errors.push_back(
            api::ValidationError{path, o.source.line, objectLabel(kind, o), "metadata.name",
                                 fmt::format("already defined at {}:{}; this definition is ignored",
                                             path, new_keys.at(key))});
        continue;
      }
      defineKeyLocked(path, key, std::move(o));
    }
  });
  new_keys.insert(kept.begin(), kept.end());
  st.keys = std::move(new_keys);
  st.errors = std::move(r.errors);
  st.parsed_once = true;
  return true;
}

std::shared_ptr<const api::ObjectSet> FileProvider::objects() const {
  std::lock_guard lock(mu_);
  auto readers = merged_readers_;
  {
    std::lock_guard rlock(readers->mu);
    ++readers->count;
  }
  // The returned pointer keeps the set alive and, when dropped, tells the writer (under the
  // readers' mutex, so the reader's reads happen before the writer's next in-place update).
  return std::shared_ptr<const api::ObjectSet>(
      merged_.get(), [set = merged_, readers](const api::ObjectSet*) mutable {
        {
          std::lock_guard rlock(readers->mu);
          --readers->count;
        }
        set.reset();
      });
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
  // Anything written between loadAll() and the watches being in place (the admin API is already
  // up then, so a client that saw /readyz may have written): applied and, when it changed
  // something, reconciled like any watched change -- otherwise it would wait for the next event.
  bool changed;
  {
    std::lock_guard lock(mu_);
    const uint64_t before = stats_.reloads;
    applyLocked({options_.dir});
    changed = stats_.reloads != before;
  }
  if (changed && on_change_) on_change_();
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
  Clock::time_point last_apply{};  // end of the last applied batch
  // The quiet time of the batch being gathered: short for the first event after an idle period,
  // the full debounce while a burst goes on.
  auto quietMs = [&] {
    const bool idle = last_apply == Clock::time_point{} ||
                      first - last_apply >= std::chrono::milliseconds(options_.idle_ms);
    return idle ? std::min(options_.first_debounce_ms, options_.debounce_ms) : options_.debounce_ms;
  };
  alignas(inotify_event) char buf[64 * 1024];

  while (!stopping_.load()) {
    // The folder itself was replaced (`mv cfg.new cfg`) or re-created: watch the new one. Its
    // parent is not watched, so while it is missing this loop polls for it.
    const bool root_watched = std::any_of(watch_dirs_.begin(), watch_dirs_.end(),
                                          [&](const auto& w) { return w.second == options_.dir; });
    if (!root_watched) {
      std::error_code ec;
      if (fs::is_directory(options_.dir, ec)) {
        addWatchesRecursive(options_.dir, nullptr);
        pending.push_back(options_.dir);
        if (first == Clock::time_point{}) first = Clock::now();
        last = Clock::now();
      }
    }
    int timeout = root_watched ? -1 : 250;
    if (!pending.empty()) {
      const auto now = Clock::now();
      const auto quiet = last + std::chrono::milliseconds(quietMs());
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
              // Watches follow the inode, not the path: drop this folder's and its subfolders'.
              for (auto it = watch_dirs_.begin(); it != watch_dirs_.end();) {
                if (it->second == dir || hasPrefixDir(it->second, dir)) {
                  inotify_rm_watch(inotify_fd_, it->first);
                  it = watch_dirs_.erase(it);
                } else {
                  ++it;
                }
              }
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
    if (now < last + std::chrono::milliseconds(quietMs()) &&
        now < first + std::chrono::milliseconds(options_.max_delay_ms)) {
      continue;
    }
    std::vector<std::string> batch;
    batch.swap(pending);
    const uint64_t first_us = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(first.time_since_epoch()).count());
    first = last = Clock::time_point{};
    last_apply = now;
    uint64_t before;
    {
      std::lock_guard lock(mu_);
      before = stats_.reloads;
      const uint64_t start_us = nowUs();
      applyLocked(batch);
      if (stats_.reloads == before) continue;  // nothing actually changed
      stats_.last_event_steady_us = first_us;
      stats_.last_wait_us = start_us > first_us ? start_us - first_us : 0;
    }
    if (on_change_) on_change_();
    last_apply = Clock::now();
  }
}

}  // namespace gantry::controlplane::providers

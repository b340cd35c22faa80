// The standalone file provider: every *.yaml, *.yml and *.json under a folder (recursively) is an
// object source. The folder is watched with inotify; changes are coalesced (short debounce) and
// re-applied well within the 100 ms budget of issue 3.
//
// Semantics the provider owns (the API server's, in standalone mode):
//  - Per-file last-good: a file whose content cannot be parsed (a broken document) keeps serving
//    the objects it last defined; an object whose new version is invalid keeps its previous
//    version (the API server would have rejected the update). The errors are reported.
//  - metadata.generation / creationTimestamp are taken from the manifest when given, otherwise
//    assigned at first sight (generation 1, creationTimestamp = now); generation is incremented
//    whenever the object's spec changes (api::ObjectMeta::spec_hash). uid is stable per object
//    for as long as the object exists; an object that disappears and comes back is a new object.
//  - An object defined by two files: the first file (by path order) wins; the other is reported.
//
// Threading: loadAll() and the accessors may be called from any thread; the watch thread calls
// the change callback (never concurrently with itself).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "api/objects.h"
#include "api/parse.h"
#include "common/status.h"

namespace gantry::controlplane::providers {

struct FileProviderOptions {
  std::string dir;
  // Quiet time after the last event before applying: bursts (an editor's write + rename, `cp -r`)
  // become one reload.
  uint32_t debounce_ms = 15;
  // The quiet time for the first event after an idle period (no apply for idle_ms): a single
  // edit (an editor's write + rename + chmod happen within a millisecond) should not wait the
  // full debounce; a burst that goes on past this first apply is coalesced with debounce_ms.
  uint32_t first_debounce_ms = 4;
  uint32_t idle_ms = 50;
  // Upper bound from the first event of a burst to the reload, so that a continuous stream of
  // writes cannot postpone it beyond the budget.
  uint32_t max_delay_ms = 60;
  // RFC 3339 "now" (tests inject a fake clock). Default: the system clock, UTC, second precision.
  std::function<std::string()> now;
  // Threads that read and parse files when many change at once (the initial load, a folder
  // rescan): files are independent, and parsing is most of the start-up time. 0 = one per core.
  unsigned parse_threads = 0;
};

// Every manifest file under `dir`, recursively, sorted by path. Hidden entries (".*") are
// skipped, as are Kubernetes ConfigMap-volume internals ("..data" is followed only through its
// symlinks at the top level).
StatusOr<std::vector<std::string>> listManifestFiles(const std::string& dir);
bool isManifestFile(const std::string& path);

// Statistics, for the admin API and tests.
struct ProviderStats {
  uint64_t reloads = 0;        // applied change batches (not counting loadAll)
  uint64_t events = 0;         // inotify events seen
  uint64_t files = 0;          // manifest files currently known
  uint64_t objects = 0;        // objects in the merged set
  uint64_t last_apply_us = 0;  // duration of the last read+parse+merge
  // The last applied watch batch: its first inotify event, as steady_clock microseconds since
  // the clock's epoch (0: the last apply was not from the watcher), and how long the batch
  // waited from that event to the start of its apply (coalescing delay).
  uint64_t last_event_steady_us = 0;
  uint64_t last_wait_us = 0;
};

// What the provider remembers about an object between reloads (the API server's bookkeeping).
struct ObjectMetaRecord {
  std::string uid;
  std::string creation_timestamp;
  int64_t generation = 0;
  uint64_t spec_hash = 0;
  std::string resource_version;
};

class FileProvider {
 public:
  explicit FileProvider(FileProviderOptions options);
  ~FileProvider();
  FileProvider(const FileProvider&) = delete;
  FileProvider& operator=(const FileProvider&) = delete;

  // Reads the whole folder. Fails only if the folder itself is unreadable.
  Status loadAll();

  // Re-reads the given paths (files or folders; a missing path means deleted). Used by the
  // watcher, and by tests to drive the provider without inotify timing.
  void applyChanges(const std::vector<std::string>& paths);

  // The merged object set, with metadata assigned (immutable; a new set per change).
  std::shared_ptr<const api::ObjectSet> objects() const;
  // Every problem currently reported (parse and validation errors, duplicates, unreadable files).
  std::vector<api::ValidationError> errors() const;
  ProviderStats stats() const;

  // Starts the inotify watch thread; `on_change` runs on that thread after each applied batch.
  Status startWatching(std::function<void()> on_change);
  void stop();

 private:
  struct FileState;
  struct Batch;       // bookkeeping of one applyChanges()/loadAll()
  struct ReadResult;  // one file read (and parsed), before it is applied

  // The merged set is updated in place (copy-on-write: copied first only if a reader still holds
  // the previous one), so that a one-file change costs that file, not the whole folder: at 10,000
  // routes a full copy alone is ~35 ms of the 100 ms budget.
  void applyLocked(const std::vector<std::string>& paths);
  void finishBatchLocked(Batch& batch);
  // `pre`: the file already read (and maybe parsed) by readAllLocked; null = read it now.
  bool reparseFileLocked(const std::string& path, Batch& batch, bool force,
                         ReadResult* pre = nullptr);
  // Reads and parses `paths` on up to options_.parse_threads threads (files whose bytes did not
  // change since they were applied are read but not parsed), then applies them in order.
  void reparseAllLocked(const std::vector<std::string>& paths, Batch& batch);
  // Reads and hashes one file; touches no provider state, so any thread may.
  static void readFile(const std::string& path, ReadResult& out);
  bool forgetLocked(const std::string& path, Batch& batch);  // file or folder gone
  void dropKeyLocked(const std::string& path, const std::string& key, Batch& batch);
  template <typename T>
  void defineKeyLocked(const std::string& path, const std::string& key, T&& object);
  template <typename T>
  void assignMetaLocked(const std::string& key, T& object);
  void removeObjectLocked(const std::string& key);
  void ensureUniqueLocked();
  void watchLoop();
  void addWatchesRecursive(const std::string& dir, std::vector<std::string>* new_files);

  FileProviderOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<FileState>> files_;  // by path (sorted: first file wins)
  std::map<std::string, ObjectMetaRecord> meta_;             // by "Kind/ns/name"
  std::shared_ptr<api::ObjectSet> merged_;
  // Readers of merged_ handed out by objects() and not yet released. Counted under a mutex (not
  // shared_ptr::use_count(), a relaxed read that does not order the reader's last reads before
  // the writer's in-place update).
  struct Readers {
    std::mutex mu;
    int count = 0;
  };
  std::shared_ptr<Readers> merged_readers_;
  std::unordered_map<std::string, size_t> index_;       // key -> position in its vector of merged_
  std::unordered_map<std::string, std::string> owner_;  // key -> file whose object is in merged_
  std::unordered_map<std::string, std::set<std::string>> defs_;  // key -> files defining it
  std::vector<api::ValidationError> merged_errors_;
  ProviderStats stats_;
  uint64_t resource_version_ = 0;
  std::string batch_now_;  // one creationTimestamp for everything first seen in a batch

  // Watching.
  int inotify_fd_ = -1;
  int stop_fd_ = -1;                       // eventfd
  std::map<int, std::string> watch_dirs_;  // wd -> dir path
  std::function<void()> on_change_;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
};

}  // namespace gantry::controlplane::providers

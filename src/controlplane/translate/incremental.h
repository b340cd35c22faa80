// Incremental (delta) translation: the same result as translate(), computed from the previous
// result when only HTTPRoutes changed, by re-translating the changed routes and splicing them into
// the previous snapshot and statuses. Anything else is a full translation.
//
// Why: translate() is a pure function over every object, so at 10,000 HTTPRoutes a one-route
// change re-translated all of them (~80 ms of the 100 ms change budget, issue 3). A delta costs
// the changed routes plus copying the affected listeners and the statuses.
//
// When a delta is used (everything else -> full translation, always correct):
//  - the previous call's result is the `previous` statuses passed now (same pointer), and its
//    options are equal (except `now`);
//  - every object other than HTTPRoutes is unchanged, as far as translation reads it: position,
//    namespace/name, metadata.generation, creationTimestamp, labels and metadata.spec_hash (the
//    parser's fingerprint of the spec; 0 = unknown -> full translation). HTTPRoutes are compared
//    the same way, position by position: a route whose fingerprint or position changed is removed
//    and translated again;
//  - no changed HTTPRoute (old or new version) attaches to a listener a GRPCRoute attaches to
//    (HTTPRoute/GRPCRoute hostname conflicts are decided across routes of a listener), no Gateway
//    with spec.tls.backend.clientCertificateRef (per-Gateway backend variants), unique keys.
//    (BackendTLSPolicy statuses, whose ancestors are the Gateways whose routes use a Service,
//    are recomputed from reference counts of (Service, Gateway) pairs);
//  - at most a quarter of the routes changed (beyond that a full translation is cheaper).
// tests/unit/controlplane/incremental_test.cc checks delta == translate() (IR JSON and every
// status) over thousands of random worlds and edits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "controlplane/translate/translate.h"

namespace gantry::controlplane {

struct IncrementalResult {
  std::shared_ptr<const ir::Snapshot> snapshot;
  std::shared_ptr<const std::vector<api::ObjectStatus>> statuses;  // null: finishStatuses()
  bool incremental = false;      // spliced into the previous result
  size_t routes_translated = 0;  // HTTPRoutes translated this time
  size_t routes_removed = 0;     // previous HTTPRoute versions taken out (delta only)
  std::string full_reason;       // why a full translation ran ("" for a delta)
};

class IncrementalTranslator {
 public:
  IncrementalTranslator();
  ~IncrementalTranslator();
  IncrementalTranslator(const IncrementalTranslator&) = delete;
  IncrementalTranslator& operator=(const IncrementalTranslator&) = delete;

  // Exactly translate(objects, options, *previous), with snapshot.version = `version`. A delta
  // needs `previous` to be the statuses this translator returned last time.
  // `defer_statuses`: a delta may leave `statuses` null, to be built by finishStatuses() once the
  // snapshot is published (a change's traffic does not wait for 10,000 statuses to be copied).
  IncrementalResult translate(const api::ObjectSet& objects, const TranslateOptions& options,
                              std::shared_ptr<const std::vector<api::ObjectStatus>> previous,
                              uint64_t version, bool defer_statuses = false);

  // The statuses of the last translate() (built now if they were deferred).
  std::shared_ptr<const std::vector<api::ObjectStatus>> finishStatuses();

  // Forget the previous result (the next call translates everything).
  void reset();

 private:
  struct State;
  IncrementalResult full(const api::ObjectSet& objects, const TranslateOptions& options,
                         const std::shared_ptr<const std::vector<api::ObjectStatus>>& previous,
                         uint64_t version, std::string reason);
  bool delta(const api::ObjectSet& objects, const TranslateOptions& options,
             const std::shared_ptr<const std::vector<api::ObjectStatus>>& previous,
             uint64_t version, bool defer_statuses, IncrementalResult& out, std::string& reason);
  std::unique_ptr<State> state_;
};

}  // namespace gantry::controlplane

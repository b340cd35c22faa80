// RouteTable: the immutable, compiled form of an ir::Snapshot that workers route with.
//
// Built once per publish on the control thread (RE2 objects compiled once, hostnames indexed,
// backend names resolved to indices, endpoint addresses resolved), then shared read-only by all
// workers through std::shared_ptr<const RouteTable>. It keeps the Snapshot alive, so rule pointers
// into the IR stay valid for as long as any request holds the table.
//
// Matching (Gateway API, HTTPRoute): per Port, the FIRST HttpListener whose hostname matches the
// request host (listeners are given most-specific first), then the FIRST RouteEntry in the
// listener's order whose hostname and Match match. Nothing matches -> nullptr (404).
#pragma once

#include <re2/re2.h>

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "dataplane/filters/rule_filters.h"
#include "dataplane/http1/parser.h"
#include "dataplane/tls/client_context.h"
#include "dataplane/tls/server_context.h"
#include "dataplane/upstream/weighted.h"
#include "ir/ir.h"

namespace gantry::dataplane {

namespace l4 {
class L4Table;  // dataplane/l4/l4_table.h: TLSRoute/TCPRoute/UDPRoute, compiled with the table
}

// What routing looks at, all views valid for the duration of route().
struct RequestInfo {
  std::string_view method;
  std::string_view host;   // lower-case, port removed (http1::parseHost)
  std::string_view path;   // normalised (http1::normalizePath), the same path that is forwarded
  std::string_view query;  // raw, without '?'
  const std::vector<http1::Header>* headers = nullptr;
};

struct CompiledBackend {
  const ir::Backend* ir = nullptr;
  std::vector<asio::ip::tcp::endpoint> endpoints;
  // Endpoint selection by weight, smooth round robin per worker (LocalTable::backend_rr).
  upstream::WeightedPicker picker;
  uint32_t total_weight = 0;  // sum of the endpoints' weights (0-weight endpoints left out)
  // BackendTLSPolicy: the client context of this snapshot (null: plain TCP, or TLS configured but
  // unusable -- see tlsRequired()).
  std::shared_ptr<const tls::ClientContext> tls;
  bool tlsRequired() const { return ir != nullptr && ir->tls.has_value(); }
};

constexpr int32_t kInvalidBackend = -1;  // empty name: the spec wants HTTP 500 for its share
constexpr int32_t kUnknownBackend = -2;  // name not in the snapshot: treated like no endpoints

// A RequestMirror filter of a rule, or of one of its backendRefs, with its backend resolved.
struct CompiledMirror {
  int32_t backend = kUnknownBackend;  // index into RouteTable::backend()
  int32_t backend_ref = -1;           // position in ir::Rule::backends; -1 = rule-level filter
  uint32_t numerator = 100;
  uint32_t denominator = 100;
};

// One endpoint a session persistence token can name (dataplane/upstream/session.h).
struct SessionTarget {
  uint64_t id = 0;        // upstream::endpointId(backend name, endpoint)
  uint32_t position = 0;  // index into CompiledRule::backends
  uint32_t endpoint = 0;  // index into CompiledBackend::endpoints
};

struct CompiledRule {
  const ir::Rule* ir = nullptr;
  uint32_t slot = 0;                   // index of this rule's per-worker round-robin counter
  std::vector<int32_t> backends;       // per ir::WeightedBackend with weight > 0
  std::vector<uint32_t> backend_refs;  // index into ir->backends, parallel to `backends`
  upstream::WeightedPicker picker;     // over `backends` by weight (LocalTable::rule_rr[slot])
  uint32_t total_weight = 0;
  // HTTPRoute filters (dataplane/filters), null when the rule has none.
  std::unique_ptr<const dataplane::filters::RuleFilters> filters;
  // Rule-level ExternalAuth filter (filters/ext_authz.h), checked before anything else; its
  // backend index, or kInvalidBackend / kUnknownBackend (then requests get 500: fail closed).
  const ir::ExternalAuth* ext_auth = nullptr;
  int32_t ext_auth_backend = kInvalidBackend;
  std::vector<CompiledMirror> mirrors;         // rule-level and per-backendRef RequestMirrors
  std::vector<SessionTarget> session_targets;  // when ir->session_persistence is set
};

// Gateway API hostname match: "" any, "*.x.com" one or more labels before ".x.com", else exact.
bool hostnameMatches(std::string_view pattern, std::string_view host);
// Gateway API PathPrefix: element-wise prefix ("/foo" matches "/foo", "/foo/", "/foo/bar", not
// "/foobar"; a trailing '/' in the prefix is ignored).
bool pathPrefixMatches(std::string_view prefix, std::string_view path);

class RouteTable {
 public:
  // Never fails as a whole: problems (bad regex, unresolvable endpoint) are reported in
  // `warnings` and the affected entry or endpoint is left out.
  static std::shared_ptr<const RouteTable> build(ir::SnapshotPtr snapshot,
                                                 std::vector<std::string>* warnings);

  // Index of the port bound at (address, port), or -1.
  int findPort(std::string_view address, uint16_t port) const;
  const CompiledRule* route(int port_index, const RequestInfo& req) const;
  // HTTPS ports terminate TLS with the contexts built for this snapshot; `tls` is null when no
  // certificate of the port is usable (connections are then refused).
  bool portIsHttps(int port_index) const;
  const tls::ServerContextSet* portTls(int port_index) const;

  const CompiledBackend& backend(uint32_t i) const { return backends_[i]; }
  size_t backendCount() const { return backends_.size(); }
  size_t ruleCount() const { return rule_count_; }
  const ir::Snapshot& snapshot() const { return *snapshot_; }
  const l4::L4Table* l4() const { return l4_.get(); }

  RouteTable(const RouteTable&) = delete;
  RouteTable& operator=(const RouteTable&) = delete;
  RouteTable() = default;
  ~RouteTable();

 private:
  struct CompiledHeaderMatch {
    std::string name;
    std::string value;
    std::unique_ptr<RE2> re;
  };
  struct CompiledQueryMatch {
    std::string name;
    std::string value;
    std::unique_ptr<RE2> re;
  };
  struct CompiledEntry {
    std::string hostname;
    ir::PathMatchType path_type = ir::PathMatchType::kPathPrefix;
    std::string path;
    std::unique_ptr<RE2> path_re;
    std::vector<CompiledHeaderMatch> headers;
    std::vector<CompiledQueryMatch> query;
    std::string method;
    const CompiledRule* rule = nullptr;
    bool matches(const RequestInfo& req) const;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // Candidate index of one hostname key (an exact host, a wildcard suffix, or ""): which entries
  // can match a path. Lists are entry indices in ascending (= precedence) order. The index only
  // proposes candidates; CompiledEntry::matches() still decides, so it must be a superset.
  struct PathIndex {
    // Exact path -> entries.
    std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> exact;
    // PathPrefix without its trailing '/' ("/" is stored as "") -> entries.
    std::unordered_map<std::string, std::vector<uint32_t>, StringHash, std::equal_to<>> prefix;
    // Bit d set when some prefix key has d segments ("/a/b" has 2; d >= 63 uses bit 63), so a
    // lookup only probes the prefix lengths that exist.
    uint64_t prefix_depths = 0;
    std::vector<uint32_t> root;   // PathPrefix "/": every path
    std::vector<uint32_t> other;  // RegularExpression paths: always candidates
  };
  struct CompiledListener {
    std::string hostname;
    std::vector<CompiledEntry> entries;
    std::vector<CompiledRule> rules;
    // Entries by hostname key (docs/life-of-a-request.md "Routing"): exact hosts; wildcard
    // "*.x.com" stored under ".x.com" and found by trying each label suffix of the request host;
    // "" (any host). A lookup merges at most (labels + 1) x (path segments + 3) sorted lists, so
    // its cost does not grow with the number of routes.
    std::unordered_map<std::string, PathIndex, StringHash, std::equal_to<>> exact_hosts;
    std::unordered_map<std::string, PathIndex, StringHash, std::equal_to<>> wildcard_hosts;
    PathIndex any_host;
    bool has_any_host = false;
  };
  struct CompiledPort {
    std::string address;
    uint16_t port = 0;
    ir::Protocol protocol = ir::Protocol::kHttp;
    std::shared_ptr<const tls::ServerContextSet> tls;
    std::vector<CompiledListener> listeners;
  };

  ir::SnapshotPtr snapshot_;
  std::vector<CompiledPort> ports_;
  std::vector<CompiledBackend> backends_;
  size_t rule_count_ = 0;
  std::shared_ptr<const l4::L4Table> l4_;
};

using RouteTablePtr = std::shared_ptr<const RouteTable>;

}  // namespace gantry::dataplane

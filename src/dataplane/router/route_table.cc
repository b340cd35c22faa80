#include "dataplane/router/route_table.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <asio/ip/address.hpp>

#include "dataplane/http1/syntax.h"
#include "dataplane/l4/l4_table.h"
#include "dataplane/tls/contexts.h"
#include "dataplane/upstream/resilience.h"

namespace gantry::dataplane {
namespace {

std::unique_ptr<RE2> compileRegex(const std::string& pattern, std::vector<std::string>* warnings,
                                  std::string_view what) {
  RE2::Options opts;
  opts.set_log_errors(false);
  auto re = std::make_unique<RE2>(pattern, opts);
  if (!re->ok()) {
    if (warnings)
      warnings->push_back(fmt::format("{}: invalid regex '{}': {}", what, pattern, re->error()));
    return nullptr;
  }
  return re;
}

// Resolves an endpoint address. IP literals are parsed; DNS names (ExternalName) are resolved
// here, on the control thread, so that a worker never blocks on DNS.
void resolve(const ir::Endpoint& e, std::vector<asio::ip::tcp::endpoint>* out,
             std::vector<std::string>* warnings) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(e.address, ec);
  if (!ec) {
    out->emplace_back(addr, e.port);
    return;
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(e.address.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    if (warnings) warnings->push_back(fmt::format("cannot resolve endpoint {}", e.address));
    return;
  }
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    if (ai->ai_family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(ai->ai_addr);
      asio::ip::address_v4::bytes_type b;
      std::memcpy(b.data(), &sin->sin_addr, 4);
      out->emplace_back(asio::ip::address_v4(b), e.port);
      break;
    }
    if (ai->ai_family == AF_INET6) {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(ai->ai_addr);
      asio::ip::address_v6::bytes_type b;
      std::memcpy(b.data(), &sin6->sin6_addr, 16);
      out->emplace_back(asio::ip::address_v6(b), e.port);
      break;
    }
  }
  freeaddrinfo(res);
}

const http1::Header* findHeader(const std::vector<http1::Header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (http1::iequals(h.name, name)) return &h;
  }
  return nullptr;
}

// First value of query parameter `name` (exact, case-sensitive name), raw.
bool findQueryParam(std::string_view query, std::string_view name, std::string_view* value) {
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view item = query.substr(0, amp);
    size_t eq = item.find('=');
    std::string_view key = item.substr(0, eq);
    if (key == name) {
      *value = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
      return true;
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return false;
}

// RequestMirror filters (rule-level and per-backendRef) with their backends resolved, and the
// endpoints a session persistence token may name (dataplane/upstream/).
void compileUpstreamExtras(const ir::Rule& r,
                           const std::unordered_map<std::string_view, uint32_t>& backend_index,
                           const std::vector<CompiledBackend>& backends, CompiledRule& cr) {
  auto addMirrors = [&](const std::vector<ir::Filter>& filters, int32_t ref) {
    for (const auto& f : filters) {
      if (f.type != ir::FilterType::kRequestMirror) continue;
      CompiledMirror m;
      auto it = backend_index.find(f.mirror.backend);
      if (it == backend_index.end()) continue;  // validated by the translator; be safe
      m.backend = static_cast<int32_t>(it->second);
      m.backend_ref = ref;
      m.numerator = f.mirror.numerator;
      m.denominator = f.mirror.denominator;
      cr.mirrors.push_back(m);
    }
  };
  addMirrors(r.filters, -1);
  for (uint32_t i = 0; i < r.backends.size(); ++i)
    addMirrors(r.backends[i].filters, static_cast<int32_t>(i));
  if (r.session_persistence.type == ir::SessionPersistenceType::kNone) return;
  for (uint32_t pos = 0; pos < cr.backends.size(); ++pos) {
    if (cr.backends[pos] < 0) continue;
    const CompiledBackend& b = backends[static_cast<size_t>(cr.backends[pos])];
    for (uint32_t e = 0; e < b.endpoints.size(); ++e) {
      cr.session_targets.push_back({upstream::endpointId(b.ir->name, b.endpoints[e]), pos, e});
    }
  }
}

}  // namespace

bool hostnameMatches(std::string_view pattern, std::string_view host) {
  if (pattern.empty()) return true;
  if (pattern.size() > 1 && pattern[0] == '*' && pattern[1] == '.') {
    std::string_view suffix = pattern.substr(1);  // ".x.com"
    return host.size() > suffix.size() && host.substr(host.size() - suffix.size()) == suffix;
  }
  return pattern == host;
}

bool pathPrefixMatches(std::string_view prefix, std::string_view path) {
  while (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  if (prefix == "/" || prefix.empty()) return true;
  if (path.size() < prefix.size() || path.substr(0, prefix.size()) != prefix) return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

RouteTable::~RouteTable() = default;

bool RouteTable::CompiledEntry::matches(const RequestInfo& req) const {
  switch (path_type) {
    case ir::PathMatchType::kExact:
      if (req.path != path) return false;
      break;
    case ir::PathMatchType::kPathPrefix:
      if (!pathPrefixMatches(path, req.path)) return false;
      break;
    case ir::PathMatchType::kRegularExpression:
      if (!path_re || !RE2::FullMatch(re2::StringPiece(req.path.data(), req.path.size()), *path_re))
        return false;
      break;
  }
  if (!method.empty() && method != req.method) return false;
  for (const auto& m : headers) {
    const http1::Header* h = req.headers ? findHeader(*req.headers, m.name) : nullptr;
    if (h == nullptr) return false;
    if (m.re) {
      if (!RE2::FullMatch(re2::StringPiece(h->value.data(), h->value.size()), *m.re)) return false;
    } else if (h->value != m.value) {
      return false;
    }
  }
  for (const auto& m : query) {
    std::string_view v;
    if (!findQueryParam(req.query, m.name, &v)) return false;
    if (m.re) {
      if (!RE2::FullMatch(re2::StringPiece(v.data(), v.size()), *m.re)) return false;
    } else if (v != m.value) {
      return false;
    }
  }
  return true;
}

std::shared_ptr<const RouteTable> RouteTable::build(ir::SnapshotPtr snapshot,
                                                    std::vector<std::string>* warnings) {
  auto t = std::make_shared<RouteTable>();
  t->snapshot_ = snapshot;
  if (!snapshot) return t;
  const ir::Snapshot& s = *snapshot;

  std::unordered_map<std::string_view, uint32_t> backend_index;
  t->backends_.reserve(s.backends.size());
  for (const auto& b : s.backends) {
    CompiledBackend cb;
    cb.ir = &b;
    std::vector<uint32_t> weights;
    for (const auto& e : b.endpoints) {
      if (e.weight == 0) continue;
      size_t before = cb.endpoints.size();
      resolve(e, &cb.endpoints, warnings);
      if (cb.endpoints.size() != before) {
        cb.total_weight += e.weight;
        weights.push_back(e.weight);
      }
    }
    cb.picker = upstream::WeightedPicker(weights);
    if (b.tls) cb.tls = tls::clientContextFor(b, warnings);
    backend_index.emplace(b.name, static_cast<uint32_t>(t->backends_.size()));
    t->backends_.push_back(std::move(cb));
  }

  uint32_t slot = 0;
  t->ports_.reserve(s.ports.size());
  for (const auto& p : s.ports) {
    CompiledPort cp;
    cp.address = p.address;
    cp.port = p.port;
    cp.protocol = p.protocol;
    if (p.protocol == ir::Protocol::kHttps || p.protocol == ir::Protocol::kTlsTerminate)
      cp.tls = tls::serverContextsFor(p, warnings);
    cp.listeners.reserve(p.http_listeners.size());
    for (const auto& l : p.http_listeners) {
      CompiledListener cl;
      cl.hostname = l.hostname;
      cl.rules.reserve(l.rules.size());
      for (const auto& r : l.rules) {
        CompiledRule cr;
        cr.ir = &r;
        std::vector<uint32_t> weights;
        cr.slot = slot++;
        cr.filters = filters::compileRuleFilters(r, l, static_cast<uint32_t>(&r - l.rules.data()),
                                                 p.protocol, p.port, warnings);
        for (uint32_t i = 0; i < r.backends.size(); ++i) {
          const auto& wb = r.backends[i];
          if (wb.weight == 0) continue;  // weight 0: never selected (Gateway API BackendRef)
          int32_t idx = kInvalidBackend;
          // A per-backendRef ExternalAuth filter is not applied by the data plane: that share
          // gets 500 rather than skipping the check.
          bool auth = std::any_of(wb.filters.begin(), wb.filters.end(), [](const ir::Filter& f) {
            return f.type == ir::FilterType::kExternalAuth;
          });
          if (!wb.backend.empty() && !auth) {
            auto it = backend_index.find(wb.backend);
            idx = it == backend_index.end() ? kUnknownBackend : static_cast<int32_t>(it->second);
          }
          cr.backends.push_back(idx);
          cr.backend_refs.push_back(i);
          cr.total_weight += wb.weight;
          weights.push_back(wb.weight);
        }
        cr.picker = upstream::WeightedPicker(weights);
        for (const auto& f : r.filters) {
          if (f.type != ir::FilterType::kExternalAuth) continue;
          cr.ext_auth = &f.ext_auth;
          if (!f.ext_auth.backend.empty()) {
            auto it = backend_index.find(f.ext_auth.backend);
            cr.ext_auth_backend =
                it == backend_index.end() ? kUnknownBackend : static_cast<int32_t>(it->second);
          }
          break;
        }
        compileUpstreamExtras(r, backend_index, t->backends_, cr);
        cl.rules.push_back(std::move(cr));
      }
      cl.entries.reserve(l.entries.size());
      for (const auto& e : l.entries) {
        if (e.rule >= cl.rules.size()) {
          if (warnings)
            warnings->push_back(fmt::format("{}: entry names missing rule {}", l.name, e.rule));
          continue;
        }
        CompiledEntry ce;
        ce.hostname = e.hostname;
        ce.path_type = e.match.path.type;
        ce.path = e.match.path.value;
        bool ok = true;
        if (ce.path_type == ir::PathMatchType::kRegularExpression) {
          ce.path_re = compileRegex(ce.path, warnings, l.name);
          ok = ce.path_re != nullptr;
        }
        for (const auto& h : e.match.headers) {
          CompiledHeaderMatch m;
          m.name = h.name;
          m.value = h.value;
          if (h.type == ir::ValueMatchType::kRegularExpression) {
            m.re = compileRegex(h.value, warnings, l.name);
            ok = ok && m.re != nullptr;
          }
          ce.headers.push_back(std::move(m));
        }
        for (const auto& q : e.match.query_params) {
          CompiledQueryMatch m;
          m.name = q.name;
          m.value = q.value;
          if (q.type == ir::ValueMatchType::kRegularExpression) {
            m.re = compileRegex(q.value, warnings, l.name);
            ok = ok && m.re != nullptr;
          }
          ce.query.push_back(std::move(m));
        }
        ce.method = e.match.method;
        ce.rule = &cl.rules[e.rule];
        if (!ok) continue;  // an entry with an invalid regex never matches
        cl.entries.push_back(std::move(ce));
      }
      // Host and path index (see CompiledListener).
      for (uint32_t i = 0; i < cl.entries.size(); ++i) {
        const CompiledEntry& e = cl.entries[i];
        PathIndex* pi;
        if (e.hostname.empty()) {
          pi = &cl.any_host;
          cl.has_any_host = true;
        } else if (e.hostname.size() > 1 && e.hostname[0] == '*' && e.hostname[1] == '.') {
          pi = &cl.wildcard_hosts[e.hostname.substr(1)];
        } else {
          pi = &cl.exact_hosts[e.hostname];
        }
        switch (e.path_type) {
          case ir::PathMatchType::kExact:
            pi->exact[e.path].push_back(i);
            break;
          case ir::PathMatchType::kPathPrefix: {
            std::string_view key = e.path;
            while (!key.empty() && key.back() == '/') key.remove_suffix(1);
            if (key.empty()) {
              pi->root.push_back(i);
            } else {
              pi->prefix[std::string(key)].push_back(i);
              size_t depth = static_cast<size_t>(std::count(key.begin(), key.end(), '/'));
              pi->prefix_depths |= uint64_t{1} << std::min<size_t>(depth, 63);
            }
            break;
          }
          case ir::PathMatchType::kRegularExpression:
            pi->other.push_back(i);
            break;
        }
      }
      cp.listeners.push_back(std::move(cl));
    }
    t->ports_.push_back(std::move(cp));
  }
  t->rule_count_ = slot;
  t->l4_ = l4::L4Table::build(s, *t, warnings);
  return t;
}

bool RouteTable::portIsHttps(int port_index) const {
  return port_index >= 0 && static_cast<size_t>(port_index) < ports_.size() &&
         ports_[port_index].protocol == ir::Protocol::kHttps;
}

const tls::ServerContextSet* RouteTable::portTls(int port_index) const {
  if (port_index < 0 || static_cast<size_t>(port_index) >= ports_.size()) return nullptr;
  return ports_[port_index].tls.get();
}

int RouteTable::findPort(std::string_view address, uint16_t port) const {
  for (size_t i = 0; i < ports_.size(); ++i) {
    if (ports_[i].port == port && ports_[i].address == address) return static_cast<int>(i);
  }
  return -1;
}

namespace {

// Up to this many candidate lists are merged without allocating; deeper hosts/paths fall back to
// a heap vector (rare: it takes > 15 labels x path segments combined).
constexpr size_t kMaxInlineLists = 64;

struct ListCursor {
  const uint32_t* it;
  const uint32_t* end;
};

template <typename Lists>
void addList(Lists& lists, size_t& n, std::vector<ListCursor>& spill,
             const std::vector<uint32_t>& v) {
  if (v.empty()) return;
  ListCursor c{v.data(), v.data() + v.size()};
  if (n < kMaxInlineLists) {
    lists[n++] = c;
  } else {
    spill.push_back(c);
  }
}

}  // namespace

const CompiledRule* RouteTable::route(int port_index, const RequestInfo& req) const {
  if (port_index < 0 || static_cast<size_t>(port_index) >= ports_.size()) return nullptr;
  for (const auto& l : ports_[port_index].listeners) {
    if (!hostnameMatches(l.hostname, req.host)) continue;
    // Listener isolation: only the first matching listener is considered.
    std::array<ListCursor, kMaxInlineLists> lists;
    size_t n = 0;
    std::vector<ListCursor> spill;
    auto addIndex = [&](const PathIndex& pi) {
      if (!pi.exact.empty())
        if (auto it = pi.exact.find(req.path); it != pi.exact.end())
          addList(lists, n, spill, it->second);
      addList(lists, n, spill, pi.root);
      addList(lists, n, spill, pi.other);
      if (pi.prefix_depths != 0) {
        // Every element-wise prefix of the path: "/a/b" -> "/a", "/a/b" (pathPrefixMatches),
        // probed only at the depths some key has.
        std::string_view p = req.path;
        size_t depth = 0;
        for (size_t i = 1; i <= p.size(); ++i) {
          if (i == p.size() || p[i] == '/') {
            ++depth;
            if ((pi.prefix_depths >> std::min<size_t>(depth, 63) & 1) == 0) continue;
            if (auto it = pi.prefix.find(p.substr(0, i)); it != pi.prefix.end()) {
              addList(lists, n, spill, it->second);
            }
          }
        }
      }
    };
    if (!l.exact_hosts.empty())
      if (auto it = l.exact_hosts.find(req.host); it != l.exact_hosts.end()) addIndex(it->second);
    if (!l.wildcard_hosts.empty()) {
      // "*.x.com" matches one or more labels before ".x.com": try every suffix after a label.
      for (size_t i = 1; i < req.host.size(); ++i) {
        if (req.host[i] != '.') continue;
        if (auto it = l.wildcard_hosts.find(req.host.substr(i)); it != l.wildcard_hosts.end()) {
          addIndex(it->second);
        }
      }
    }
    if (l.has_any_host) addIndex(l.any_host);
    if (!spill.empty()) {
      for (size_t i = 0; i < n; ++i) spill.push_back(lists[i]);
      n = 0;
    }
    ListCursor* cur = spill.empty() ? lists.data() : spill.data();
    size_t count = spill.empty() ? n : spill.size();
    // K-way merge by entry index: the first candidate (in precedence order) that matches wins.
    for (;;) {
      size_t best = count;
      uint32_t best_idx = UINT32_MAX;
      for (size_t k = 0; k < count; ++k) {
        if (cur[k].it != cur[k].end && *cur[k].it < best_idx) {
          best_idx = *cur[k].it;
          best = k;
        }
      }
      if (best == count) return nullptr;
      // The same entry can sit in only one list, but skip duplicates defensively.
      for (size_t k = 0; k < count; ++k) {
        if (cur[k].it != cur[k].end && *cur[k].it == best_idx) ++cur[k].it;
      }
      const CompiledEntry& e = l.entries[best_idx];
      if (e.matches(req)) return e.rule;
    }
  }
  return nullptr;
}

}  // namespace gantry::dataplane

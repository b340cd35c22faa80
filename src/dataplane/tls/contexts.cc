#include "dataplane/tls/contexts.h"

#include <fmt/format.h>

#include <csignal>
#include <map>
#include <mutex>
#include <utility>

namespace gantry::dataplane::tls {
namespace {

// OpenSSL writes to sockets with write(2), not send(MSG_NOSIGNAL) as Asio does: a peer that
// reset the connection would kill the process with SIGPIPE. Ignore it once TLS is in use.
void ignoreSigpipe() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

bool sameValidation(const std::optional<ir::FrontendValidation>& a,
                    const std::optional<ir::FrontendValidation>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a ||
         (a->ca_pems == b->ca_pems && a->allow_insecure_fallback == b->allow_insecure_fallback);
}

bool sameTls(const std::vector<ir::TlsConfig>& a, const std::vector<ir::TlsConfig>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].hostname != b[i].hostname || a[i].certificates.size() != b[i].certificates.size() ||
        !sameValidation(a[i].client_validation, b[i].client_validation)) {
      return false;
    }
    for (size_t j = 0; j < a[i].certificates.size(); ++j) {
      if (a[i].certificates[j].cert_pem != b[i].certificates[j].cert_pem ||
          a[i].certificates[j].key_pem != b[i].certificates[j].key_pem) {
        return false;
      }
    }
  }
  return true;
}

bool sameBackendTls(const ir::BackendTls& a, const ir::BackendTls& b) {
  auto sameCert = [](const std::optional<ir::Certificate>& x,
                     const std::optional<ir::Certificate>& y) {
    return x.has_value() == y.has_value() &&
           (!x || (x->cert_pem == y->cert_pem && x->key_pem == y->key_pem));
  };
  return a.sni == b.sni && a.ca_pems == b.ca_pems && a.use_system_cas == b.use_system_cas &&
         a.subject_alt_names == b.subject_alt_names &&
         sameCert(a.client_certificate, b.client_certificate);
}

struct ServerEntry {
  ir::Protocol protocol = ir::Protocol::kHttps;
  std::vector<ir::TlsConfig> configs;
  std::shared_ptr<const ServerContextSet> set;
};
struct ClientEntry {
  ir::BackendTls tls;
  ir::AppProtocol app_protocol = ir::AppProtocol::kHttp1;
  std::shared_ptr<const ClientContext> ctx;
};

// Publishes are serialised by the Server, but unit tests may build tables concurrently.
std::mutex cache_mu;
std::map<std::pair<std::string, uint16_t>, ServerEntry>& serverCache() {
  static auto* m = new std::map<std::pair<std::string, uint16_t>, ServerEntry>();
  return *m;
}
std::map<std::string, ClientEntry>& clientCache() {
  static auto* m = new std::map<std::string, ClientEntry>();
  return *m;
}

std::shared_ptr<const TicketKeys> processTicketKeys() {
  static const std::shared_ptr<const TicketKeys> keys = TicketKeys::generate();
  return keys;
}

}  // namespace

const std::vector<std::string>& httpsAlpn() {
  static const std::vector<std::string> alpn = {"h2", "http/1.1"};
  return alpn;
}

std::shared_ptr<const ServerContextSet> serverContextsFor(const ir::Port& port,
                                                          std::vector<std::string>* warnings) {
  ignoreSigpipe();
  std::lock_guard lock(cache_mu);
  auto key = std::make_pair(port.address, port.port);
  auto& cache = serverCache();
  auto it = cache.find(key);
  if (it != cache.end() && it->second.set && it->second.protocol == port.protocol &&
      sameTls(it->second.configs, port.tls)) {
    return it->second.set;
  }
  ServerOptions opts;
  // A TLS listener in Terminate mode forwards the plaintext to a TCP backend (TLSRoute): it
  // offers no ALPN protocol, so a client does not believe it negotiated HTTP (RFC 7301 section
  // 3.2 lets a server ignore the extension).
  if (port.protocol == ir::Protocol::kHttps)
    opts.alpn = httpsAlpn();
  else
    opts.alpn.clear();
  opts.ticket_keys = processTicketKeys();
  std::vector<std::string> w;
  auto built = ServerContextSet::build(port.tls, opts, &w);
  for (const auto& m : w) {
    if (warnings) warnings->push_back(fmt::format("{}:{}: {}", port.address, port.port, m));
  }
  if (!built) {
    if (warnings) {
      warnings->push_back(fmt::format("{}:{}: TLS not served: {}", port.address, port.port,
                                      built.status().message()));
    }
    cache.erase(key);
    return nullptr;
  }
  cache[key] = ServerEntry{port.protocol, port.tls, *built};
  return *built;
}

std::shared_ptr<const ClientContext> clientContextFor(const ir::Backend& backend,
                                                      std::vector<std::string>* warnings) {
  if (!backend.tls) return nullptr;
  ignoreSigpipe();
  std::lock_guard lock(cache_mu);
  auto& cache = clientCache();
  auto it = cache.find(backend.name);
  if (it != cache.end() && it->second.ctx && it->second.app_protocol == backend.app_protocol &&
      sameBackendTls(it->second.tls, *backend.tls)) {
    return it->second.ctx;
  }
  ClientOptions opts;
  // Offer exactly the protocol that will be written on the connection (RFC 7301): "h2" for the
  // HTTP/2 client (upstream/h2_client.h: GRPCRoute backends and appProtocol kubernetes.io/h2c
  // with a BackendTLSPolicy), "http/1.1" for the HTTP/1.1 path, so that a backend speaking both
  // never picks the other one.
  if (backend.app_protocol == ir::AppProtocol::kHttp2Tls)
    opts.alpn = {"h2"};
  else
    opts.alpn = {"http/1.1"};
  auto built = ClientContext::build(*backend.tls, opts);
  if (!built) {
    if (warnings) {
      warnings->push_back(
          fmt::format("backend {}: TLS not usable: {}", backend.name, built.status().message()));
    }
    cache.erase(backend.name);
    return nullptr;
  }
  cache[backend.name] = ClientEntry{*backend.tls, backend.app_protocol, *built};
  return *built;
}

}  // namespace gantry::dataplane::tls

// Per worker: the last TLS session with each backend (BackendTLSPolicy), for resumption without a
// lock shared between workers.
//
// A session is only ever offered under the client context it was made with. Resumption skips
// certificate verification, so once a backend's policy changes (another CA bundle, hostname or
// subjectAltNames = another ClientContext in the new snapshot) the next connection must do a
// full, verified handshake: the slot is replaced, not reused. A replaced slot is emptied and kept
// (connections still handshaking under the old context may store into it; nobody reads it).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "dataplane/tls/client_context.h"

namespace gantry::dataplane::tls {

class BackendSessions {
 public:
  BackendSessions() = default;
  ~BackendSessions();
  BackendSessions(const BackendSessions&) = delete;
  BackendSessions& operator=(const BackendSessions&) = delete;

  // The slot for `backend` under `ctx` (the ClientContext's SSL_CTX).
  ClientSessionSlot& slot(const std::string& backend, SSL_CTX* ctx);

 private:
  struct Entry {
    std::unique_ptr<ClientSessionSlot> slot;
    SSL_CTX* ctx = nullptr;  // one reference held, so the pointer cannot be reused by another
  };
  std::unordered_map<std::string, Entry> entries_;
  std::vector<std::unique_ptr<ClientSessionSlot>> retired_;
};

}  // namespace gantry::dataplane::tls

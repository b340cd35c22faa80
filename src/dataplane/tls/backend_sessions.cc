#include "dataplane/tls/backend_sessions.h"

namespace gantry::dataplane::tls {

BackendSessions::~BackendSessions() {
  for (auto& [name, e] : entries_) {
    if (e.ctx != nullptr) SSL_CTX_free(e.ctx);
  }
}

ClientSessionSlot& BackendSessions::slot(const std::string& backend, SSL_CTX* ctx) {
  Entry& e = entries_[backend];
  if (e.slot && e.ctx == ctx) return *e.slot;
  if (e.slot) {
    e.slot->clear();
    retired_.push_back(std::move(e.slot));
  }
  if (e.ctx != nullptr) SSL_CTX_free(e.ctx);
  SSL_CTX_up_ref(ctx);
  e.ctx = ctx;
  e.slot = std::make_unique<ClientSessionSlot>();
  return *e.slot;
}

}  // namespace gantry::dataplane::tls

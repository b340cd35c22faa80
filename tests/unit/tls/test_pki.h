// Throwaway PKI for the TLS tests, generated at test time with OpenSSL's APIs (nothing secret is
// checked in): a CA that issues server and client certificates with RSA or ECDSA keys.
#pragma once

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <memory>
#include <string>
#include <vector>

#include "ir/ir.h"

namespace gantry::testing {

enum class KeyType { kRsa, kEcdsa };

struct IssueOptions {
  std::vector<std::string> dns;   // subjectAltName DNS entries
  std::vector<std::string> uris;  // subjectAltName URI entries
  KeyType key = KeyType::kEcdsa;
  bool client = false;        // extendedKeyUsage clientAuth instead of serverAuth
  long valid_from_s = -3600;  // relative to now
  long valid_to_s = 86400;
};

class TestCa {
 public:
  explicit TestCa(const std::string& cn, KeyType key = KeyType::kEcdsa);
  ~TestCa();
  TestCa(const TestCa&) = delete;
  TestCa& operator=(const TestCa&) = delete;

  const std::string& pem() const { return pem_; }
  // A leaf certificate (cert_pem = leaf then this CA, i.e. the chain) and its key.
  ir::Certificate issue(const std::string& cn, const IssueOptions& o) const;

 private:
  EVP_PKEY* key_ = nullptr;
  X509* cert_ = nullptr;
  std::string pem_;
};

EVP_PKEY* generateKey(KeyType t);
std::string keyPem(EVP_PKEY* k);
std::string certPem(X509* x);

// Runs a client and a server SSL against each other in memory (a BIO pair each way) until both
// finish or one fails. Returns true if both completed the handshake. When `exchange` is set, the
// peers also send each other one byte of application data afterwards, so that TLS 1.3
// NewSessionTicket messages reach the client.
bool handshakeInMemory(SSL* client, SSL* server, bool exchange = true);

// Clean close (close_notify both ways). Needed before SSL_free for the client's session to stay
// resumable: OpenSSL marks the session of a connection freed without shutdown not resumable.
void shutdownBoth(SSL* client, SSL* server);

// An SSL_CTX for test clients: TLS 1.2+, trusting `ca_pem` (if non-empty), no verification
// unless `verify` is set.
SSL_CTX* testClientCtx(const std::string& ca_pem, bool verify);
void useClientCert(SSL* ssl, const ir::Certificate& c);

}  // namespace gantry::testing

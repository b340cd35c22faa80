#include "dataplane/tls/backend_sessions.h"

#include <gtest/gtest.h>

namespace gantry::dataplane::tls {
namespace {

TEST(BackendSessionsTest, OneSlotPerBackendAndContext) {
  SSL_CTX* a = SSL_CTX_new(TLS_client_method());
  SSL_CTX* b = SSL_CTX_new(TLS_client_method());
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  {
    BackendSessions sessions;
    ClientSessionSlot& s1 = sessions.slot("ns/svc:443", a);
    EXPECT_EQ(&sessions.slot("ns/svc:443", a), &s1);
    EXPECT_NE(&sessions.slot("ns/other:443", a), &s1);
    s1.store(SSL_SESSION_new());
    ASSERT_FALSE(s1.empty());
    // The policy changed (another context): a fresh, empty slot; the old one is emptied (a
    // session verified under the old trust anchors must never be resumed under the new ones).
    ClientSessionSlot& s2 = sessions.slot("ns/svc:443", b);
    EXPECT_NE(&s2, &s1);
    EXPECT_TRUE(s2.empty());
    EXPECT_TRUE(s1.empty());
    // The context reference is held: freeing the caller's reference leaves it valid.
    SSL_CTX_free(b);
    EXPECT_EQ(&sessions.slot("ns/svc:443", b), &s2);
  }
  SSL_CTX_free(a);
}

}  // namespace
}  // namespace gantry::dataplane::tls

// Pure logic of timeouts, retries, the replay buffer, mirror sampling and session tokens
// (dataplane/upstream/resilience.h, session.h).
#include "dataplane/upstream/resilience.h"

#include <gtest/gtest.h>

#include "dataplane/upstream/session.h"

namespace gantry::dataplane::upstream {
namespace {

TEST(Timeouts, Deadlines) {
  EXPECT_EQ(earliestDeadline(0, 0), 0);
  EXPECT_EQ(earliestDeadline(5, 0), 5);
  EXPECT_EQ(earliestDeadline(0, 7), 7);
  EXPECT_EQ(earliestDeadline(9, 7), 7);
  ir::Timeouts t;
  EXPECT_EQ(requestDeadline(t, 1000), 0);  // unset / "0s": disabled
  t.request_ms = 500;
  EXPECT_EQ(requestDeadline(t, 1000), 1500);
  EXPECT_EQ(attemptDeadline(t, 1200, 1500), 1500);  // no backendRequest: the request deadline
  t.backend_request_ms = 200;
  EXPECT_EQ(attemptDeadline(t, 1200, 1500), 1400);
  EXPECT_EQ(attemptDeadline(t, 1400, 1500), 1500);  // never past the request deadline
  EXPECT_EQ(attemptDeadline(t, 1400, 0), 1600);
}

TEST(Retry, CodesAttemptsBackoff) {
  ir::Retry r;
  EXPECT_FALSE(retryEnabled(r));
  r.attempts = 2;
  EXPECT_TRUE(retryEnabled(r));
  EXPECT_FALSE(retryableStatus(r, 503));  // no codes: only connection errors and timeouts
  r.codes = {500, 502, 503, 504};
  EXPECT_TRUE(retryableStatus(r, 503));
  EXPECT_FALSE(retryableStatus(r, 501));
  EXPECT_FALSE(retryableStatus(r, 200));
  EXPECT_EQ(backoffMs(r, 1), 0u);
  r.backoff_ms = 100;
  EXPECT_EQ(backoffMs(r, 1), 100u);  // the configured minimum first
  EXPECT_EQ(backoffMs(r, 2), 200u);
  EXPECT_EQ(backoffMs(r, 3), 400u);
  EXPECT_EQ(backoffMs(r, 4), 800u);
  EXPECT_EQ(backoffMs(r, 9), 800u);  // capped at 8x
  r.backoff_ms = UINT32_MAX;
  EXPECT_EQ(backoffMs(r, 4), UINT32_MAX);
}

TEST(Replay, KeepsHeadAndBodyUpToTheBound) {
  Replay rp;
  EXPECT_FALSE(rp.complete());  // not started: nothing to replay
  rp.begin("GET / HTTP/1.1\r\n\r\n");
  std::string a(1000, 'a'), b(2000, 'b');
  std::vector<asio::const_buffer> iov{asio::buffer(rp.head()), asio::buffer(a), asio::buffer(b)};
  rp.capture(iov, 1);
  EXPECT_TRUE(rp.complete());
  EXPECT_EQ(rp.body(), a + b);
  std::string big(kMaxReplayBody, 'x');
  rp.capture({asio::buffer(big)});
  EXPECT_FALSE(rp.complete());  // past the bound: neither retried nor mirrored
  EXPECT_TRUE(rp.body().empty());
  rp.begin("POST / HTTP/1.1\r\n\r\n");
  EXPECT_TRUE(rp.complete());
  rp.end();
  EXPECT_FALSE(rp.complete());
}

TEST(Mirror, SampleFraction) {
  EXPECT_FALSE(sampleFraction(0, 100, 12345));
  EXPECT_TRUE(sampleFraction(100, 100, 12345));
  EXPECT_TRUE(sampleFraction(5, 3, 0));
  EXPECT_FALSE(sampleFraction(1, 0, 0));
  FastRandom r(42);
  int hits = 0;
  for (int i = 0; i < 100000; ++i) hits += sampleFraction(1, 4, r.next()) ? 1 : 0;
  EXPECT_NEAR(hits, 25000, 1000);
  hits = 0;
  for (int i = 0; i < 100000; ++i) hits += sampleFraction(20, 100, r.next()) ? 1 : 0;
  EXPECT_NEAR(hits, 20000, 1000);
}

TEST(Session, TokenRoundTripAndTamper) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address("10.1.2.3"), 8080);
  SessionToken t{endpointId("ns/svc:80", ep), 1700000000, 1700000100};
  std::string s = encodeSessionToken(t);
  EXPECT_EQ(s.size(), 32u);
  EXPECT_EQ(s.find("10.1.2.3"), std::string::npos);
  auto d = decodeSessionToken(s);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->endpoint_id, t.endpoint_id);
  EXPECT_EQ(d->created_s, t.created_s);
  EXPECT_EQ(d->last_used_s, t.last_used_s);
  for (size_t i = 0; i < s.size(); ++i) {
    std::string bad = s;
    bad[i] = bad[i] == 'A' ? 'B' : 'A';
    EXPECT_FALSE(decodeSessionToken(bad)) << i;
  }
  EXPECT_FALSE(decodeSessionToken(""));
  EXPECT_FALSE(decodeSessionToken(s + "A"));
  EXPECT_FALSE(decodeSessionToken(std::string(32, '*')));
  // The id depends on backend and endpoint.
  EXPECT_NE(endpointId("ns/svc:80", ep), endpointId("ns/other:80", ep));
  asio::ip::tcp::endpoint ep2(asio::ip::make_address("10.1.2.3"), 8081);
  EXPECT_NE(endpointId("ns/svc:80", ep), endpointId("ns/svc:80", ep2));
}

TEST(Session, Validity) {
  ir::SessionPersistence sp;
  sp.type = ir::SessionPersistenceType::kCookie;
  SessionToken t{1, 1000, 1500};
  EXPECT_TRUE(sessionValid(sp, t, 100000));  // no timeouts
  sp.absolute_timeout_s = 600;
  EXPECT_TRUE(sessionValid(sp, t, 1599));
  EXPECT_FALSE(sessionValid(sp, t, 1600));
  sp.absolute_timeout_s = 0;
  sp.idle_timeout_s = 60;
  EXPECT_TRUE(sessionValid(sp, t, 1559));
  EXPECT_FALSE(sessionValid(sp, t, 1560));
  EXPECT_FALSE(sessionValid(sp, SessionToken{1, 5000, 5000}, 1000));  // from the future
}

TEST(Session, FindCookie) {
  EXPECT_EQ(findCookie("a=1; gs=tok; b=2", "gs").value_or("-"), "tok");
  EXPECT_EQ(findCookie("gs=tok", "gs").value_or("-"), "tok");
  EXPECT_EQ(findCookie("a=1;gs = \"tok\" ", "gs").value_or("-"), "tok");
  EXPECT_FALSE(findCookie("a=1; xgs=tok", "gs"));
  EXPECT_FALSE(findCookie("gs", "gs"));
  EXPECT_FALSE(findCookie("", "gs"));
}

TEST(Session, ResponseField) {
  ir::SessionPersistence sp;
  sp.type = ir::SessionPersistenceType::kCookie;
  sp.name = "gs";
  std::string out;
  appendSessionField(sp, "TOK", out);
  EXPECT_EQ(out, "set-cookie: gs=TOK; Path=/; HttpOnly\r\n");
  sp.permanent_cookie = true;
  sp.absolute_timeout_s = 3600;
  out.clear();
  appendSessionField(sp, "TOK", out);
  EXPECT_EQ(out, "set-cookie: gs=TOK; Path=/; HttpOnly; Max-Age=3600\r\n");
  sp.type = ir::SessionPersistenceType::kHeader;
  sp.name = "x-session";
  out.clear();
  appendSessionField(sp, "TOK", out);
  EXPECT_EQ(out, "x-session: TOK\r\n");
}

TEST(Session, ResponseRefreshRules) {
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 9000);
  ir::SessionPersistence sp;
  sp.type = ir::SessionPersistenceType::kCookie;
  sp.name = "gs";
  SessionChoice none;
  std::string out;
  appendSessionResponse(sp, none, "b", ep, 2000, out);
  ASSERT_EQ(out.rfind("set-cookie: gs=", 0), 0u);
  auto tok = decodeSessionToken(out.substr(15, 32));
  ASSERT_TRUE(tok);
  EXPECT_EQ(tok->endpoint_id, endpointId("b", ep));
  EXPECT_EQ(tok->created_s, 2000u);
  // Same endpoint, no idle timeout: the client's cookie stays as is.
  SessionChoice same;
  same.token = tok;
  out.clear();
  appendSessionResponse(sp, same, "b", ep, 2100, out);
  EXPECT_EQ(out, "");
  // With an idle timeout the last-use time moves; the creation time does not.
  sp.idle_timeout_s = 60;
  appendSessionResponse(sp, same, "b", ep, 2100, out);
  auto t2 = decodeSessionToken(out.substr(15, 32));
  ASSERT_TRUE(t2);
  EXPECT_EQ(t2->created_s, 2000u);
  EXPECT_EQ(t2->last_used_s, 2100u);
  // Served by another endpoint (the session's one failed): a new session.
  asio::ip::tcp::endpoint other(asio::ip::make_address("127.0.0.1"), 9001);
  out.clear();
  appendSessionResponse(sp, same, "b", other, 2200, out);
  auto t3 = decodeSessionToken(out.substr(15, 32));
  ASSERT_TRUE(t3);
  EXPECT_EQ(t3->endpoint_id, endpointId("b", other));
  EXPECT_EQ(t3->created_s, 2200u);
}

}  // namespace
}  // namespace gantry::dataplane::upstream

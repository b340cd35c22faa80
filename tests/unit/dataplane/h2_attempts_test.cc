// The protocol-independent resilience decisions shared by every upstream path: which mirrors a
// request goes to (upstream::forEachMirror) and when an attempt to an HTTP/2 backend is retried
// and its body replayed (upstream::H2Attempts). The I/O around them is covered end to end
// (tests/e2e/test_httproute_{retry,mirror,timeouts,session_persistence}.py, test_grpcroute.py).
#include "dataplane/upstream/h2_attempts.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dataplane/upstream/mirror.h"
#include "dataplane/worker.h"

namespace gantry::dataplane {
namespace {

ir::Backend backend(std::string name, uint16_t port, bool h2c = false) {
  ir::Backend b;
  b.name = std::move(name);
  if (port != 0) b.endpoints.push_back(ir::Endpoint{"127.0.0.1", port, 1});
  if (h2c) b.app_protocol = ir::AppProtocol::kH2c;
  return b;
}

ir::Filter mirror(std::string to, uint32_t num = 100, uint32_t den = 100) {
  ir::Filter f;
  f.type = ir::FilterType::kRequestMirror;
  f.mirror = ir::RequestMirror{std::move(to), num, den};
  return f;
}

class H2AttemptsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = std::make_shared<ir::Snapshot>();
    s->version = 1;
    s->backends = {backend("p", 9001, true),   backend("q", 9002, true), backend("m-rule", 9003),
                   backend("m-p", 9004, true), backend("m-q", 9005),     backend("m-never", 9006),
                   backend("m-empty", 0)};
    ir::Port port;
    port.address = "127.0.0.1";
    port.port = 8080;
    ir::HttpListener l;
    l.name = "gw/http";
    ir::Rule r;
    r.route = "HTTPRoute/default/r";
    r.filters = {mirror("m-rule"), mirror("m-never", 0, 1), mirror("m-empty")};
    r.backends.push_back(ir::WeightedBackend{"p", 1, {mirror("m-p")}});
    r.backends.push_back(ir::WeightedBackend{"q", 1, {mirror("m-q")}});
    r.retry.codes = {500, 503};
    r.retry.attempts = 2;
    l.rules.push_back(r);
    ir::Rule plain;
    plain.route = "HTTPRoute/default/plain";
    plain.backends.push_back(ir::WeightedBackend{"p", 1, {}});
    l.rules.push_back(plain);
    ir::RouteEntry e;
    e.match.path.type = ir::PathMatchType::kPathPrefix;
    e.match.path.value = "/";
    e.rule = 0;
    l.entries.push_back(e);
    ir::RouteEntry e2 = e;
    e2.match.path.value = "/plain";
    e2.rule = 1;
    l.entries.insert(l.entries.begin(), e2);
    port.http_listeners.push_back(l);
    s->ports.push_back(port);
    w_.setTable(RouteTable::build(s, nullptr));
    w_.io().poll();
    lt_ = w_.currentTable();
    const RouteTable& t = *lt_->table;
    std::vector<http1::Header> headers;
    RequestInfo ri;
    ri.method = "GET";
    ri.host = "a.example";
    ri.headers = &headers;
    ri.path = "/x";
    rule_ = t.route(0, ri);
    ri.path = "/plain";
    plain_ = t.route(0, ri);
    ASSERT_NE(rule_, nullptr);
    ASSERT_NE(plain_, nullptr);
    ASSERT_NE(rule_, plain_);
  }

  std::vector<std::string> mirrorsFor(uint32_t backend_pos) {
    std::vector<std::string> out;
    upstream::forEachMirror(
        *lt_.get(), *rule_, backend_pos,
        [&](const CompiledBackend& b, uint32_t&) { out.push_back(b.ir->name); });
    return out;
  }

  upstream::H2Attempts::Params params(const CompiledRule& r) {
    return upstream::H2Attempts::Params{.w = w_,
                                        .lt = *lt_.get(),
                                        .rule = r,
                                        .backend_pos = 0,
                                        .backend = lt_->table->backend(0),
                                        .rr = &lt_->backend_rr[0]};
  }

  Worker w_{0, Options{}};
  LocalTableRef lt_;
  const CompiledRule* rule_ = nullptr;
  const CompiledRule* plain_ = nullptr;
};

TEST_F(H2AttemptsTest, MirrorsOfTheRuleAndOfThePickedBackendRef) {
  // Rule-level mirrors apply to every request; a backendRef's only to requests sent to it; 0/1
  // never samples; a mirror backend without endpoints is skipped.
  EXPECT_EQ(mirrorsFor(0), (std::vector<std::string>{"m-rule", "m-p"}));
  EXPECT_EQ(mirrorsFor(1), (std::vector<std::string>{"m-rule", "m-q"}));
}

TEST_F(H2AttemptsTest, MirrorProtocolFollowsTheBackend) {
  const RouteTable& t = *lt_->table;
  for (uint32_t i = 0; i < t.backendCount(); ++i) {
    const CompiledBackend& b = t.backend(i);
    const bool h2 = b.ir->name == "p" || b.ir->name == "q" || b.ir->name == "m-p";
    EXPECT_EQ(upstream::http2Backend(b), h2) << b.ir->name;
  }
}

TEST_F(H2AttemptsTest, RetryDecisions) {
  upstream::H2Attempts at(params(*rule_), upstream::H2Request{});
  upstream::H2Event ev;
  ev.type = upstream::H2EventType::kHeaders;
  ev.status = 500;
  EXPECT_TRUE(at.wantsRetry(ev));  // a status in codes
  ev.status = 503;
  EXPECT_TRUE(at.wantsRetry(ev));
  ev.status = 502;
  EXPECT_FALSE(at.wantsRetry(ev));  // not in codes
  ev.status = 200;
  EXPECT_FALSE(at.wantsRetry(ev));
  // Connection errors and attempt timeouts are retried whenever a retry stanza is set.
  for (auto type : {upstream::H2EventType::kReset, upstream::H2EventType::kConnectFailed,
                    upstream::H2EventType::kTimeout}) {
    ev.type = type;
    EXPECT_TRUE(at.wantsRetry(ev)) << static_cast<int>(type);
  }
  ev.type = upstream::H2EventType::kEnd;
  EXPECT_FALSE(at.wantsRetry(ev));
}

TEST_F(H2AttemptsTest, NoRetryWithoutPolicy) {
  upstream::H2Attempts at(params(*plain_), upstream::H2Request{});
  upstream::H2Event ev;
  ev.type = upstream::H2EventType::kReset;
  EXPECT_FALSE(at.wantsRetry(ev));
  EXPECT_FALSE(at.mayReplay());
}

TEST_F(H2AttemptsTest, BodyReplayBound) {
  upstream::H2Request req;
  req.has_body = true;
  upstream::H2Attempts at(params(*rule_), req);
  EXPECT_TRUE(at.mayReplay());
  EXPECT_FALSE(at.canReplay());  // the body has not ended
  at.capture(std::string(40 * 1024, 'a'));
  at.capture(std::string(24 * 1024, 'b'));  // exactly 64 KiB: still replayable
  EXPECT_TRUE(at.mayReplay());
  upstream::H2Event ev;
  ev.type = upstream::H2EventType::kReset;
  EXPECT_TRUE(at.wantsRetry(ev));
  at.capture("c");  // one byte past the bound: streamed past what can be replayed
  EXPECT_FALSE(at.mayReplay());
  EXPECT_FALSE(at.wantsRetry(ev));
  at.endBody({});
  EXPECT_TRUE(at.bodyComplete());
  EXPECT_FALSE(at.canReplay());
  w_.io().poll();  // the rule's mirrors are not spawned for an overflowed body
}

}  // namespace
}  // namespace gantry::dataplane

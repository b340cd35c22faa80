// The admin API server: routes, status codes, keep-alive, and the Kubernetes shape of /status.
#include "server/admin.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <simdjson.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>

namespace gantry::server {
namespace {

// Sends raw bytes to 127.0.0.1:port and reads until the peer closes (or `until` responses).
std::string rawExchange(uint16_t port, const std::string& request) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "";
  }
  [[maybe_unused]] auto w = ::write(fd, request.data(), request.size());
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, n);
  }
  ::close(fd);
  return out;
}

std::string get(uint16_t port, const std::string& path) {
  return rawExchange(port, "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
}

std::string bodyOf(const std::string& response) {
  auto p = response.find("\r\n\r\n");
  return p == std::string::npos ? "" : response.substr(p + 4);
}

api::Condition cond(std::string type, std::string status, std::string reason) {
  api::Condition c;
  c.type = std::move(type);
  c.status = std::move(status);
  c.reason = std::move(reason);
  c.message = "m \"quoted\"\n";
  c.observed_generation = 3;
  c.last_transition_time = "2026-01-01T00:00:00Z";
  return c;
}

std::vector<api::ObjectStatus> sampleStatuses() {
  std::vector<api::ObjectStatus> v;
  api::ObjectStatus gc;
  gc.api_version = "gateway.networking.k8s.io/v1";
  gc.kind = "GatewayClass";
  gc.name = "gantry";
  gc.generation = 1;
  gc.conditions = {cond("Accepted", "True", "Accepted")};
  gc.supported_features = {"Gateway", "HTTPRoute"};
  v.push_back(gc);

  api::ObjectStatus gw;
  gw.api_version = "gateway.networking.k8s.io/v1";
  gw.kind = "Gateway";
  gw.name = "gw";
  gw.namespace_ = "infra";
  gw.generation = 3;
  gw.conditions = {cond("Accepted", "True", "Accepted"), cond("Programmed", "True", "Programmed")};
  gw.addresses = {{"IPAddress", "127.0.0.1"}};
  api::ListenerStatus ls;
  ls.name = "http";
  ls.supported_kinds = {{"gateway.networking.k8s.io", "HTTPRoute"}};
  ls.attached_routes = 2;
  ls.conditions = {cond("Accepted", "True", "Accepted")};
  gw.listeners = {ls};
  v.push_back(gw);

  api::ObjectStatus r;
  r.api_version = "gateway.networking.k8s.io/v1";
  r.kind = "HTTPRoute";
  r.name = "r";
  r.namespace_ = "team-a";
  r.generation = 2;
  api::RouteParentStatus ps;
  ps.parent_ref.name = "gw";
  ps.parent_ref.namespace_ = "infra";
  ps.parent_ref.section_name = "http";
  ps.controller_name = "gantry.io/gateway-controller";
  ps.conditions = {cond("Accepted", "False", "NotAllowedByListeners")};
  r.parents = {ps};
  v.push_back(r);
  return v;
}

class Admin : public ::testing::Test {
 protected:
  void SetUp() override {
    AdminSource src;
    src.statuses = [] { return sampleStatuses(); };
    src.errors = [] {
      return std::vector<api::ValidationError>{
          {"/cfg/a.yaml", 3, "HTTPRoute default/r", "spec.rules[0]", "bad"}};
    };
    src.snapshot = [] { return ir::SnapshotPtr(); };
    src.ready = [this] { return ready_.load(); };
    auto a = AdminServer::start("127.0.0.1:0", std::move(src));
    ASSERT_TRUE(a.isOk()) << a.status().message();
    admin_ = std::move(a.value());
    ASSERT_NE(admin_->port(), 0);
  }
  void TearDown() override { admin_->stop(); }
  std::atomic<bool> ready_{false};
  std::unique_ptr<AdminServer> admin_;
};

TEST_F(Admin, HealthAndReadiness) {
  EXPECT_EQ(get(admin_->port(), "/healthz").substr(0, 12), "HTTP/1.1 200");
  EXPECT_EQ(get(admin_->port(), "/readyz").substr(0, 12), "HTTP/1.1 503");
  // No snapshot yet: /config has nothing to show.
  EXPECT_EQ(get(admin_->port(), "/config").substr(0, 12), "HTTP/1.1 503");
  ready_ = true;
  EXPECT_EQ(get(admin_->port(), "/readyz").substr(0, 12), "HTTP/1.1 200");
}

TEST_F(Admin, UnknownPathAndMethod) {
  EXPECT_EQ(get(admin_->port(), "/nope").substr(0, 12), "HTTP/1.1 404");
  auto r = rawExchange(admin_->port(),
                       "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: "
                       "close\r\n\r\n");
  EXPECT_EQ(r.substr(0, 12), "HTTP/1.1 405");
  EXPECT_EQ(rawExchange(admin_->port(), "GARBAGE\r\n\r\n").substr(0, 12), "HTTP/1.1 400");
}

TEST_F(Admin, KeepAliveServesSeveralRequests) {
  auto r = rawExchange(admin_->port(),
                       "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                       "GET /readyz?verbose=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_NE(r.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_NE(r.find("HTTP/1.1 503"), std::string::npos);
}

TEST_F(Admin, StatusIsKubernetesShaped) {
  auto resp = get(admin_->port(), "/status");
  ASSERT_EQ(resp.substr(0, 12), "HTTP/1.1 200");
  EXPECT_NE(resp.find("Content-Type: application/json"), std::string::npos);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto body = bodyOf(resp);
  ASSERT_EQ(parser.parse(body).get(root), simdjson::SUCCESS) << body;
  simdjson::dom::array items;
  ASSERT_EQ(root["items"].get(items), simdjson::SUCCESS);
  ASSERT_EQ(items.size(), 3u);

  auto gc = items.at(0).value();
  EXPECT_EQ(std::string_view(gc["kind"]), "GatewayClass");
  EXPECT_EQ(gc["metadata"]["namespace"].error(), simdjson::NO_SUCH_FIELD);  // cluster-scoped
  EXPECT_EQ(std::string_view(gc["status"]["supportedFeatures"].at(1)["name"]), "HTTPRoute");

  auto gw = items.at(1).value();
  EXPECT_EQ(std::string_view(gw["metadata"]["namespace"]), "infra");
  EXPECT_EQ(int64_t(gw["metadata"]["generation"]), 3);
  EXPECT_EQ(std::string_view(gw["status"]["addresses"].at(0)["value"]), "127.0.0.1");
  auto c0 = gw["status"]["conditions"].at(0).value();
  EXPECT_EQ(std::string_view(c0["type"]), "Accepted");
  EXPECT_EQ(std::string_view(c0["status"]), "True");
  EXPECT_EQ(std::string_view(c0["reason"]), "Accepted");
  EXPECT_EQ(std::string_view(c0["message"]), "m \"quoted\"\n");
  EXPECT_EQ(int64_t(c0["observedGeneration"]), 3);
  EXPECT_EQ(std::string_view(c0["lastTransitionTime"]), "2026-01-01T00:00:00Z");
  auto l0 = gw["status"]["listeners"].at(0).value();
  EXPECT_EQ(std::string_view(l0["name"]), "http");
  EXPECT_EQ(int64_t(l0["attachedRoutes"]), 2);
  EXPECT_EQ(std::string_view(l0["supportedKinds"].at(0)["group"]), "gateway.networking.k8s.io");
  EXPECT_EQ(std::string_view(l0["supportedKinds"].at(0)["kind"]), "HTTPRoute");

  auto r = items.at(2).value();
  auto p0 = r["status"]["parents"].at(0).value();
  EXPECT_EQ(std::string_view(p0["controllerName"]), "gantry.io/gateway-controller");
  EXPECT_EQ(std::string_view(p0["parentRef"]["group"]), "gateway.networking.k8s.io");
  EXPECT_EQ(std::string_view(p0["parentRef"]["kind"]), "Gateway");
  EXPECT_EQ(std::string_view(p0["parentRef"]["namespace"]), "infra");
  EXPECT_EQ(std::string_view(p0["parentRef"]["sectionName"]), "http");
  EXPECT_EQ(p0["parentRef"]["port"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(std::string_view(p0["conditions"].at(0)["reason"]), "NotAllowedByListeners");
}

TEST_F(Admin, Errors) {
  auto resp = get(admin_->port(), "/errors");
  ASSERT_EQ(resp.substr(0, 12), "HTTP/1.1 200");
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  auto body = bodyOf(resp);
  ASSERT_EQ(parser.parse(body).get(root), simdjson::SUCCESS) << body;
  EXPECT_EQ(int64_t(root["count"]), 1);
  EXPECT_EQ(std::string_view(root["errors"].at(0)["file"]), "/cfg/a.yaml");
  EXPECT_EQ(int64_t(root["errors"].at(0)["line"]), 3);
  EXPECT_EQ(std::string_view(root["errors"].at(0)["field"]), "spec.rules[0]");
}

TEST(AdminAddress, Split) {
  auto a = splitHostPort("127.0.0.1:9901");
  ASSERT_TRUE(a.isOk());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 9901);
  auto b = splitHostPort("[::1]:80");
  ASSERT_TRUE(b.isOk());
  EXPECT_EQ(b->first, "::1");
  EXPECT_EQ(splitHostPort("localhost:1")->first, "127.0.0.1");
  EXPECT_FALSE(splitHostPort("nope").isOk());
  EXPECT_FALSE(splitHostPort("h:99999").isOk());
  EXPECT_FALSE(splitHostPort("h:").isOk());
}

TEST(AdminBindFailure, IsAStatusNotACrash) {
  AdminSource src;
  auto first = AdminServer::start("127.0.0.1:0", src);
  ASSERT_TRUE(first.isOk());
  auto second = AdminServer::start("127.0.0.1:" + std::to_string((*first)->port()), src);
  EXPECT_FALSE(second.isOk());
  EXPECT_FALSE(AdminServer::start("not-an-ip:80", src).isOk());
}

}  // namespace
}  // namespace gantry::server

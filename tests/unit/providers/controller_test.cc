// Controller::start with a fake Server: initial publish, live reload, readiness, status kept
// across reloads, and host refusals (bind failures) fed back into status.
#include "server/controller.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

namespace gantry::server {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

class FakeServer : public Server {
 public:
  Status publish(ir::SnapshotPtr s) override {
    std::lock_guard lock(mu_);
    current_ = s;
    ++published_;
    cv_.notify_all();
    std::string err;
    for (const auto& p : s->ports) {
      if (p.port == refuse_port_) {
        err += (err.empty() ? "" : "; ") + p.address + ":" + std::to_string(p.port) +
               ": Address already in use";
      }
    }
    return err.empty() ? Status::ok() : Status::error(err);
  }
  ir::SnapshotPtr current() const override {
    std::lock_guard lock(mu_);
    return current_;
  }
  void run() override {}
  void shutdown() override {}

  int published() const {
    std::lock_guard lock(mu_);
    return published_;
  }
  bool waitPublished(int n, milliseconds limit = milliseconds(3000)) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return published_ >= n; });
  }
  uint16_t refuse_port_ = 0;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  ir::SnapshotPtr current_;
  int published_ = 0;
};

class Controllers : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "gantry-controller-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  void TearDown() override {
    if (controller_) controller_->stop();
    fs::remove_all(dir_);
  }
  void write(const std::string& rel, const std::string& text) {
    const auto tmp = dir_ + "/." + rel + ".tmp";
    {
      std::ofstream out(tmp);
      out << text;
    }
    fs::rename(tmp, dir_ + "/" + rel);
  }
  Status start() {
    ControllerOptions o;
    o.config_dir = dir_;
    auto c = Controller::start(o, server_);
    if (!c.isOk()) return c.status();
    controller_ = std::move(c.value());
    return Status::ok();
  }

  std::string dir_;
  FakeServer server_;
  std::unique_ptr<Controller> controller_;
};

std::string gatewayYaml(int port, const std::string& name = "gw") {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: " + name +
         "\n  namespace: default\nspec:\n  gatewayClassName: gantry\n  addresses:\n"
         "    - type: IPAddress\n      value: 127.0.0.1\n  listeners:\n    - name: http\n"
         "      protocol: HTTP\n      port: " +
         std::to_string(port) + "\n---\n";
}

const char* kClass =
    "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata:\n  name: gantry\n"
    "spec:\n  controllerName: gantry.io/gateway-controller\n---\n";

TEST_F(Controllers, UnreadableFolderIsAnError) {
  ControllerOptions o;
  o.config_dir = dir_ + "/missing";
  auto c = Controller::start(o, server_);
  ASSERT_FALSE(c.isOk());
  EXPECT_NE(c.status().message().find("missing"), std::string::npos);
  EXPECT_EQ(server_.published(), 0);
}

TEST_F(Controllers, PublishesAtStartAndOnChange) {
  write("gw.yaml", std::string(kClass) + gatewayYaml(18080));
  ASSERT_TRUE(start().isOk());
  ASSERT_EQ(server_.published(), 1);
  auto snap = server_.current();
  ASSERT_EQ(snap->ports.size(), 1u);
  EXPECT_EQ(snap->ports[0].port, 18080);
  const auto v1 = snap->version;

  write("gw.yaml", std::string(kClass) + gatewayYaml(18081));
  ASSERT_TRUE(server_.waitPublished(2));
  snap = server_.current();
  EXPECT_GT(snap->version, v1);
  ASSERT_EQ(snap->ports.size(), 1u);
  EXPECT_EQ(snap->ports[0].port, 18081);

  // A change that does not parse publishes nothing new: the last snapshot keeps serving.
  write("gw.yaml", "kind: Gateway\nmetadata: [unclosed\n");
  std::this_thread::sleep_for(milliseconds(200));
  EXPECT_EQ(server_.current()->ports.at(0).port, 18081);
}

TEST_F(Controllers, RefusedPortBecomesPortUnavailable) {
  server_.refuse_port_ = 18090;
  write("gw.yaml", std::string(kClass) + gatewayYaml(18090, "busy") + gatewayYaml(18091, "ok"));
  ASSERT_TRUE(start().isOk());
  // The first publish was refused for 18090; the controller translated again with that fact and
  // published the result (the status side is checked end to end by
  // test_port_held_by_another_process_is_reported_not_fatal).
  EXPECT_EQ(server_.published(), 2);
  bool has_ok = false;
  for (const auto& p : server_.current()->ports) has_ok |= p.port == 18091;
  EXPECT_TRUE(has_ok);
}

}  // namespace
}  // namespace gantry::server

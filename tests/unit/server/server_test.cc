// Server: binding ports from snapshots (partial failure reported, the rest served), RCU swap
// across worker threads, and shutdown.
#include "server/server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

namespace gantry::server {
namespace {

uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool canConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::shared_ptr<ir::Snapshot> snapshotWithPorts(uint64_t version, std::vector<uint16_t> ports) {
  auto s = std::make_shared<ir::Snapshot>();
  s->version = version;
  for (uint16_t p : ports) {
    ir::Port port;
    port.address = "127.0.0.1";
    port.port = p;
    s->ports.push_back(port);
  }
  return s;
}

TEST(Server, PublishBindsAndReleasesOldSnapshot) {
  ServerOptions o;
  o.workers = 2;
  auto server = Server::create(o);
  ASSERT_TRUE(server);
  uint16_t port = freePort();
  auto a = snapshotWithPorts(1, {port});
  std::weak_ptr<ir::Snapshot> weak_a = a;
  ASSERT_TRUE((*server)->publish(a));
  a.reset();
  EXPECT_TRUE(canConnect(port));
  EXPECT_EQ((*server)->current()->version, 1u);

  ASSERT_TRUE((*server)->publish(snapshotWithPorts(2, {port})));
  EXPECT_EQ((*server)->current()->version, 2u);
  // Workers swap asynchronously; each drops its reference to A on its own thread.
  for (int i = 0; i < 200 && !weak_a.expired(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_TRUE(weak_a.expired());
  EXPECT_TRUE(canConnect(port));
}

TEST(Server, PortThatCannotBindIsReportedRestServed) {
  // Occupy a port without SO_REUSEPORT so that the server's bind fails.
  int blocker = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(blocker, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ::listen(blocker, 1);
  socklen_t len = sizeof a;
  ::getsockname(blocker, reinterpret_cast<sockaddr*>(&a), &len);
  uint16_t taken = ntohs(a.sin_port);
  uint16_t good = freePort();

  ServerOptions o;
  o.workers = 1;
  auto server = Server::create(o);
  ASSERT_TRUE(server);
  Status st = (*server)->publish(snapshotWithPorts(1, {taken, good}));
  EXPECT_FALSE(st);
  EXPECT_NE(st.message().find(std::to_string(taken)), std::string::npos) << st.message();
  EXPECT_TRUE(canConnect(good));
  ::close(blocker);
}

TEST(Server, UnpublishedPortIsUnbound) {
  ServerOptions o;
  o.workers = 2;
  auto server = Server::create(o);
  uint16_t p1 = freePort(), p2 = freePort();
  ASSERT_TRUE((*server)->publish(snapshotWithPorts(1, {p1, p2})));
  EXPECT_TRUE(canConnect(p2));
  ASSERT_TRUE((*server)->publish(snapshotWithPorts(2, {p1})));
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    closed = !canConnect(p2);
    if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_TRUE(closed);
  EXPECT_TRUE(canConnect(p1));
}

TEST(Server, RunReturnsAfterShutdown) {
  ServerOptions o;
  o.workers = 2;
  o.drain_timeout_ms = 500;
  auto server = Server::create(o);
  ASSERT_TRUE((*server)->publish(snapshotWithPorts(1, {freePort()})));
  std::thread t([&] { (*server)->run(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = std::chrono::steady_clock::now();
  (*server)->shutdown();
  t.join();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
}

}  // namespace
}  // namespace gantry::server

// UDPRoute data plane: one UdpListener per UDP port per worker, on its own SO_REUSEPORT socket
// (the kernel spreads client addresses over workers by the 4-tuple hash, so one client's
// datagrams stay on one worker).
//
// A session is keyed by the client's address and port. Its first datagram picks a backend of the
// port's UDPRoute (weights) and an endpoint; the session gets its own connected UDP socket to that
// endpoint, so replies are told apart by socket and sent back to the client from the listener
// socket (the address the client sent to). Datagrams are relayed one by one, never merged or
// split; when a socket buffer is full the datagram is dropped, as the network would. A session
// ends after idle_timeout_ms without a datagram in either direction. The first datagram of a
// session uses the routes current at that moment; an existing session keeps its backend across
// snapshot changes. Drain (SIGTERM) and port removal close the listener and its sessions.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/udp.hpp>
#include <asio/steady_timer.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>

#include "dataplane/worker.h"

namespace gantry::dataplane::l4 {

class UdpListener : public std::enable_shared_from_this<UdpListener> {
 public:
  // `socket` is bound (SO_REUSEPORT) on the worker's io_context.
  UdpListener(Worker& worker, std::unique_ptr<asio::ip::udp::socket> socket,
              std::shared_ptr<const PortKey> key);
  ~UdpListener();
  UdpListener(const UdpListener&) = delete;
  UdpListener& operator=(const UdpListener&) = delete;

  // Worker thread only.
  void start();
  void close();
  const PortKey& key() const { return *key_; }
  size_t sessionCount() const { return sessions_.size(); }

 private:
  struct Session {
    explicit Session(asio::io_context& io) : up(io) {}
    asio::ip::udp::endpoint client;
    asio::ip::udp::socket up;  // connected to the chosen backend endpoint
    int64_t last_ms = 0;
    bool ended = false;
  };
  struct EndpointHash {
    size_t operator()(const asio::ip::udp::endpoint& e) const;
  };

  asio::awaitable<void> receiveLoop(std::shared_ptr<UdpListener> self);
  asio::awaitable<void> sessionLoop(std::shared_ptr<UdpListener> self, Session* s);
  Session* newSession(const asio::ip::udp::endpoint& client);
  void startSweep();
  void sweep();

  Worker& worker_;
  std::unique_ptr<asio::ip::udp::socket> socket_;
  std::shared_ptr<const PortKey> key_;
  asio::steady_timer sweep_timer_;
  std::unique_ptr<char[]> buf_;  // one datagram; consumed before the next wait (no overlap)
  std::unordered_map<asio::ip::udp::endpoint, std::unique_ptr<Session>, EndpointHash> sessions_;
  bool closed_ = false;
};

}  // namespace gantry::dataplane::l4

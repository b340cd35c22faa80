// The HTTP/1.1 reverse-proxy connection handler: one coroutine per downstream connection
// (docs/life-of-a-request.md walks through it step by step).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <memory>

#include "dataplane/worker.h"

namespace gantry::dataplane {

// Accepts connections on one acceptor until it is closed. Runs on the worker thread.
asio::awaitable<void> acceptLoop(Worker& worker, std::shared_ptr<asio::ip::tcp::acceptor> acceptor,
                                 std::shared_ptr<const PortKey> port);

// Serves one downstream connection until it closes (returns at once; the connection lives on in
// its pending operations). Worker thread only. The socket may be any stream socket (the fuzz
// target passes one end of a socketpair).
void serveConnection(Worker& worker, asio::ip::tcp::socket socket,
                     std::shared_ptr<const PortKey> port);

}  // namespace gantry::dataplane

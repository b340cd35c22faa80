#include "dataplane/io/read_readiness.h"

#include <asio/version.hpp>
#include <type_traits>

// The flag lives in private state of Asio's reactor (epoll_reactor::descriptor_state) reached
// through the socket's protected implementation object. Both are named through explicit template
// instantiations, where access checking does not apply ([temp.spec.general]/6), so this is plain
// standard C++ and it breaks at compile time, not at run time, if Asio renames them.
#if ASIO_VERSION == 102201 && defined(ASIO_HAS_EPOLL) && !defined(ASIO_HAS_IO_URING_AS_DEFAULT)
#define GANTRY_READINESS_HINT 1
#endif

namespace gantry::dataplane::io {

#ifdef GANTRY_READINESS_HINT
namespace {

using Reactor = asio::detail::epoll_reactor;
static_assert(std::is_same_v<asio::detail::reactor, Reactor>,
              "read readiness hints assume Asio's epoll reactor");
using SocketBase = asio::basic_socket<asio::ip::tcp, asio::any_io_executor>;

template <class Tag, typename Tag::type Member>
struct Grant {
  friend typename Tag::type member(Tag) { return Member; }
};

struct TrySpeculative {
  using type = bool (Reactor::descriptor_state::*)[Reactor::max_ops];
  friend type member(TrySpeculative);
};
template struct Grant<TrySpeculative, &Reactor::descriptor_state::try_speculative_>;

struct SocketImpl {
  using type = asio::detail::io_object_impl<asio::detail::reactive_socket_service<asio::ip::tcp>,
                                            asio::any_io_executor>
      SocketBase::*;
  friend type member(SocketImpl);
};
template struct Grant<SocketImpl, &SocketBase::impl_>;

}  // namespace

void markReadDrained(asio::ip::tcp::socket& s) {
  SocketBase& base = s;
  Reactor::per_descriptor_data state =
      (base.*member(SocketImpl{})).get_implementation().reactor_data_;
  // Only the worker thread that runs this socket's io_context touches its reactor state (the
  // io_context runs with ASIO_CONCURRENCY_HINT_UNSAFE_IO: no descriptor lock to take).
  if (state != nullptr) (state->*member(TrySpeculative{}))[Reactor::read_op] = false;
}

#else

void markReadDrained(asio::ip::tcp::socket&) {}

#endif

}  // namespace gantry::dataplane::io

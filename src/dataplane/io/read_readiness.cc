#include "dataplane/io/read_readiness.h"

#include <sys/epoll.h>

#include <type_traits>

// The flags live in private state of Asio's reactor (epoll_reactor::descriptor_state) reached
// through the socket's protected implementation object. They are named through explicit template
// instantiations, where access checking does not apply ([temp.spec.general]/6), so this is
// standard C++ and it breaks at compile time, not at run time, if Asio renames them.

namespace gantry::dataplane::io {

#ifdef GANTRY_READINESS_HINT
namespace {

using Reactor = asio::detail::epoll_reactor;
using State = Reactor::descriptor_state;
static_assert(std::is_same_v<asio::detail::reactor, Reactor>,
              "read readiness hints assume Asio's epoll reactor");
using SocketBase = asio::basic_socket<asio::ip::tcp, asio::any_io_executor>;

template <class Tag, typename Tag::type Member>
struct Grant {
  friend typename Tag::type member(Tag) { return Member; }
};

struct TrySpeculative {
  using type = bool (State::*)[Reactor::max_ops];
  friend type member(TrySpeculative);
};
template struct Grant<TrySpeculative, &State::try_speculative_>;

struct RegisteredEvents {
  using type = uint32_t State::*;
  friend type member(RegisteredEvents);
};
template struct Grant<RegisteredEvents, &State::registered_events_>;

// The events of the descriptor's last epoll report (set_ready_events), kept in its operation base.
struct TaskResult {
  using type = unsigned int asio::detail::scheduler_operation::*;
  friend type member(TaskResult);
};
template struct Grant<TaskResult, &asio::detail::scheduler_operation::task_result_>;

struct SocketImpl {
  using type = asio::detail::io_object_impl<asio::detail::reactive_socket_service<asio::ip::tcp>,
                                            asio::any_io_executor>
      SocketBase::*;
  friend type member(SocketImpl);
};
template struct Grant<SocketImpl, &SocketBase::impl_>;

auto& implOf(asio::ip::tcp::socket& s) {
  SocketBase& base = s;
  return (base.*member(SocketImpl{})).get_implementation();
}

State* stateOf(asio::ip::tcp::socket& s) { return implOf(s).reactor_data_; }

unsigned int lastEvents(State* st) {
  // descriptor_state derives privately from scheduler_operation; a C-style cast converts to an
  // inaccessible base ([expr.cast]/4).
  return ((asio::detail::scheduler_operation*)st)->*member(TaskResult{});  // NOLINT
}

// The reactor of the worker thread's io_context (use_service takes a lock and searches a list).
Reactor& reactorOf(asio::ip::tcp::socket& s) {
  thread_local asio::execution_context* ctx = nullptr;
  thread_local Reactor* reactor = nullptr;
  asio::execution_context& c = asio::query(s.get_executor(), asio::execution::context);
  if (&c != ctx) {
    reactor = &asio::use_service<Reactor>(c);
    ctx = &c;
  }
  return *reactor;
}

}  // namespace

void markReadDrained(asio::ip::tcp::socket& s) {
  if (State* st = stateOf(s)) (st->*member(TrySpeculative{}))[Reactor::read_op] = false;
}

void watchPeerClose(asio::ip::tcp::socket& s) {
  if (State* st = stateOf(s)) st->*member(RegisteredEvents{}) |= EPOLLRDHUP;
}

void noteRead(asio::ip::tcp::socket& s, size_t got, size_t asked) {
  if (got == 0 || got >= asked) return;
  State* st = stateOf(s);
  if (st == nullptr || (st->*member(RegisteredEvents{}) & EPOLLRDHUP) == 0) return;
  // A FIN that arrived with or before these bytes was reported with EPOLLRDHUP, unless its epoll
  // event is still to be processed: then perform_io will set the flag back and do the read.
  if ((lastEvents(st) & EPOLLRDHUP) != 0) return;
  (st->*member(TrySpeculative{}))[Reactor::read_op] = false;
}

bool readDrained(asio::ip::tcp::socket& s) {
  State* st = stateOf(s);
  return st != nullptr && !(st->*member(TrySpeculative{}))[Reactor::read_op];
}

namespace detail {
void startReadWait(asio::ip::tcp::socket& s, asio::detail::reactor_op* op) {
  auto& impl = implOf(s);
  // allow_speculative with the flag false: queued on the registration, no epoll_ctl; a
  // reactive_wait_op's perform() then completes on the next readiness event.
  reactorOf(s).start_op(Reactor::read_op, impl.socket_, impl.reactor_data_, op,
                        /*is_continuation=*/false, /*allow_speculative=*/true);
}
}  // namespace detail

#else

void markReadDrained(asio::ip::tcp::socket&) {}
void watchPeerClose(asio::ip::tcp::socket&) {}
void noteRead(asio::ip::tcp::socket&, size_t, size_t) {}
bool readDrained(asio::ip::tcp::socket&) { return false; }

#endif

}  // namespace gantry::dataplane::io

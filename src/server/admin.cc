#include "server/admin.h"

#include <llhttp.h>

#include <asio.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <atomic>
#include <string_view>
#include <thread>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "ir/json.h"

namespace gantry::server {

namespace {

using asio::ip::tcp;

// ------------------------------------------------------------------------------------------------
// JSON writing (the admin API only writes; `gantry status` reads with simdjson).
// ------------------------------------------------------------------------------------------------

class JsonWriter {
 public:
  std::string& out() { return out_; }
  void raw(std::string_view s) { out_ += s; }
  void str(std::string_view s) { out_ += jsonString(s); }
  void key(std::string_view k) {
    comma();
    str(k);
    out_ += ':';
    need_comma_ = false;
  }
  void beginObject() {
    comma();
    out_ += '{';
    need_comma_ = false;
  }
  void endObject() {
    out_ += '}';
    need_comma_ = true;
  }
  void beginArray() {
    comma();
    out_ += '[';
    need_comma_ = false;
  }
  void endArray() {
    out_ += ']';
    need_comma_ = true;
  }
  void value(std::string_view s) {
    comma();
    str(s);
    need_comma_ = true;
  }
  void value(int64_t v) {
    comma();
    out_ += std::to_string(v);
    need_comma_ = true;
  }
  void field(std::string_view k, std::string_view v) {
    key(k);
    value(v);
  }
  void field(std::string_view k, int64_t v) {
    key(k);
    value(v);
  }

 private:
  void comma() {
    if (need_comma_) out_ += ',';
  }
  std::string out_;
  bool need_comma_ = false;
};

void writeConditions(JsonWriter& w, const std::vector<api::Condition>& conditions) {
  w.key("conditions");
  w.beginArray();
  for (const auto& c : conditions) {
    // metav1.Condition: every field is required (message may be empty).
    w.beginObject();
    w.field("type", c.type);
    w.field("status", c.status);
    w.field("observedGeneration", c.observed_generation);
    w.field("lastTransitionTime", c.last_transition_time);
    w.field("reason", c.reason);
    w.field("message", c.message);
    w.endObject();
  }
  w.endArray();
}

void writeParentRef(JsonWriter& w, const api::ParentReference& r) {
  w.beginObject();
  w.field("group", r.group);
  w.field("kind", r.kind);
  if (r.namespace_) w.field("namespace", *r.namespace_);
  w.field("name", r.name);
  if (r.section_name) w.field("sectionName", *r.section_name);
  if (r.port) w.field("port", int64_t{*r.port});
  w.endObject();
}

bool isRouteKind(std::string_view kind) {
  return kind.size() > 5 && kind.substr(kind.size() - 5) == "Route";
}

void writeStatus(JsonWriter& w, const api::ObjectStatus& s) {
  w.beginObject();
  w.field("apiVersion", s.api_version);
  w.field("kind", s.kind);
  w.key("metadata");
  w.beginObject();
  w.field("name", s.name);
  if (!s.namespace_.empty()) w.field("namespace", s.namespace_);
  w.field("generation", s.generation);
  w.endObject();
  w.key("status");
  w.beginObject();
  if (isRouteKind(s.kind) || s.kind == "BackendTLSPolicy") {
    // RouteStatus.parents / PolicyStatus.ancestors (PolicyAncestorStatus.ancestorRef).
    const bool policy = !isRouteKind(s.kind);
    w.key(policy ? "ancestors" : "parents");
    w.beginArray();
    for (const auto& p : s.parents) {
      w.beginObject();
      w.key(policy ? "ancestorRef" : "parentRef");
      writeParentRef(w, p.parent_ref);
      w.field("controllerName", p.controller_name);
      writeConditions(w, p.conditions);
      w.endObject();
    }
    w.endArray();
  } else {
    if (s.kind == "Gateway") {
      w.key("addresses");
      w.beginArray();
      for (const auto& a : s.addresses) {
        w.beginObject();
        w.field("type", a.type);
        w.field("value", a.value);
        w.endObject();
      }
      w.endArray();
    }
    writeConditions(w, s.conditions);
    if (s.attached_listener_sets) {
      w.field("attachedListenerSets", int64_t{*s.attached_listener_sets});
    }
    if (s.kind == "Gateway" || s.kind == "ListenerSet") {
      w.key("listeners");
      w.beginArray();
      for (const auto& l : s.listeners) {
        w.beginObject();
        w.field("name", l.name);
        w.key("supportedKinds");
        w.beginArray();
        for (const auto& k : l.supported_kinds) {
          w.beginObject();
          w.field("group", k.group);
          w.field("kind", k.kind);
          w.endObject();
        }
        w.endArray();
        w.field("attachedRoutes", int64_t{l.attached_routes});
        writeConditions(w, l.conditions);
        w.endObject();
      }
      w.endArray();
    }
    if (s.kind == "GatewayClass") {
      // v1.2+: supportedFeatures is a list of {name}.
      w.key("supportedFeatures");
      w.beginArray();
      for (const auto& f : s.supported_features) {
        w.beginObject();
        w.field("name", f);
        w.endObject();
      }
      w.endArray();
    }
  }
  w.endObject();
  w.endObject();
}

// ------------------------------------------------------------------------------------------------
// HTTP
// ------------------------------------------------------------------------------------------------

struct Request {
  std::string method;
  std::string url;
  bool keep_alive = true;
};

struct Response {
  int code = 200;
  std::string content_type = "application/json";
  std::string body;
};

const char* reasonPhrase(int code) {
  switch (code) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 503:
      return "Service Unavailable";
    default:
      return "Internal Server Error";
  }
}

struct ParseState {
  std::string url;
  std::vector<Request> done;
};

int onUrl(llhttp_t* p, const char* at, size_t len) {
  static_cast<ParseState*>(p->data)->url.append(at, len);
  return 0;
}
int onMessageComplete(llhttp_t* p) {
  auto* st = static_cast<ParseState*>(p->data);
  st->done.push_back(Request{llhttp_method_name(static_cast<llhttp_method_t>(p->method)),
                             std::move(st->url), llhttp_should_keep_alive(p) != 0});
  st->url.clear();
  return 0;
}

class AdminServerImpl : public AdminServer {
 public:
  AdminServerImpl(AdminSource source) : source_(std::move(source)), acceptor_(io_) {}
  ~AdminServerImpl() override { stop(); }

  Status bind(const std::string& address) {
    auto hp = splitHostPort(address);
    if (!hp.isOk()) return hp.status();
    std::error_code ec;
    auto addr = asio::ip::make_address(hp->first, ec);
    if (ec) return Status::error(fmt::format("admin address {}: {}", address, ec.message()));
    tcp::endpoint ep(addr, hp->second);
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Status::error(fmt::format("admin address {}: {}", address, ec.message()));
    port_ = acceptor_.local_endpoint().port();
    return Status::ok();
  }

  void run() {
    asio::co_spawn(io_, acceptLoop(), asio::detached);
    thread_ = std::thread([this] {
      try {
        io_.run();
      } catch (const std::exception& e) {
        spdlog::error("admin: {}", e.what());
      }
    });
  }

  uint16_t port() const override { return port_; }

  void stop() override {
    if (stopped_.exchange(true)) return;
    io_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  asio::awaitable<void> acceptLoop() {
    for (;;) {
      auto [ec, sock] =
          co_await acceptor_.async_accept(asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) {
        if (ec == asio::error::operation_aborted) co_return;
        continue;
      }
      asio::co_spawn(io_, serve(std::move(sock)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket sock) {
    llhttp_settings_t settings;
    llhttp_settings_init(&settings);
    settings.on_url = onUrl;
    settings.on_message_complete = onMessageComplete;
    llhttp_t parser;
    llhttp_init(&parser, HTTP_REQUEST, &settings);
    ParseState st;
    parser.data = &st;
    char buf[8192];
    for (;;) {
      auto [ec, n] = co_await sock.async_read_some(
          asio::buffer(buf), asio::experimental::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      // Anything but HPE_OK (every byte parsed) is an error here, upgrades included.
      if (llhttp_execute(&parser, buf, n) != HPE_OK) {
        // Named, not a temporary: g++ 12 destroys temporaries in a co_await expression twice.
        const Response bad{400, "text/plain", "bad request\n"};
        co_await write(sock, bad, false);
        co_return;
      }
      if (st.url.size() > 8192) co_return;
      auto requests = std::move(st.done);
      st.done.clear();
      for (const auto& req : requests) {
        const Response resp = handle(req);
        bool ok = co_await write(sock, resp, req.keep_alive);
        if (!ok || !req.keep_alive) co_return;
      }
    }
  }

  asio::awaitable<bool> write(tcp::socket& sock, const Response& r, bool keep_alive) {
    std::string head = fmt::format(
        "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\n"
        "{}\r\n",
        r.code, reasonPhrase(r.code), r.content_type, r.body.size(),
        keep_alive ? "" : "Connection: close\r\n");
    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(r.body)};
    auto [ec, n] =
        co_await asio::async_write(sock, bufs, asio::experimental::as_tuple(asio::use_awaitable));
    co_return !ec;
  }

  Response handle(const Request& req) {
    std::string_view path = req.url;
    if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);
    const bool known = path == "/status" || path == "/config" || path == "/errors" ||
                       path == "/healthz" || path == "/readyz" || path == "/stats";
    if (!known) return Response{404, "text/plain", "not found\n"};
    if (req.method != "GET" && req.method != "HEAD") {
      return Response{405, "text/plain", "method not allowed\n"};
    }
    try {
      if (path == "/healthz") return Response{200, "text/plain", "ok\n"};
      if (path == "/readyz") {
        const bool ready = source_.ready && source_.ready();
        return ready ? Response{200, "text/plain", "ready\n"}
                     : Response{503, "text/plain", "no snapshot published yet\n"};
      }
      if (path == "/status") {
        return Response{200, "application/json",
                        statusesToJson(source_.statuses ? source_.statuses()
                                                        : std::vector<api::ObjectStatus>{})};
      }
      if (path == "/errors") {
        return Response{
            200, "application/json",
            errorsToJson(source_.errors ? source_.errors() : std::vector<api::ValidationError>{})};
      }
      if (path == "/stats") {
        return Response{200, "application/json", source_.stats_json ? source_.stats_json() : "{}"};
      }
      // /config
      auto snap = source_.snapshot ? source_.snapshot() : nullptr;
      if (!snap) return Response{503, "text/plain", "no snapshot published yet\n"};
      return Response{200, "application/json", ir::toJson(*snap)};
    } catch (const std::exception& e) {
      return Response{500, "text/plain", fmt::format("error: {}\n", e.what())};
    }
  }

  AdminSource source_;
  asio::io_context io_{1};
  tcp::acceptor acceptor_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::string jsonString(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  ir::appendJsonString(out, s);
  return out;
}

std::string statusesToJson(const std::vector<api::ObjectStatus>& statuses) {
  JsonWriter w;
  w.beginObject();
  w.field("apiVersion", "v1");
  w.field("kind", "List");
  w.key("items");
  w.beginArray();
  for (const auto& s : statuses) writeStatus(w, s);
  w.endArray();
  w.endObject();
  w.raw("\n");
  return std::move(w.out());
}

std::string errorsToJson(const std::vector<api::ValidationError>& errors) {
  JsonWriter w;
  w.beginObject();
  w.field("count", static_cast<int64_t>(errors.size()));
  w.key("errors");
  w.beginArray();
  for (const auto& e : errors) {
    w.beginObject();
    w.field("file", e.file);
    w.field("line", int64_t{e.line});
    w.field("object", e.object);
    w.field("field", e.field);
    w.field("message", e.message);
    w.endObject();
  }
  w.endArray();
  w.endObject();
  w.raw("\n");
  return std::move(w.out());
}

StatusOr<std::pair<std::string, uint16_t>> splitHostPort(const std::string& address) {
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    auto close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return Status::error(fmt::format("bad address \"{}\": want [v6]:port", address));
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) {
      return Status::error(fmt::format("bad address \"{}\": want host:port", address));
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  if (host.empty() || host == "localhost") host = "127.0.0.1";
  char* end = nullptr;
  long p = std::strtol(port.c_str(), &end, 10);
  if (port.empty() || *end != '\0' || p < 0 || p > 65535) {
    return Status::error(fmt::format("bad port in address \"{}\"", address));
  }
  return std::make_pair(host, static_cast<uint16_t>(p));
}

StatusOr<std::unique_ptr<AdminServer>> AdminServer::start(const std::string& address,
                                                          AdminSource source) {
  auto impl = std::make_unique<AdminServerImpl>(std::move(source));
  if (auto st = impl->bind(address); !st.isOk()) return st;
  impl->run();
  spdlog::info("admin API on {} (port {})", address, impl->port());
  return std::unique_ptr<AdminServer>(std::move(impl));
}

}  // namespace gantry::server

// `gantry status [--admin-address host:port]`: reads GET /status (and GET /config, for the port
// and protocol of each listener, which Gateway status does not carry) from a running gantry and
// prints Gateways, listeners and routes with their conditions.
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <simdjson.h>
#include <asio.hpp>

#include "cli/commands.h"
#include "common/status.h"
#include "server/admin.h"

namespace gantry::cli {

namespace {

using asio::ip::tcp;

// A blocking GET over loopback; returns the body of a 200 response.
StatusOr<std::string> httpGet(const std::string& address, const std::string& path) {
  auto hp = server::splitHostPort(address);
  if (!hp.isOk()) return hp.status();
  try {
    asio::io_context io;
    tcp::socket sock(io);
    tcp::resolver resolver(io);
    asio::connect(sock, resolver.resolve(hp->first, std::to_string(hp->second)));
    std::string req =
        fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", path, address);
    asio::write(sock, asio::buffer(req));
    std::string resp;
    std::error_code ec;
    char buf[16384];
    for (;;) {
      size_t n = sock.read_some(asio::buffer(buf), ec);
      resp.append(buf, n);
      if (ec) break;
    }
    if (ec != asio::error::eof && ec) {
      return Status::error(fmt::format("{}: {}", address, ec.message()));
    }
    auto head_end = resp.find("\r\n\r\n");
    if (head_end == std::string::npos || resp.compare(0, 5, "HTTP/") != 0) {
      return Status::error(fmt::format("{}: not an HTTP response", address));
    }
    auto sp = resp.find(' ');
    int code = std::atoi(resp.c_str() + sp + 1);
    std::string body = resp.substr(head_end + 4);
    if (code != 200) {
      return Status::error(fmt::format("GET {}{}: HTTP {}: {}", address, path, code, body));
    }
    return body;
  } catch (const std::exception& e) {
    return Status::error(fmt::format("cannot reach gantry admin API at {}: {}", address, e.what()));
  }
}

std::string str(simdjson::dom::element e, std::string_view key, std::string_view dflt = "") {
  std::string_view v;
  if (e[key].get(v) == simdjson::SUCCESS) return std::string(v);
  return std::string(dflt);
}

int64_t num(simdjson::dom::element e, std::string_view key) {
  int64_t v = 0;
  if (e[key].get(v) == simdjson::SUCCESS) return v;
  uint64_t u = 0;
  if (e[key].get(u) == simdjson::SUCCESS) return static_cast<int64_t>(u);
  return 0;
}

// "Accepted=True Programmed=False(Invalid)": the reason is shown when the condition is not the
// happy one, to keep the line short.
std::string conditionsSummary(simdjson::dom::element status) {
  simdjson::dom::array conds;
  if (status["conditions"].get(conds) != simdjson::SUCCESS) return "-";
  std::string out;
  for (auto c : conds) {
    const auto type = str(c, "type");
    const auto st = str(c, "status");
    const bool negative_polarity = type == "Conflicted" || type == "OverlappingTLSConfig";
    const bool happy = negative_polarity ? st == "False" : st == "True";
    if (!out.empty()) out += ' ';
    out += type + "=" + st;
    if (!happy) out += "(" + str(c, "reason") + ")";
  }
  return out.empty() ? "-" : out;
}

// Messages of unhappy conditions, printed under the table row.
void printProblems(simdjson::dom::element status, const char* indent) {
  simdjson::dom::array conds;
  if (status["conditions"].get(conds) != simdjson::SUCCESS) return;
  for (auto c : conds) {
    const auto type = str(c, "type");
    const auto st = str(c, "status");
    const bool negative_polarity = type == "Conflicted" || type == "OverlappingTLSConfig";
    const bool happy = negative_polarity ? st == "False" : st == "True";
    const auto msg = str(c, "message");
    if (!happy && !msg.empty()) std::printf("%s%s: %s\n", indent, type.c_str(), msg.c_str());
  }
}

struct PortInfo {
  std::string port;
  std::string protocol;
};

// Listener name "<ns>/<gateway>/<listener>" -> port and protocol, from the active snapshot.
std::map<std::string, PortInfo> listenerPorts(const std::string& admin) {
  std::map<std::string, PortInfo> out;
  auto body = httpGet(admin, "/config");
  if (!body.isOk()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(*body).get(root) != simdjson::SUCCESS) return out;
  simdjson::dom::array ports;
  if (root["ports"].get(ports) != simdjson::SUCCESS) return out;
  for (auto p : ports) {
    PortInfo info{std::to_string(num(p, "port")), str(p, "protocol", "?")};
    // Enum spellings: "kHttp" or "HTTP"; show the Gateway API word.
    if (info.protocol.size() > 1 && info.protocol[0] == 'k')
      info.protocol = info.protocol.substr(1);
    for (auto& ch : info.protocol) ch = static_cast<char>(std::toupper(ch));
    simdjson::dom::array listeners;
    if (p["http_listeners"].get(listeners) != simdjson::SUCCESS) continue;
    for (auto l : listeners) out[str(l, "name")] = info;
  }
  return out;
}

}  // namespace

int status(const std::string& admin_address) {
  auto body = httpGet(admin_address, "/status");
  if (!body.isOk()) {
    std::fprintf(stderr, "gantry status: %s\n", body.status().message().c_str());
    return 1;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  simdjson::dom::array items;
  if (parser.parse(*body).get(root) != simdjson::SUCCESS ||
      root["items"].get(items) != simdjson::SUCCESS) {
    std::fprintf(stderr, "gantry status: unexpected /status body\n");
    return 1;
  }
  const auto ports = listenerPorts(admin_address);

  auto nameOf = [](simdjson::dom::element item) {
    auto md = item["metadata"];
    std::string ns;
    std::string_view v;
    if (md["namespace"].get(v) == simdjson::SUCCESS) ns = std::string(v);
    std::string name;
    if (md["name"].get(v) == simdjson::SUCCESS) name = std::string(v);
    return ns.empty() ? name : ns + "/" + name;
  };

  // GatewayClasses.
  bool any = false;
  for (auto item : items) {
    if (str(item, "kind") != "GatewayClass") continue;
    if (!any) std::printf("GATEWAYCLASS                      CONDITIONS\n");
    any = true;
    auto st = item["status"];
    std::printf("%-33s %s\n", nameOf(item).c_str(), conditionsSummary(st.value()).c_str());
    printProblems(st.value(), "    ");
  }
  if (any) std::printf("\n");

  // Gateways and their listeners.
  any = false;
  for (auto item : items) {
    const auto kind = str(item, "kind");
    if (kind != "Gateway" && kind != "ListenerSet") continue;
    if (!any) std::printf("%-33s %-24s %s\n", "GATEWAY", "ADDRESSES", "CONDITIONS");
    any = true;
    simdjson::dom::element st;
    if (item["status"].get(st) != simdjson::SUCCESS) continue;
    std::string addrs;
    simdjson::dom::array arr;
    if (st["addresses"].get(arr) == simdjson::SUCCESS) {
      for (auto a : arr) addrs += (addrs.empty() ? "" : ",") + str(a, "value");
    }
    const auto name = nameOf(item);
    std::printf("%-33s %-24s %s\n", (kind == "ListenerSet" ? "ListenerSet " + name : name).c_str(),
                addrs.empty() ? "-" : addrs.c_str(), conditionsSummary(st).c_str());
    printProblems(st, "    ");
    if (st["listeners"].get(arr) == simdjson::SUCCESS && arr.size() > 0) {
      std::printf("    %-20s %-6s %-9s %-7s %s\n", "LISTENER", "PORT", "PROTOCOL", "ROUTES",
                  "CONDITIONS");
      for (auto l : arr) {
        const auto lname = str(l, "name");
        auto pit = ports.find(name + "/" + lname);
        std::printf("    %-20s %-6s %-9s %-7lld %s\n", lname.c_str(),
                    pit == ports.end() ? "-" : pit->second.port.c_str(),
                    pit == ports.end() ? "-" : pit->second.protocol.c_str(),
                    static_cast<long long>(num(l, "attachedRoutes")), conditionsSummary(l).c_str());
        printProblems(l, "        ");
      }
    }
  }
  if (any) std::printf("\n");

  // Routes and their parents.
  any = false;
  for (auto item : items) {
    const auto kind = str(item, "kind");
    if (kind.size() < 5 || kind.compare(kind.size() - 5, 5, "Route") != 0) continue;
    if (!any) std::printf("%-45s %-38s %s\n", "ROUTE", "PARENT", "CONDITIONS");
    any = true;
    simdjson::dom::element st;
    simdjson::dom::array parents;
    const auto rname = kind + " " + nameOf(item);
    if (item["status"].get(st) != simdjson::SUCCESS ||
        st["parents"].get(parents) != simdjson::SUCCESS || parents.size() == 0) {
      std::printf("%-45s %-38s %s\n", rname.c_str(), "-", "(no parents)");
      continue;
    }
    bool first = true;
    for (auto p : parents) {
      simdjson::dom::element ref;
      std::string parent = "?";
      if (p["parentRef"].get(ref) == simdjson::SUCCESS) {
        parent = str(ref, "namespace", "") + "/" + str(ref, "name");
        if (parent[0] == '/') parent = parent.substr(1);
        auto section = str(ref, "sectionName");
        if (!section.empty()) parent += "/" + section;
        auto port = num(ref, "port");
        if (port) parent += ":" + std::to_string(port);
      }
      std::printf("%-45s %-38s %s\n", first ? rname.c_str() : "", parent.c_str(),
                  conditionsSummary(p).c_str());
      printProblems(p, "    ");
      first = false;
    }
  }
  if (!any) std::printf("(no routes)\n");
  return 0;
}

}  // namespace gantry::cli

#include "dataplane/filters/ext_authz_grpc.h"

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>

#include "dataplane/clock.h"
#include "dataplane/http1/syntax.h"
#include "dataplane/http1/wire.h"
#include "dataplane/upstream/h2_client.h"
#include "dataplane/worker.h"
#include "envoy/service/auth/v3/external_auth.pb.h"

namespace gantry::dataplane::filters {
namespace {

namespace authv3 = envoy::service::auth::v3;
using HeaderOption = envoy::config::core::v3::HeaderValueOption;

// A CheckResponse larger than this is not an answer gantry takes (the denial body it may carry
// is capped at kMaxAuthBody like the HTTP protocol's).
constexpr size_t kMaxCheckResponse = kMaxAuthBody + 64 * 1024;

using http1::lowerAscii;

// RFC 9110 7.6.1 connection-specific fields: never part of the request the auth server sees.
bool connectionSpecific(std::string_view name) {
  using http1::iequals;
  return iequals(name, "connection") || iequals(name, "keep-alive") ||
         iequals(name, "transfer-encoding") || iequals(name, "te") || iequals(name, "upgrade") ||
         iequals(name, "proxy-connection");
}

bool validName(std::string_view n) {
  return !n.empty() && std::all_of(n.begin(), n.end(), [](char c) {
    return http1::isTchar(static_cast<unsigned char>(c));
  });
}

// RFC 9110 5.5: no CR, LF or NUL in a field value.
bool validValue(std::string_view v) {
  return v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

bool clientHas(const std::vector<http1::Header>* client, std::string_view name) {
  return client != nullptr &&
         std::any_of(client->begin(), client->end(),
                     [&](const http1::Header& h) { return http1::iequals(h.name, name); });
}

// A field a check answer may not touch: Host / pseudo-fields (Envoy ignores them too: changing
// them would make another request) and framing, which gantry regenerates.
bool untouchable(std::string_view name) {
  return name.empty() || name[0] == ':' || authHeaderExcluded(name);
}

// The name and value of one HeaderValueOption; false when the field is not a valid one (a
// pseudo-field name is returned as is: the callers ignore it).
bool fieldOf(const HeaderOption& o, std::string* name, std::string* value) {
  *name = lowerAscii(o.header().key());
  *value = o.header().raw_value().empty() ? o.header().value() : o.header().raw_value();
  const bool pseudo = !name->empty() && (*name)[0] == ':';
  return (pseudo || validName(*name)) && validValue(*value);
}

bool applyOkHeaders(const authv3::OkHttpResponse& ok, const std::vector<http1::Header>* client,
                    AuthEdits* edits) {
  for (const HeaderOption& o : ok.headers()) {
    std::string name, value;
    if (!fieldOf(o, &name, &value)) return false;
    if (untouchable(name)) continue;
    // HeaderValueOption.keep_empty_value: "If false (default), custom headers with empty values
    // are dropped".
    if (value.empty() && !o.keep_empty_value()) continue;
    // OkHttpResponse.headers: "the `append` field in HeaderValueOption defaults to false when
    // used in this message" -- so an option that sets neither `append` nor an explicit action
    // replaces the client's field (a client cannot smuggle in a value the auth server sets).
    bool append = false;
    if (o.has_append()) {
      append = o.append().value();
    } else {
      switch (o.append_action()) {
        case HeaderOption::ADD_IF_ABSENT:
          if (clientHas(client, name)) continue;
          break;
        case HeaderOption::OVERWRITE_IF_EXISTS:
          if (!clientHas(client, name)) continue;
          break;
        default:  // APPEND_IF_EXISTS_OR_ADD (the unset default), OVERWRITE_IF_EXISTS_OR_ADD
          break;
      }
    }
    (append ? edits->append : edits->set).emplace_back(std::move(name), std::move(value));
  }
  for (const std::string& r : ok.headers_to_remove()) {
    if (untouchable(r)) continue;  // "these special headers will be ignored"
    if (!validName(r)) return false;
    edits->remove.push_back(lowerAscii(r));
  }
  return true;
}

// RFC 3629 well-formed UTF-8 (no overlongs, surrogates or code points past U+10FFFF).
bool validUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xe0) == 0xc0) {
      n = 1;
      cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
      n = 2;
      cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    static constexpr uint32_t kMin[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += n + 1;
  }
  return true;
}

// "<service>.<namespace>:<port>" from a backend key "<namespace>/<service>:<port>".
std::string authorityOf(const std::string& backend_name) {
  size_t slash = backend_name.find('/');
  size_t colon = backend_name.rfind(':');
  if (slash == std::string::npos || colon == std::string::npos || colon < slash) {
    return backend_name;
  }
  return backend_name.substr(slash + 1, colon - slash - 1) + "." + backend_name.substr(0, slash) +
         backend_name.substr(colon);
}

}  // namespace

bool buildCheckRequest(const ir::ExternalAuth& cfg, const AuthRequest& req, std::string* out) {
  authv3::CheckRequest cr;
  auto* attrs = cr.mutable_attributes();
  if (req.peer != nullptr) {
    auto* sa = attrs->mutable_source()->mutable_address()->mutable_socket_address();
    sa->set_address(req.peer->address().to_string());
    sa->set_port_value(req.peer->port());
  }
  auto* http = attrs->mutable_request()->mutable_http();
  http->set_method(std::string(req.method));
  std::string path(req.path);
  if (req.has_query) path.append("?").append(req.query);
  http->set_host(std::string(req.host));
  http->set_scheme(req.tls ? "https" : "http");
  http->set_protocol(req.http2 ? "HTTP/2" : "HTTP/1.1");
  http->set_size(req.body_size);
  // A proto3 string must be UTF-8 (a server's decoder may refuse anything else); other bodies go
  // in raw_body, as Envoy's BufferSettings.pack_as_bytes does.
  if (!req.body.empty()) {
    if (validUtf8(req.body)) {
      http->set_body(std::string(req.body));
    } else {
      http->set_raw_body(std::string(req.body));
    }
  }
  // GRPCAuthConfig.allowedHeaders: "If this list is empty, then all headers must be sent. If the
  // list has entries, only those entries must be sent." AttributeContext.HttpRequest.headers:
  // lower-case keys, several fields of one name merged (RFC 9110 5.3: comma-joined).
  auto* headers = http->mutable_headers();
  const bool all = cfg.allowed_request_headers.empty();
  auto wanted = [&](std::string_view name) {
    return all ||
           std::any_of(cfg.allowed_request_headers.begin(), cfg.allowed_request_headers.end(),
                       [&](const std::string& n) { return http1::iequals(n, name); });
  };
  if (all) {
    // As Envoy sends them: the request's pseudo-fields are part of "all headers".
    (*headers)[":method"] = std::string(req.method);
    (*headers)[":path"] = path;
    (*headers)[":authority"] = std::string(req.host);
    (*headers)[":scheme"] = req.tls ? "https" : "http";
  }
  if (req.headers != nullptr) {
    for (const auto& h : *req.headers) {
      if (connectionSpecific(h.name) || !wanted(h.name)) continue;
      std::string& v = (*headers)[lowerAscii(h.name)];
      if (!v.empty()) v.push_back(',');
      v.append(http1::trimOws(h.value));
    }
  }
  http->set_path(std::move(path));
  out->clear();
  return cr.SerializeToString(out);
}

bool parseCheckResponse(std::string_view msg, const std::vector<http1::Header>* client,
                        AuthResult* out) {
  out->kind = AuthResult::Kind::kError;
  out->headers.clear();
  out->edits.clear();
  out->body.clear();
  authv3::CheckResponse resp;
  if (!resp.ParseFromArray(msg.data(), static_cast<int>(msg.size()))) return false;
  if (resp.status().code() == 0) {
    // google.rpc.Code OK: "Status `OK` allows the request."
    if (resp.has_ok_response() && !applyOkHeaders(resp.ok_response(), client, &out->edits)) {
      out->edits.clear();
      return false;
    }
    out->kind = AuthResult::Kind::kAllow;
    out->status = 200;
    return true;
  }
  // "Any other status indicates the request should be denied"; DeniedHttpResponse.status lets
  // the server pick a code "other than 403 (Forbidden)", the default.
  const auto& denied = resp.denied_response();
  const int code = denied.status().code();
  out->status = code >= 200 && code <= 599 ? static_cast<unsigned>(code) : 403;
  for (const HeaderOption& o : denied.headers()) {
    std::string name, value;
    if (!fieldOf(o, &name, &value)) return false;
    if (untouchable(name)) continue;
    out->headers.emplace_back(std::move(name), std::move(value));
  }
  if (denied.body().size() > kMaxAuthBody) return false;
  out->body = denied.body();
  out->kind = AuthResult::Kind::kDeny;
  return true;
}

asio::awaitable<void> checkExternalAuthGrpc(Worker& w, const CompiledBackend& backend, uint32_t& rr,
                                            const ir::ExternalAuth& cfg, const AuthRequest& req,
                                            AuthResult* out) {
  out->kind = AuthResult::Kind::kError;
  std::string msg;
  if (!buildCheckRequest(cfg, req, &msg)) co_return;
  // gRPC length-prefixed message: compressed flag 0, 4-byte big-endian length.
  std::string framed;
  framed.reserve(5 + msg.size());
  framed.push_back('\0');
  const auto len = static_cast<uint32_t>(msg.size());
  for (int shift = 24; shift >= 0; shift -= 8) {
    framed.push_back(static_cast<char>((len >> shift) & 0xff));
  }
  framed.append(msg);

  upstream::H2Request hr;
  hr.method = "POST";
  hr.authority = authorityOf(backend.ir->name);
  hr.path = std::string(kExtAuthzCheckPath);
  hr.headers = {{"content-type", "application/grpc"},
                {"te", "trailers"},
                {"grpc-timeout", std::to_string(kAuthResponseTimeoutMs) + "m"}};
  hr.has_body = true;
  std::unique_ptr<upstream::H2Stream> st = w.h2Pool().open(backend, &rr, std::move(hr));
  st->setDeadline(steadyMs() + kAuthResponseTimeoutMs);
  st->append(framed);
  const bool sent = co_await st->flush(true);  // named: the g++ 12 co_await temporaries note

  std::string body;
  int grpc_status = -1;
  bool ok_head = false;
  auto readStatus = [&](const std::vector<upstream::H2Field>* fields) {
    if (fields == nullptr) return;
    for (const auto& f : *fields) {
      if (f.name == "grpc-status") {
        grpc_status = 0;
        for (char c : f.value)
          grpc_status = c >= '0' && c <= '9' ? grpc_status * 10 + (c - '0') : 99;
      }
    }
  };
  for (;;) {
    upstream::H2Event ev = co_await st->next();
    if (ev.type == upstream::H2EventType::kHeaders) {
      // gRPC over HTTP/2: a valid answer is :status 200 with an application/grpc content type.
      ok_head = ev.status == 200;
      bool grpc_type = false;
      if (ev.fields != nullptr) {
        for (const auto& f : *ev.fields) {
          if (f.name == "content-type" && f.value.rfind("application/grpc", 0) == 0) {
            grpc_type = true;
          }
        }
      }
      ok_head = ok_head && grpc_type;
      readStatus(ev.fields);  // a trailers-only answer carries grpc-status in its head
      if (!ok_head) break;
      continue;
    }
    if (ev.type == upstream::H2EventType::kData) {
      if (body.size() + ev.data.size() > kMaxCheckResponse + 5) break;
      body.append(ev.data);
      continue;
    }
    if (ev.type == upstream::H2EventType::kTrailers) {
      readStatus(ev.fields);
      continue;
    }
    if (ev.type == upstream::H2EventType::kEnd) {
      if (!ok_head) break;
      if (grpc_status != 0) {
        spdlog::debug("external auth (gRPC): grpc-status {}", grpc_status);
        break;
      }
      // Exactly one uncompressed message (unary call).
      if (body.size() < 5 || body[0] != '\0') break;
      uint32_t mlen = 0;
      for (int i = 1; i < 5; ++i) mlen = (mlen << 8) | static_cast<unsigned char>(body[i]);
      if (mlen != body.size() - 5) break;
      if (!parseCheckResponse(std::string_view(body).substr(5), req.headers, out)) {
        spdlog::debug("external auth (gRPC): undecodable CheckResponse");
        out->kind = AuthResult::Kind::kError;
      }
      co_return;
    }
    // kReset, kTimeout, kConnectFailed.
    spdlog::debug("external auth (gRPC) to {}: stream failed ({}, request sent: {})",
                  backend.ir->name, static_cast<int>(ev.type), sent);
    break;
  }
  out->kind = AuthResult::Kind::kError;
}

}  // namespace gantry::dataplane::filters

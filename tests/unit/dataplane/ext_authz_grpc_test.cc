// ExternalAuth protocol GRPC: the CheckRequest gantry builds and how a CheckResponse is read
// (dataplane/filters/ext_authz_grpc.h). The messages are decoded/encoded here with the same
// generated protobuf classes, independently of the code under test's choices.
#include "dataplane/filters/ext_authz_grpc.h"

#include <gtest/gtest.h>

#include "envoy/service/auth/v3/external_auth.pb.h"

namespace gantry::dataplane::filters {
namespace {

namespace authv3 = envoy::service::auth::v3;
using envoy::config::core::v3::HeaderValueOption;

AuthRequest sampleRequest(const std::vector<http1::Header>* headers,
                          const asio::ip::tcp::endpoint* peer) {
  AuthRequest r;
  r.method = "POST";
  r.path = "/api/items";
  r.query = "a=1";
  r.has_query = true;
  r.host = "api.example";
  r.headers = headers;
  r.peer = peer;
  r.tls = true;
  r.http2 = true;
  r.body = "hello";
  r.body_size = 11;
  return r;
}

TEST(ExtAuthzGrpc, CheckRequestCarriesTheHttpAttributes) {
  std::vector<http1::Header> headers = {{"Authorization", "Bearer t"},
                                        {"X-Multi", "a"},
                                        {"x-multi", " b "},
                                        {"Connection", "keep-alive"}};
  asio::ip::tcp::endpoint peer(asio::ip::make_address("10.1.2.3"), 4567);
  ir::ExternalAuth cfg;
  cfg.grpc = true;
  AuthRequest req = sampleRequest(&headers, &peer);
  std::string bytes;
  ASSERT_TRUE(buildCheckRequest(cfg, req, &bytes));
  authv3::CheckRequest cr;
  ASSERT_TRUE(cr.ParseFromString(bytes));
  const auto& http = cr.attributes().request().http();
  EXPECT_EQ(http.method(), "POST");
  EXPECT_EQ(http.path(), "/api/items?a=1");
  EXPECT_EQ(http.host(), "api.example");
  EXPECT_EQ(http.scheme(), "https");
  EXPECT_EQ(http.protocol(), "HTTP/2");
  EXPECT_EQ(http.body(), "hello");
  EXPECT_EQ(http.size(), 11);
  EXPECT_EQ(http.headers().at("authorization"), "Bearer t");
  EXPECT_EQ(http.headers().at("x-multi"), "a,b");  // one entry per name, comma-joined
  EXPECT_EQ(http.headers().count("connection"), 0u);
  EXPECT_EQ(http.headers().at(":authority"), "api.example");
  EXPECT_EQ(cr.attributes().source().address().socket_address().address(), "10.1.2.3");
  EXPECT_EQ(cr.attributes().source().address().socket_address().port_value(), 4567u);

  // allowedHeaders given: only those (case-insensitive), no pseudo-fields.
  cfg.allowed_request_headers = {"x-multi"};
  ASSERT_TRUE(buildCheckRequest(cfg, req, &bytes));
  ASSERT_TRUE(cr.ParseFromString(bytes));
  ASSERT_EQ(cr.attributes().request().http().headers().size(), 1);
  EXPECT_EQ(cr.attributes().request().http().headers().at("x-multi"), "a,b");
}

void addHeader(google::protobuf::RepeatedPtrField<HeaderValueOption>* to, const std::string& k,
               const std::string& v) {
  auto* o = to->Add();
  o->mutable_header()->set_key(k);
  o->mutable_header()->set_value(v);
}

TEST(ExtAuthzGrpc, OkResponseBecomesRequestEdits) {
  authv3::CheckResponse resp;
  resp.mutable_status()->set_code(0);
  auto* ok = resp.mutable_ok_response();
  addHeader(ok->mutable_headers(), "X-User", "alice");
  addHeader(ok->mutable_headers(), "x-trace", "t");
  ok->mutable_headers(1)->mutable_append()->set_value(true);
  addHeader(ok->mutable_headers(), "x-absent", "1");
  ok->mutable_headers(2)->set_append_action(HeaderValueOption::ADD_IF_ABSENT);
  addHeader(ok->mutable_headers(), "x-present", "2");
  ok->mutable_headers(3)->set_append_action(HeaderValueOption::ADD_IF_ABSENT);
  addHeader(ok->mutable_headers(), "x-empty", "");
  addHeader(ok->mutable_headers(), "host", "evil");
  addHeader(ok->mutable_headers(), ":path", "/evil");
  ok->add_headers_to_remove("X-Secret");
  ok->add_headers_to_remove("host");
  std::vector<http1::Header> client = {{"X-Present", "c"}};
  AuthResult r;
  ASSERT_TRUE(parseCheckResponse(resp.SerializeAsString(), &client, &r));
  EXPECT_EQ(r.kind, AuthResult::Kind::kAllow);
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(r.edits.set, (std::vector<P>{{"x-user", "alice"}, {"x-absent", "1"}}));
  EXPECT_EQ(r.edits.append, (std::vector<P>{{"x-trace", "t"}}));
  EXPECT_EQ(r.edits.remove, std::vector<std::string>{"x-secret"});
  EXPECT_TRUE(r.edits.drops("X-USER"));
  EXPECT_TRUE(r.edits.drops("x-secret"));
  EXPECT_FALSE(r.edits.drops("x-trace"));
  EXPECT_FALSE(r.edits.drops("host"));
}

TEST(ExtAuthzGrpc, DeniedResponse) {
  authv3::CheckResponse resp;
  resp.mutable_status()->set_code(16);
  auto* d = resp.mutable_denied_response();
  d->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(401));
  addHeader(d->mutable_headers(), "WWW-Authenticate", "Bearer");
  addHeader(d->mutable_headers(), "content-length", "999");  // framing is gantry's
  d->set_body("no");
  AuthResult r;
  ASSERT_TRUE(parseCheckResponse(resp.SerializeAsString(), nullptr, &r));
  EXPECT_EQ(r.kind, AuthResult::Kind::kDeny);
  EXPECT_EQ(r.status, 401u);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "www-authenticate");
  EXPECT_EQ(r.body, "no");

  // Denied without DeniedHttpResponse, or with a status outside 200-599: 403.
  authv3::CheckResponse bare;
  bare.mutable_status()->set_code(7);
  ASSERT_TRUE(parseCheckResponse(bare.SerializeAsString(), nullptr, &r));
  EXPECT_EQ(r.kind, AuthResult::Kind::kDeny);
  EXPECT_EQ(r.status, 403u);
  d->mutable_status()->set_code(static_cast<envoy::type::v3::StatusCode>(42));
  ASSERT_TRUE(parseCheckResponse(resp.SerializeAsString(), nullptr, &r));
  EXPECT_EQ(r.status, 403u);
}

TEST(ExtAuthzGrpc, BadResponsesAreErrors) {
  AuthResult r;
  EXPECT_FALSE(parseCheckResponse(std::string_view("\xff\xff\xff", 3), nullptr, &r));
  EXPECT_EQ(r.kind, AuthResult::Kind::kError);
  // A header that is not a valid field (CR LF in the value: would inject a line).
  authv3::CheckResponse resp;
  addHeader(resp.mutable_ok_response()->mutable_headers(), "x-a", "v\r\nx-evil: 1");
  EXPECT_FALSE(parseCheckResponse(resp.SerializeAsString(), nullptr, &r));
  EXPECT_EQ(r.kind, AuthResult::Kind::kError);
  authv3::CheckResponse bad_name;
  addHeader(bad_name.mutable_ok_response()->mutable_headers(), "x a", "v");
  EXPECT_FALSE(parseCheckResponse(bad_name.SerializeAsString(), nullptr, &r));
  // An empty message is a valid CheckResponse with status OK: allowed, no edits.
  ASSERT_TRUE(parseCheckResponse("", nullptr, &r));
  EXPECT_EQ(r.kind, AuthResult::Kind::kAllow);
  EXPECT_TRUE(r.edits.empty());
}

}  // namespace
}  // namespace gantry::dataplane::filters

namespace gantry::dataplane::filters {
namespace {

TEST(ExtAuthzBodyPrefix, ContentLengthBodyFedInPieces) {
  BodyPrefix bp(false, 10, 4);
  EXPECT_FALSE(bp.full());
  ASSERT_TRUE(bp.feed("ab", 2));
  EXPECT_FALSE(bp.full());
  ASSERT_TRUE(bp.feed("cdefghij", 8));
  EXPECT_TRUE(bp.full());
  EXPECT_TRUE(bp.complete());
  EXPECT_EQ(bp.body(), "abcd");
  EXPECT_EQ(bp.size(), 10);
}

TEST(ExtAuthzBodyPrefix, ChunkedBodyIsDecoded) {
  BodyPrefix bp(true, 0, 100);
  std::string raw = "3\r\nabc\r\n";
  ASSERT_TRUE(bp.feed(raw.data(), raw.size()));
  EXPECT_FALSE(bp.full());
  EXPECT_EQ(bp.size(), -1);               // not known before the last chunk
  raw = "2\r\nde\r\n0\r\n\r\nGET /next";  // a pipelined request follows
  ASSERT_TRUE(bp.feed(raw.data(), raw.size()));
  EXPECT_TRUE(bp.complete());
  EXPECT_EQ(bp.body(), "abcde");
  EXPECT_EQ(bp.size(), 5);
}

TEST(ExtAuthzBodyPrefix, BadChunkFramingFails) {
  BodyPrefix bp(true, 0, 100);
  std::string raw = "zz\r\nabc\r\n";
  EXPECT_FALSE(bp.feed(raw.data(), raw.size()));
}

TEST(ExtAuthzGrpc, NonUtf8BodyGoesInRawBody) {
  ir::ExternalAuth cfg;
  cfg.grpc = true;
  cfg.forward_body_max = 100;
  AuthRequest req = sampleRequest(nullptr, nullptr);
  const std::string text = "h\xc3\xa9llo";  // UTF-8
  const std::string cut = "h\xc3";          // a sequence cut at maxSize
  const std::string binary("\x00\xff\xfe", 3);
  for (const auto& [body, utf8] : {std::pair{text, true}, {cut, false}, {binary, false}}) {
    req.body = body;
    std::string bytes;
    ASSERT_TRUE(buildCheckRequest(cfg, req, &bytes));
    authv3::CheckRequest cr;
    ASSERT_TRUE(cr.ParseFromString(bytes));
    const auto& http = cr.attributes().request().http();
    EXPECT_EQ(http.body(), utf8 ? body : "");
    EXPECT_EQ(http.raw_body(), utf8 ? "" : body);
  }
}

}  // namespace
}  // namespace gantry::dataplane::filters

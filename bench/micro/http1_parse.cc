// Cost of parsing the HTTP/1 heads of a proxied request (issue 2: CPU per request vs nginx):
//   Parser/<head>: http1::Parser as the proxy drives it (beginHead, feedHead over the whole head,
//                  then feedBody over the rest), i.e. llhttp plus our strict RFC 9112 checks;
//   Llhttp/<head>: llhttp alone with callbacks that only keep views (what the library costs).
// Heads: what wrk sends (bench/run.sh), what h2load --h1 sends (bench/costs.sh), a browser-like
// navigation with 16 fields, and the bench backend's (nginx) response with its 29-byte body.
//
// Run: build-rel/bench_http1_parse. For instruction counts (load-independent):
//   valgrind --tool=callgrind build-rel/bench_http1_parse --loop <case> <n>
// with <case> one of parser-wrk, parser-h2load, parser-browser, parser-response and llhttp-...,
// twice with different n; (Ir(n2) - Ir(n1)) / (n2 - n1) is the cost of one parse.
#include <benchmark/benchmark.h>
#include <llhttp.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http1/parser.h"

namespace {

using gantry::dataplane::http1::BodySink;
using gantry::dataplane::http1::Header;
using gantry::dataplane::http1::HeadStatus;
using gantry::dataplane::http1::Parser;

struct Case {
  const char* name;
  bool request;
  std::string text;
};

const Case kCases[] = {
    {"wrk", true, "GET / HTTP/1.1\r\nHost: bench.example.com\r\n\r\n"},
    {"h2load", true,
     "GET / HTTP/1.1\r\nHost: bench.example.com\r\nUser-Agent: h2load nghttp2/1.52.0\r\n\r\n"},
    {"browser", true,
     "GET /products/shoes/running?size=42&color=blue HTTP/1.1\r\n"
     "Host: shop.example.com\r\n"
     "Connection: keep-alive\r\n"
     "sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n"
     "sec-ch-ua-mobile: ?0\r\n"
     "sec-ch-ua-platform: \"Linux\"\r\n"
     "Upgrade-Insecure-Requests: 1\r\n"
     "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/124.0.0.0 Safari/537.36\r\n"
     "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;"
     "q=0.8\r\n"
     "Sec-Fetch-Site: same-origin\r\n"
     "Sec-Fetch-Mode: navigate\r\n"
     "Sec-Fetch-User: ?1\r\n"
     "Sec-Fetch-Dest: document\r\n"
     "Referer: https://shop.example.com/products/shoes\r\n"
     "Accept-Encoding: gzip, deflate, br\r\n"
     "Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n"
     "Cookie: session=4f1b2c3d4e5f60718293a4b5c6d7e8f9; theme=dark; cart=3\r\n"
     "\r\n"},
    {"response", false,
     "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Thu, 26 Nov 2026 16:30:00 GMT\r\n"
     "Content-Type: application/octet-stream\r\nContent-Length: 29\r\nConnection: keep-alive\r\n"
     "\r\nhello from the bench backend\n"},
};

struct CountSink : BodySink {
  size_t bytes = 0;
  void onBody(const char*, size_t len) override { bytes += len; }
};

// The proxy's way: one Parser and one field vector per connection, reused for every message.
struct WrapperRun {
  Parser p;
  std::vector<Header> headers;
  CountSink sink;
  WrapperRun() { headers.reserve(64); }
  size_t run(const Case& c) {
    p.beginHead(c.request ? HTTP_REQUEST : HTTP_RESPONSE, &headers, 64 * 1024, 100);
    const HeadStatus st = p.feedHead(c.text.data(), c.text.size());
    if (st != HeadStatus::kComplete) return 0;
    size_t n = p.headLen();
    if (!p.done()) n += p.feedBody(c.text.data() + n, c.text.size() - n, &sink);
    return n + headers.size();
  }
};

// llhttp alone: views of the target and the fields, nothing checked.
struct RawRun {
  std::vector<Header> headers;
  std::string_view url;
  size_t body = 0;
  bool done = false;
  llhttp_t p;
  RawRun() { headers.reserve(64); }

  static RawRun* self(llhttp_t* p) { return static_cast<RawRun*>(p->data); }
  static int onUrl(llhttp_t* p, const char* at, size_t len) {
    self(p)->url = {at, len};
    return 0;
  }
  static int onField(llhttp_t* p, const char* at, size_t len) {
    self(p)->headers.push_back(Header{{at, len}, {}});
    return 0;
  }
  static int onValue(llhttp_t* p, const char* at, size_t len) {
    self(p)->headers.back().value = {at, len};
    return 0;
  }
  static int onBody(llhttp_t* p, const char*, size_t len) {
    self(p)->body += len;
    return 0;
  }
  static int onMessageComplete(llhttp_t* p) {
    self(p)->done = true;
    return HPE_PAUSED;
  }
  static const llhttp_settings_t& settings() {
    static const llhttp_settings_t s = [] {
      llhttp_settings_t x;
      llhttp_settings_init(&x);
      x.on_url = onUrl;
      x.on_header_field = onField;
      x.on_header_value = onValue;
      x.on_body = onBody;
      x.on_message_complete = onMessageComplete;
      return x;
    }();
    return s;
  }
  size_t run(const Case& c) {
    headers.clear();
    done = false;
    llhttp_init(&p, c.request ? HTTP_REQUEST : HTTP_RESPONSE, &settings());
    p.data = this;
    const llhttp_errno_t e = llhttp_execute(&p, c.text.data(), c.text.size());
    return static_cast<size_t>(e) + headers.size() + (done ? 1 : 0);
  }
};

const Case* findCase(const char* name) {
  for (const Case& c : kCases) {
    if (std::strcmp(c.name, name) == 0) return &c;
  }
  return nullptr;
}

template <typename Run>
void bmParse(benchmark::State& state, const Case* c) {
  Run r;
  if (r.run(*c) == 0) state.SkipWithError("the head did not parse");
  for (auto _ : state) {
    size_t n = r.run(*c);
    benchmark::DoNotOptimize(n);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * c->text.size()));
}

// --loop <parser-|llhttp-><case> <n>: n parses and nothing else, for callgrind.
int loop(const char* what, long n) {
  const bool raw = std::strncmp(what, "llhttp-", 7) == 0;
  const bool wrapped = std::strncmp(what, "parser-", 7) == 0;
  const Case* c = (raw || wrapped) ? findCase(what + 7) : nullptr;
  if (c == nullptr) {
    std::fprintf(stderr, "unknown case %s\n", what);
    return 2;
  }
  size_t acc = 0;
  if (raw) {
    RawRun r;
    for (long i = 0; i < n; ++i) acc += r.run(*c);
  } else {
    WrapperRun r;
    for (long i = 0; i < n; ++i) acc += r.run(*c);
  }
  std::printf("%zu\n", acc);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--loop") == 0) return loop(argv[2], std::atol(argv[3]));
  for (const Case& c : kCases) {
    benchmark::RegisterBenchmark((std::string("Parser/") + c.name).c_str(), bmParse<WrapperRun>,
                                 &c);
    benchmark::RegisterBenchmark((std::string("Llhttp/") + c.name).c_str(), bmParse<RawRun>, &c);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

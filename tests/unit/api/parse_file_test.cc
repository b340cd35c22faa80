// File-level behaviour: multi-document streams, `kind: List`, JSON, broken YAML, isolation of
// invalid objects, unknown kinds, error locations and formatting, spec_hash, robustness.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <random>
#include <thread>

#include "api/parse.h"
#include "test_util.h"

namespace gantry::api {
namespace {

using testing::errorsToString;
using testing::objectCount;
using testing::parseText;

constexpr const char* kRouteA = R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: a}
spec:
  parentRefs: [{name: gw}]
)";

TEST(ParseFile, MultiDocumentStream) {
  auto r = parseText(std::string("---\n") + kRouteA + "---\n# comment only\n---\n" + kRouteA +
                     "...\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns1}\n");
  EXPECT_TRUE(r.errors.empty()) << errorsToString(r);
  EXPECT_EQ(r.objects.http_routes.size(), 2u);
  EXPECT_EQ(r.objects.namespaces.size(), 1u);
}

TEST(ParseFile, InvalidObjectDoesNotAffectOthers) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good1, namespace: a}
spec: {hostnames: [a.example.com]}
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: a}
spec:
  rules:
  - matches:
    - path:
        type: PathPrefix
        value: no-slash
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: good2, namespace: a}
spec: {hostnames: [b.example.com]}
)");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  const auto& e = r.errors[0];
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_EQ(e.line, 12);  // the "- path:" line of the offending match
  EXPECT_EQ(e.object, "HTTPRoute a/bad");
  EXPECT_EQ(e.field, "spec.rules[0].matches[0].path");
  ASSERT_EQ(r.objects.http_routes.size(), 2u);
  EXPECT_EQ(r.objects.http_routes[0].metadata.name, "good1");
  EXPECT_EQ(r.objects.http_routes[1].metadata.name, "good2");
}

TEST(ParseFile, ErrorLineIsTheOffendingField) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  gatewayClassName: gantry
  listeners:
  - name: http
    protocol: HTTP
    port: 70000
)");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].line, 10);
  EXPECT_EQ(r.errors[0].field, "spec.listeners[0].port");
  EXPECT_EQ(r.errors[0].toString(),
            "test.yaml:10: Gateway default/gw: spec.listeners[0].port: Invalid value: 70000: "
            "should be less than or equal to 65535");
}

TEST(ParseFile, BrokenDocumentInStreamKeepsTheOthers) {
  auto r =
      parseText(std::string(kRouteA) + "---\napiVersion: v1\nkind: [unclosed\n---\n" + kRouteA);
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].object, "");
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_GE(r.errors[0].line, 7);
  EXPECT_LE(r.errors[0].line, 9);
  EXPECT_EQ(r.objects.http_routes.size(), 2u);
}

TEST(ParseFile, NotYamlAtAllIsOneError) {
  auto r = parseText("{{{{ this is : not : yaml [[[ \n\t\tmore: ]]\n", "junk.yaml");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].file, "junk.yaml");
  EXPECT_TRUE(r.errors[0].object.empty());
  EXPECT_EQ(objectCount(r.objects), 0u);
  EXPECT_EQ(r.errors[0].toString().rfind("junk.yaml:", 0), 0u);
}

TEST(ParseFile, ScalarDocumentIsNotAnObject) {
  auto r = parseText("just a string\n");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("not a Kubernetes object"), std::string::npos);
}

TEST(ParseFile, EmptyAndCommentOnlyFiles) {
  EXPECT_TRUE(parseText("").errors.empty());
  EXPECT_TRUE(parseText("# nothing here\n").errors.empty());
  EXPECT_TRUE(parseText("---\n---\n").errors.empty());
  EXPECT_TRUE(parseText("\xEF\xBB\xBF# BOM\n").errors.empty());
}

TEST(ParseFile, KindList) {
  auto r = parseText(R"(apiVersion: v1
kind: List
items:
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {name: a}
  spec: {}
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRoute
  metadata: {name: bad}
  spec: {hostnames: [BAD]}
- apiVersion: v1
  kind: List
  items:
  - apiVersion: v1
    kind: ConfigMap
    metadata: {name: c}
- apiVersion: example.com/v1
  kind: Widget
  metadata: {name: w}
- apiVersion: gateway.networking.k8s.io/v1
  kind: HTTPRouteList
  items:
  - apiVersion: gateway.networking.k8s.io/v1
    kind: HTTPRoute
    metadata: {name: typed}
    spec: {}
)");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].object, "HTTPRoute default/bad");
  EXPECT_EQ(r.errors[0].line, 11);
  EXPECT_EQ(r.objects.http_routes.size(), 2u);
  EXPECT_EQ(r.objects.config_maps.size(), 1u);
}

TEST(ParseFile, Json) {
  auto r = parseText(R"({
	"apiVersion": "gateway.networking.k8s.io/v1",
	"kind": "HTTPRoute",
	"metadata": {"name": "j", "namespace": "ns", "labels": {"a": "b"}},
	"spec": {
		"parentRefs": [{"name": "gw", "port": 80}],
		"rules": [{"backendRefs": [{"name": "s", "port": 8080, "weight": 3}]}]
	}
})",
                     "route.json");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.http_routes.size(), 1u);
  const auto& rt = r.objects.http_routes[0];
  EXPECT_EQ(rt.metadata.namespace_, "ns");
  EXPECT_EQ(rt.parent_refs[0].port, 80);
  EXPECT_EQ(rt.rules[0].backend_refs[0].weight, 3);
  EXPECT_EQ(rt.rules[0].matches[0].path->value, "/");
}

TEST(ParseFile, JsonListAndJsonTypeErrors) {
  auto r = parseText(R"({"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
   "spec": {"ports": [{"port": "80"}]}},
  {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "t"},
   "spec": {"ports": [{"port": 80, "targetPort": "http"}]}}
]})");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].field, "spec.ports[0].port");
  EXPECT_EQ(r.errors[0].line, 3);
  ASSERT_EQ(r.objects.services.size(), 1u);
  EXPECT_EQ(r.objects.services[0].ports[0].target_port_name, "http");
}

TEST(ParseFile, UnknownKindsAreSkipped) {
  auto r = parseText(R"(apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
spec: {replicas: 1}
---
apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: ksvc}
spec: {template: {}}
---
apiVersion: gateway.networking.x-k8s.io/v1alpha1
kind: XBackendTrafficPolicy
metadata: {name: x}
)");
  EXPECT_TRUE(r.errors.empty()) << errorsToString(r);
  EXPECT_EQ(objectCount(r.objects), 0u);
}

TEST(ParseFile, MissingKindOrApiVersion) {
  auto r = parseText("metadata: {name: a}\n---\nkind: Gateway\nmetadata: {name: b}\n");
  ASSERT_EQ(r.errors.size(), 2u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].field, "kind");
  EXPECT_EQ(r.errors[1].field, "apiVersion");
}

TEST(ParseFile, ParseFilesAccumulates) {
  auto r = parseFiles({SourceFile{"a.yaml", kRouteA}, SourceFile{"b.yaml", "nope: ["},
                       SourceFile{"c.yaml", kRouteA}});
  EXPECT_EQ(r.objects.http_routes.size(), 2u);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].file, "b.yaml");
  EXPECT_EQ(r.objects.http_routes[1].source.file, "c.yaml");
}

TEST(ParseFile, ToStringFormats) {
  ValidationError e{"f.yaml", 3, "HTTPRoute ns/r", "spec.rules[0]", "boom"};
  EXPECT_EQ(e.toString(), "f.yaml:3: HTTPRoute ns/r: spec.rules[0]: boom");
  ValidationError f{"f.yaml", 0, "", "", "broken"};
  EXPECT_EQ(f.toString(), "f.yaml: broken");
}

uint64_t hashOf(const std::string& yaml) {
  auto r = parseText(yaml);
  EXPECT_TRUE(r.errors.empty()) << errorsToString(r);
  if (!r.objects.http_routes.empty()) return r.objects.http_routes[0].metadata.spec_hash;
  if (!r.objects.secrets.empty()) return r.objects.secrets[0].metadata.spec_hash;
  if (!r.objects.endpoint_slices.empty()) return r.objects.endpoint_slices[0].metadata.spec_hash;
  ADD_FAILURE() << "no object";
  return 0;
}

TEST(ParseFile, SpecHashIsCanonical) {
  const std::string head = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n";
  uint64_t a = hashOf(head +
                      "metadata: {name: r}\nspec:\n  hostnames: [a.example.com]\n  "
                      "parentRefs: [{name: gw, port: 80}]\n");
  // Key order, flow vs block style, comments, metadata and JSON syntax do not matter.
  uint64_t b =
      hashOf(head +
             "metadata: {name: r, labels: {x: z}}\nspec:\n  parentRefs:\n  - port: 80 # c\n"
             "    name: gw\n  hostnames:\n  - a.example.com\n");
  uint64_t c = hashOf(
      R"({"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute", "metadata": {"name": "r"},
          "spec": {"parentRefs": [{"name": "gw", "port": 80}], "hostnames": ["a.example.com"]}})");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  // A spec change does.
  EXPECT_NE(a, hashOf(head + "metadata: {name: r}\nspec:\n  hostnames: [b.example.com]\n  "
                             "parentRefs: [{name: gw, port: 80}]\n"));
  EXPECT_NE(a, hashOf(head + "metadata: {name: r}\nspec:\n  hostnames: [a.example.com]\n  "
                             "parentRefs: [{name: gw, port: 81}]\n"));
  // List order is meaningful.
  EXPECT_NE(
      hashOf(head + "metadata: {name: r}\nspec: {hostnames: [a.example.com, b.example.com]}\n"),
      hashOf(head + "metadata: {name: r}\nspec: {hostnames: [b.example.com, a.example.com]}\n"));
  // Core objects hash their payload.
  EXPECT_NE(hashOf("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: YQ==}\n"),
            hashOf("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {a: Yg==}\n"));
  EXPECT_NE(hashOf("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\n"
                   "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1]}]\n"),
            hashOf("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\n"
                   "addressType: IPv4\nendpoints: [{addresses: [10.0.0.2]}]\n"));
}

// An unknown field is one problem, reported once (the merge-key pass used to repeat it), also
// next to a merge key.
TEST(ParseFile, UnknownFieldIsReportedOnce) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  bogus: 1
  parentRefs: [{name: gw}]
)");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].field, "spec.bogus");
  auto m = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  <<: {hostnames: [a.example], extra: 2}
  bogus: 1
  parentRefs: [{name: gw}]
)");
  ASSERT_EQ(m.errors.size(), 2u);
  EXPECT_EQ(m.errors[0].field, "spec.bogus");
  EXPECT_EQ(m.errors[1].field, "spec.extra");
}

TEST(ParseFile, AliasBombIsRejectedQuickly) {
  // "Billion laughs": each level references the previous one ten times.
  std::string y =
      "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  a: &a [x,x,x,x,x,x,x,x,x,x]\n";
  std::string prev = "a";
  for (int i = 0; i < 9; ++i) {
    std::string name = "l" + std::to_string(i);
    y += "  " + name + ": &" + name + " [";
    for (int j = 0; j < 10; ++j) y += (j ? ",*" : "*") + prev;
    y += "]\n";
    prev = name;
  }
  // The bound is on the work done, so measure this thread's CPU time, not the wall clock: on a
  // loaded machine (ctest -j, other builds) a Debug run took 6+ s of wall time for ~0.5 s of CPU.
  // Fully expanded this document has 10^10 nodes, so any CPU bound far below that proves the
  // expansion was cut off; the message proves it was cut by the node budget.
  auto cpuMs = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
  };
  const int64_t start = cpuMs();
  auto r = parseText(y);
  const int64_t ms = cpuMs() - start;
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].message.find("nodes after alias expansion"), std::string::npos)
      << r.errors[0].message;
  EXPECT_EQ(objectCount(r.objects), 0u);
  EXPECT_LT(ms, 10'000);
}

TEST(ParseFile, YamlAnchorsAndAliasesWork) {
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: r}
spec:
  rules:
  - backendRefs: &b [{name: s, port: 80}]
  - matches: [{path: {value: /x}}]
    backendRefs: *b
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  EXPECT_EQ(r.objects.http_routes[0].rules[1].backend_refs[0].ref.name, "s");
}

TEST(ParseFile, StrayCommaDoesNotExhaustMemory) {
  // yaml-cpp 0.7's LoadAll loops forever on a ',' at document level.
  auto r = parseText(",");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
  r = parseText(std::string(kRouteA) + "---\n,\n---\n" + kRouteA);
  EXPECT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.objects.http_routes.size(), 2u);
}

TEST(ParseFile, MergeKeysAreExpanded) {
  // go-yaml (kubectl) resolves YAML merge keys; the YAML parser does not, so the decoder does.
  auto r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: m, labels: {<<: {team: a}, app: web}}
spec:
  rules:
  - backendRefs:
    - &be {name: s, port: 80, weight: 5}
    - <<: *be
      name: t
    - <<: [{port: 81}, *be]
      name: u
)");
  ASSERT_TRUE(r.errors.empty()) << errorsToString(r);
  const auto& refs = r.objects.http_routes[0].rules[0].backend_refs;
  ASSERT_EQ(refs.size(), 3u);
  EXPECT_EQ(refs[1].ref.name, "t");
  EXPECT_EQ(refs[1].ref.port, 80);
  EXPECT_EQ(refs[1].weight, 5);
  EXPECT_EQ(refs[2].ref.name, "u");
  EXPECT_EQ(refs[2].ref.port, 81);  // earlier merge sources win
  EXPECT_EQ(r.objects.http_routes[0].metadata.labels.at("team"), "a");
  // Merged keys are schema-checked like the others.
  r = parseText(R"(apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: m}
spec:
  rules:
  - backendRefs:
    - <<: {nme: typo, port: 80}
      name: s
)");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_EQ(r.errors[0].field, "spec.rules[0].backendRefs[0].nme");
  // A merge bomb stays bounded.
  std::string y = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\nx0: &x0 {k: v}\n";
  for (int i = 1; i < 12; ++i) {
    y += "x" + std::to_string(i) + ": &x" + std::to_string(i) + " {<<: [";
    for (int j = 0; j < 10; ++j) y += (j ? ", *x" : "*x") + std::to_string(i - 1);
    y += "]}\n";
  }
  y += "data: {<<: *x11}\n";
  auto start = std::chrono::steady_clock::now();
  r = parseText(y);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(ParseFile, InvalidUtf8IsAnErrorOnItsLine) {
  // Also the input on which libfyaml 0.7.12 would loop forever (a reserved directive followed
  // by an invalid byte): refused before the parser sees it.
  auto r = parseText("%a \x80\n");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_NE(r.errors[0].message.find("invalid UTF-8"), std::string::npos);
  r = parseText(std::string(kRouteA) + "---\napiVersion: v1\nkind: Secret\n# caf\xe9\n---\n" +
                kRouteA);
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_NE(r.errors[0].message.find("invalid UTF-8"), std::string::npos);
  EXPECT_EQ(r.objects.http_routes.size(), 2u);
  // Well-formed multi-byte text is fine.
  r = parseText(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: \"caf\xc3\xa9 "
      "\xf0\x9f\x99\x82\"}\n");
  EXPECT_TRUE(r.errors.empty()) << errorsToString(r);
  ASSERT_EQ(r.objects.config_maps.size(), 1u);
  EXPECT_EQ(r.objects.config_maps[0].data.at("k"), "caf\xc3\xa9 \xf0\x9f\x99\x82");
}

TEST(ParseFile, PlainScalarsResolveToFloatsAsGoYamlDoes) {
  // go-yaml v2: [-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)? and .inf/.nan.
  for (const char* number :
       {"1.5", ".5", "-.5", "+1.", "1_000.5", "1e3", "1.5E-3", "-.inf", ".NaN"}) {
    auto r =
        parseText(std::string("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: ") +
                  number + "}\n");
    ASSERT_EQ(r.errors.size(), 1u) << number;
    EXPECT_NE(r.errors[0].message.find("as a number"), std::string::npos)
        << number << ": " << r.errors[0].message;
  }
  for (const char* text : {"1.2.3", "e5", "1e", "1e+", ".", "1.5x", "._5", ".inf.", "0x1p3"}) {
    auto r =
        parseText(std::string("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: ") +
                  text + "}\n");
    EXPECT_TRUE(r.errors.empty()) << text << ": " << errorsToString(r);
  }
}

TEST(ParseFile, UnclosedBracketIsReportedOnItsLastLine) {
  auto r = parseText("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: [a, b\n\n\n");
  ASSERT_EQ(r.errors.size(), 1u) << errorsToString(r);
  EXPECT_NE(r.errors[0].message.find("invalid YAML"), std::string::npos);
  EXPECT_EQ(r.errors[0].line, 4);
}

TEST(ParseFile, NeverThrowsOnGarbage) {
  std::mt19937 rng(42);
  const std::string alphabet = "ab:-[]{}!&*|>'\"#\n\t %@`,?\\0123\xff\x80";
  for (int i = 0; i < 2000; ++i) {
    std::string s;
    int n = static_cast<int>(rng() % 200);
    for (int j = 0; j < n; ++j) s.push_back(alphabet[rng() % alphabet.size()]);
    ParseResult out;
    EXPECT_NO_THROW(parseFile(SourceFile{"g.yaml", s}, out));
  }
  // Deep nesting.
  ParseResult out;
  EXPECT_NO_THROW(parseFile(SourceFile{"deep.yaml", std::string(100000, '[')}, out));
  EXPECT_FALSE(out.errors.empty());
}

}  // namespace
}  // namespace gantry::api

namespace gantry::api {
namespace {

TEST(ParseFile, RecursiveAliasIsRejected) {
  auto r = testing::parseText(
      "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n"
      "spec: &s {rules: [*s]}\n");
  EXPECT_FALSE(r.errors.empty());
  EXPECT_EQ(r.objects.http_routes.size(), 0u);
  r = testing::parseText("a: &a [1, *a]\n");
  EXPECT_FALSE(r.errors.empty());
}

}  // namespace
}  // namespace gantry::api

namespace gantry::api {
namespace {

// The file provider may parse several files at once: parseFile keeps no shared mutable state
// beyond the (locked) compiled-pattern cache.
TEST(ParseFile, ConcurrentParsesAgree) {
  std::string text;
  for (int i = 0; i < 50; ++i) {
    text += "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r" +
            std::to_string(i) +
            "}\nspec:\n  hostnames: [a.example.com]\n  rules: [{matches: [{path: {value: /x}, "
            "headers: [{name: h, value: v}]}], backendRefs: [{name: s, port: 80}]}]\n";
  }
  text +=
      "---\napiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bad}\n"
      "spec: {hostnames: [BAD]}\n";
  std::vector<ParseResult> results(4);
  std::vector<std::thread> threads;
  for (auto& r : results) {
    threads.emplace_back([&r, &text] { parseFile(SourceFile{"t.yaml", text}, r); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) {
    EXPECT_EQ(r.objects.http_routes.size(), 50u);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].toString(), results[0].errors[0].toString());
    EXPECT_EQ(r.objects.http_routes[7].metadata.spec_hash,
              results[0].objects.http_routes[7].metadata.spec_hash);
  }
}

}  // namespace
}  // namespace gantry::api

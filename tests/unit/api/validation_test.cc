// Table-driven validation: each rule of the CRD schemas (OpenAPI limits and CEL rules of Gateway
// API v1.6) and of the core kinds' built-in validation is exercised by a manifest that breaks it,
// and must be rejected with the expected JSON field path. A few near-misses that the API server
// accepts are in the table too, expecting no error.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/parse.h"
#include "test_util.h"

namespace gantry::api {
namespace {

using testing::errorsToString;
using testing::objectCount;
using testing::parseText;

std::string indent(const std::string& s, int n) {
  std::string pad(n, ' '), out;
  size_t pos = 0;
  while (pos < s.size()) {
    size_t end = s.find('\n', pos);
    if (end == std::string::npos) end = s.size();
    if (end > pos) out += pad + s.substr(pos, end - pos);
    out += "\n";
    pos = end + 1;
  }
  return out;
}

std::string gw(const std::string& spec, const std::string& api = "gateway.networking.k8s.io/v1") {
  return "apiVersion: " + api + "\nkind: Gateway\nmetadata: {name: gw, namespace: infra}\nspec:\n" +
         indent(spec, 2);
}
std::string gwListeners(const std::string& listeners) {
  return gw("gatewayClassName: gantry\nlisteners:\n" + listeners);
}
std::string route(const std::string& spec,
                  const std::string& api = "gateway.networking.k8s.io/v1") {
  return "apiVersion: " + api + "\nkind: HTTPRoute\nmetadata: {name: r, namespace: ns}\nspec:\n" +
         indent(spec, 2);
}
// One rule with the given body (indented under "- ").
std::string rule(const std::string& body) {
  return route("rules:\n- " + indent(body, 2).substr(2));
}
std::string grpc(const std::string& spec) {
  return "apiVersion: gateway.networking.k8s.io/v1\nkind: GRPCRoute\nmetadata: {name: g}\nspec:\n" +
         indent(spec, 2);
}
std::string kindDoc(const std::string& api, const std::string& kind, const std::string& body) {
  return "apiVersion: " + api + "\nkind: " + kind + "\nmetadata: {name: x, namespace: ns}\n" + body;
}
std::string many(const std::string& item, int n) {
  std::string s;
  for (int i = 0; i < n; ++i) {
    std::string it = item;
    for (size_t p; (p = it.find("$i")) != std::string::npos;) it.replace(p, 2, std::to_string(i));
    s += it + "\n";
  }
  return s;
}

struct Case {
  const char* name;
  std::string yaml;
  std::string field;    // expected JSON path of the (first) error; "" = valid manifest
  std::string message;  // substring of that error's message
};

std::vector<Case> cases() {
  const std::string kBackend = "backendRefs: [{name: s, port: 80}]";
  return {
      // ---------------- HTTPRoute: paths (CEL on HTTPPathMatch) ----------------
      {"path must start with slash", rule("matches: [{path: {type: PathPrefix, value: foo}}]"),
       "spec.rules[0].matches[0].path", "start with '/'"},
      {"exact path must start with slash", rule("matches: [{path: {type: Exact, value: a/b}}]"),
       "spec.rules[0].matches[0].path", "start with '/'"},
      {"path double slash", rule("matches: [{path: {value: /a//b}}]"),
       "spec.rules[0].matches[0].path", "must not contain '//'"},
      {"path dot segment", rule("matches: [{path: {value: /a/./b}}]"),
       "spec.rules[0].matches[0].path", "'/./'"},
      {"path dotdot segment", rule("matches: [{path: {value: /a/../b}}]"),
       "spec.rules[0].matches[0].path", "'/../'"},
      {"path encoded slash", rule("matches: [{path: {value: /a%2fb}}]"),
       "spec.rules[0].matches[0].path", "'%2f'"},
      {"path encoded slash upper", rule("matches: [{path: {value: /a%2Fb}}]"),
       "spec.rules[0].matches[0].path", "'%2F'"},
      {"path fragment", rule("matches: [{path: {value: '/a#b'}}]"), "spec.rules[0].matches[0].path",
       "'#'"},
      {"path ends with dotdot", rule("matches: [{path: {value: /a/..}}]"),
       "spec.rules[0].matches[0].path", "end with '/..'"},
      {"path ends with dot", rule("matches: [{path: {value: /a/.}}]"),
       "spec.rules[0].matches[0].path", "end with '/.'"},
      {"path invalid characters", rule("matches: [{path: {value: '/a b'}}]"),
       "spec.rules[0].matches[0].path", "must only contain valid characters"},
      {"path type enum", rule("matches: [{path: {type: Regex, value: /a}}]"),
       "spec.rules[0].matches[0].path.type", "Unsupported value"},
      {"path too long", rule("matches: [{path: {value: /" + std::string(1024, 'a') + "}}]"),
       "spec.rules[0].matches[0].path.value", "Too long"},
      {"regex path needs no slash",
       rule("matches: [{path: {type: RegularExpression, value: '.*'}}]"), "", ""},
      {"percent encoding allowed", rule("matches: [{path: {value: /a%20b}}]"), "", ""},

      // ---------------- HTTPRoute: matches ----------------
      {"header name pattern", rule("matches: [{headers: [{name: 'bad header', value: v}]}]"),
       "spec.rules[0].matches[0].headers[0].name", "should match"},
      {"header value required", rule("matches: [{headers: [{name: x}]}]"),
       "spec.rules[0].matches[0].headers[0].value", "Required value"},
      {"header value pattern", rule("matches: [{headers: [{name: x, value: ' lead'}]}]"),
       "spec.rules[0].matches[0].headers[0].value", "should match"},
      {"duplicate header match",
       rule("matches: [{headers: [{name: x, value: a}, {name: x, value: b}]}]"),
       "spec.rules[0].matches[0].headers[1]", "Duplicate value"},
      {"header match type enum", rule("matches: [{headers: [{type: Prefix, name: x, value: a}]}]"),
       "spec.rules[0].matches[0].headers[0].type", "Unsupported value"},
      {"17 header matches", rule("matches:\n- headers:\n" + many("  - {name: h$i, value: v}", 17)),
       "spec.rules[0].matches[0].headers", "Too many"},
      {"duplicate query param",
       rule("matches: [{queryParams: [{name: q, value: a}, {name: q, value: b}]}]"),
       "spec.rules[0].matches[0].queryParams[1]", "Duplicate value"},
      {"query param value too long",
       rule("matches: [{queryParams: [{name: q, value: " + std::string(1025, 'a') + "}]}]"),
       "spec.rules[0].matches[0].queryParams[0].value", "Too long"},
      {"method enum", rule("matches: [{method: FETCH}]"), "spec.rules[0].matches[0].method",
       "Unsupported value"},
      {"65 matches", rule("matches:\n" + many("- path: {value: /p$i}", 65)),
       "spec.rules[0].matches", "Too many"},
      {"129 matches across rules",
       route("rules:\n" + many("- matches:\n" + many("  - path: {value: /p}", 43), 3)),
       "spec.rules", "less than 128"},
      {"128 matches across rules is fine",
       route("rules:\n" + many("- matches:\n" + many("  - path: {value: /p}", 32), 4)), "", ""},

      // ---------------- HTTPRoute: filters ----------------
      {"redirect and rewrite together",
       rule("filters:\n- {type: RequestRedirect, requestRedirect: {scheme: https}}\n- {type: "
            "URLRewrite, urlRewrite: {hostname: a.example.com}}"),
       "spec.rules[0].filters", "but not both"},
      {"request header modifier repeated",
       rule("filters:\n- {type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}}\n- "
            "{type: RequestHeaderModifier, requestHeaderModifier: {remove: [b]}}"),
       "spec.rules[0].filters", "RequestHeaderModifier filter cannot be repeated"},
      {"response header modifier repeated",
       rule("filters:\n- {type: ResponseHeaderModifier, responseHeaderModifier: {remove: [a]}}\n- "
            "{type: ResponseHeaderModifier, responseHeaderModifier: {remove: [b]}}"),
       "spec.rules[0].filters", "ResponseHeaderModifier filter cannot be repeated"},
      {"CORS repeated",
       rule("filters:\n- {type: CORS, cors: {allowOrigins: ['*']}}\n- {type: CORS, cors: "
            "{allowOrigins: ['*']}}"),
       "spec.rules[0].filters", "CORS filter cannot be repeated"},
      {"mirror may repeat",
       rule("filters:\n- {type: RequestMirror, requestMirror: {backendRef: {name: a, port: "
            "80}}}\n- {type: RequestMirror, requestMirror: {backendRef: {name: b, port: 80}}}\n" +
            kBackend),
       "", ""},
      {"filter field without matching type",
       rule("filters:\n- {type: RequestHeaderModifier, requestHeaderModifier: {remove: [a]}, "
            "urlRewrite: {hostname: a.example.com}}"),
       "spec.rules[0].filters[0]", "must be nil if the filter.type is not URLRewrite"},
      {"filter type without its field", rule("filters:\n- {type: RequestRedirect}"),
       "spec.rules[0].filters[0]", "filter.requestRedirect must be specified"},
      {"filter type enum", rule("filters:\n- {type: Rewrite}"), "spec.rules[0].filters[0].type",
       "Unsupported value"},
      {"filter type required", rule("filters:\n- {urlRewrite: {hostname: a.example.com}}"),
       "spec.rules[0].filters[0].type", "Required value"},
      {"17 filters",
       rule(
           "filters:\n" +
           many("- {type: RequestMirror, requestMirror: {backendRef: {name: m$i, port: 80}}}", 17)),
       "spec.rules[0].filters", "Too many"},
      {"header modifier duplicate set",
       rule("filters:\n- {type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: a, "
            "value: b}, {name: a, value: c}]}}"),
       "spec.rules[0].filters[0].requestHeaderModifier.set[1]", "Duplicate value"},
      {"header modifier duplicate remove",
       rule("filters:\n- {type: RequestHeaderModifier, requestHeaderModifier: {remove: [a, a]}}"),
       "spec.rules[0].filters[0].requestHeaderModifier.remove[1]", "Duplicate value"},
      {"redirect with backendRefs",
       rule("filters:\n- {type: RequestRedirect, requestRedirect: {scheme: https}}\n" + kBackend),
       "spec.rules[0]", "RequestRedirect filter must not be used together with backendRefs"},
      {"redirect status code enum",
       rule("filters:\n- {type: RequestRedirect, requestRedirect: {statusCode: 305}}"),
       "spec.rules[0].filters[0].requestRedirect.statusCode", "Unsupported value"},
      {"redirect scheme enum",
       rule("filters:\n- {type: RequestRedirect, requestRedirect: {scheme: ftp}}"),
       "spec.rules[0].filters[0].requestRedirect.scheme", "Unsupported value"},
      {"redirect hostname is precise",
       rule("filters:\n- {type: RequestRedirect, requestRedirect: {hostname: '*.example.com'}}"),
       "spec.rules[0].filters[0].requestRedirect.hostname", "should match"},
      {"redirect port range",
       rule("filters:\n- {type: RequestRedirect, requestRedirect: {port: 0}}"),
       "spec.rules[0].filters[0].requestRedirect.port", "greater than or equal to 1"},
      {"replacePrefixMatch needs a PathPrefix match",
       rule("matches: [{path: {type: Exact, value: /a}}]\nfilters:\n- {type: URLRewrite, "
            "urlRewrite: {path: {type: ReplacePrefixMatch, replacePrefixMatch: /b}}}"),
       "spec.rules[0]", "When using URLRewrite filter with path.replacePrefixMatch"},
      {"replacePrefixMatch needs exactly one match",
       rule("matches: [{path: {value: /a}}, {path: {value: /c}}]\nfilters:\n- {type: "
            "RequestRedirect, requestRedirect: {path: {type: ReplacePrefixMatch, "
            "replacePrefixMatch: /b}}}"),
       "spec.rules[0]", "When using RequestRedirect filter with path.replacePrefixMatch"},
      {"replacePrefixMatch with the default match",
       rule("filters:\n- {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, "
            "replacePrefixMatch: /b}}}\n" +
            kBackend),
       "", ""},
      {"replacePrefixMatch with explicitly no matches",
       rule("matches: []\nfilters:\n- {type: URLRewrite, urlRewrite: {path: {type: "
            "ReplacePrefixMatch, replacePrefixMatch: /b}}}\n" +
            kBackend),
       "spec.rules[0]", "When using URLRewrite filter with path.replacePrefixMatch"},
      {"replacePrefixMatch in a backendRef filter",
       rule("matches: [{path: {type: Exact, value: /a}}]\nbackendRefs:\n- name: s\n  port: 80\n  "
            "filters:\n  - {type: URLRewrite, urlRewrite: {path: {type: ReplacePrefixMatch, "
            "replacePrefixMatch: /b}}}"),
       "spec.rules[0]", "Within backendRefs, When using URLRewrite"},
      {"path modifier full path missing",
       rule("filters:\n- {type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath}}}"),
       "spec.rules[0].filters[0].urlRewrite.path", "replaceFullPath must be specified"},
      {"path modifier type mismatch",
       rule("filters:\n- {type: URLRewrite, urlRewrite: {path: {type: ReplaceFullPath, "
            "replaceFullPath: /a, replacePrefixMatch: /b}}}"),
       "spec.rules[0].filters[0].urlRewrite.path", "type must be 'ReplacePrefixMatch'"},
      {"mirror percent and fraction",
       rule("filters:\n- {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, "
            "percent: 5, fraction: {numerator: 1}}}"),
       "spec.rules[0].filters[0].requestMirror", "Only one of percent or fraction"},
      {"mirror fraction above one",
       rule("filters:\n- {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, "
            "fraction: {numerator: 3, denominator: 2}}}"),
       "spec.rules[0].filters[0].requestMirror.fraction", "numerator must be less than or equal"},
      {"mirror percent range",
       rule("filters:\n- {type: RequestMirror, requestMirror: {backendRef: {name: m, port: 80}, "
            "percent: 101}}"),
       "spec.rules[0].filters[0].requestMirror.percent", "less than or equal to 100"},
      {"mirror service needs port",
       rule("filters:\n- {type: RequestMirror, requestMirror: {backendRef: {name: m}}}"),
       "spec.rules[0].filters[0].requestMirror.backendRef", "Must have port for Service reference"},
      {"cors wildcard with others",
       rule("filters:\n- {type: CORS, cors: {allowOrigins: ['*', 'https://a.example.com']}}"),
       "spec.rules[0].filters[0].cors.allowOrigins", "AllowOrigins cannot contain '*'"},
      {"cors origin pattern",
       rule("filters:\n- {type: CORS, cors: {allowOrigins: ['ftp://a.example.com']}}"),
       "spec.rules[0].filters[0].cors.allowOrigins[0]", "should match"},
      {"cors methods enum", rule("filters:\n- {type: CORS, cors: {allowMethods: [FETCH]}}"),
       "spec.rules[0].filters[0].cors.allowMethods[0]", "Unsupported value"},
      {"cors methods wildcard with others",
       rule("filters:\n- {type: CORS, cors: {allowMethods: ['*', GET]}}"),
       "spec.rules[0].filters[0].cors.allowMethods", "AllowMethods cannot contain '*'"},
      {"cors maxAge minimum", rule("filters:\n- {type: CORS, cors: {maxAge: 0}}"),
       "spec.rules[0].filters[0].cors.maxAge", "greater than or equal to 1"},
      {"external auth grpc without grpc",
       rule("filters:\n- {type: ExternalAuth, externalAuth: {protocol: GRPC, backendRef: {name: a, "
            "port: 1}}}"),
       "spec.rules[0].filters[0].externalAuth", "grpc must be specified"},
      {"external auth http with grpc",
       rule("filters:\n- {type: ExternalAuth, externalAuth: {protocol: HTTP, backendRef: {name: a, "
            "port: 1}, http: {}, grpc: {}}}"),
       "spec.rules[0].filters[0].externalAuth", "protocol must be 'GRPC' when grpc is set"},
      {"extension ref requires group",
       rule("filters:\n- {type: ExtensionRef, extensionRef: {kind: K, name: n}}"),
       "spec.rules[0].filters[0].extensionRef.group", "Required value"},
      {"backendRef filter repeated",
       rule("backendRefs:\n- name: s\n  port: 80\n  filters:\n  - {type: RequestHeaderModifier, "
            "requestHeaderModifier: {remove: [a]}}\n  - {type: RequestHeaderModifier, "
            "requestHeaderModifier: {remove: [b]}}"),
       "spec.rules[0].backendRefs[0].filters", "cannot be repeated"},

      // ---------------- HTTPRoute: backends, timeouts, retry, session persistence ----------------
      {"weight above maximum", rule("backendRefs: [{name: s, port: 80, weight: 1000001}]"),
       "spec.rules[0].backendRefs[0].weight", "less than or equal to 1000000"},
      {"negative weight", rule("backendRefs: [{name: s, port: 80, weight: -1}]"),
       "spec.rules[0].backendRefs[0].weight", "greater than or equal to 0"},
      {"weight zero is fine", rule("backendRefs: [{name: s, port: 80, weight: 0}]"), "", ""},
      {"service backend needs port", rule("backendRefs: [{name: s}]"),
       "spec.rules[0].backendRefs[0]", "Must have port for Service reference"},
      {"non-service backend needs no port",
       rule("backendRefs: [{group: example.com, kind: Backend, name: s}]"), "", ""},
      {"backend port range", rule("backendRefs: [{name: s, port: 65536}]"),
       "spec.rules[0].backendRefs[0].port", "less than or equal to 65535"},
      {"backend name required", rule("backendRefs: [{port: 80}]"),
       "spec.rules[0].backendRefs[0].name", "Required value"},
      {"backend namespace pattern", rule("backendRefs: [{name: s, port: 80, namespace: Bad_NS}]"),
       "spec.rules[0].backendRefs[0].namespace", "should match"},
      {"17 backendRefs", rule("backendRefs:\n" + many("- {name: s$i, port: 80}", 17)),
       "spec.rules[0].backendRefs", "Too many"},
      {"backendRequest longer than request", rule("timeouts: {request: 1s, backendRequest: 2s}"),
       "spec.rules[0].timeouts", "backendRequest timeout cannot be longer than request timeout"},
      {"request timeout zero disables the comparison",
       rule("timeouts: {request: 0s, backendRequest: 1h}"), "", ""},
      {"duration units compared", rule("timeouts: {request: 1m, backendRequest: 59s999ms}"), "",
       ""},
      {"duration pattern", rule("timeouts: {request: '10'}"), "spec.rules[0].timeouts.request",
       "should match"},
      {"retry code range", rule("retry: {codes: [600]}"), "spec.rules[0].retry.codes[0]",
       "less than or equal to 599"},
      {"retry attempts minimum", rule("retry: {attempts: 0}"), "spec.rules[0].retry.attempts",
       "greater than or equal to 1"},
      {"permanent cookie needs absolute timeout",
       rule("sessionPersistence: {cookieConfig: {lifetimeType: Permanent}}"),
       "spec.rules[0].sessionPersistence", "AbsoluteTimeout must be specified"},
      {"cookie config only for cookies",
       rule("sessionPersistence: {type: Header, cookieConfig: {lifetimeType: Session}}"),
       "spec.rules[0].sessionPersistence", "cookieConfig can only be set with type Cookie"},
      {"session name length",
       rule("sessionPersistence: {sessionName: " + std::string(129, 'a') + "}"),
       "spec.rules[0].sessionPersistence.sessionName", "Too long"},

      // ---------------- HTTPRoute: spec level ----------------
      {"hostname uppercase", route("hostnames: [Example.com]"), "spec.hostnames[0]",
       "should match"},
      {"hostname wildcard not first", route("hostnames: ['a.*.example.com']"), "spec.hostnames[0]",
       "should match"},
      {"hostname with port", route("hostnames: ['example.com:80']"), "spec.hostnames[0]",
       "should match"},
      {"wildcard hostname fine", route("hostnames: ['*.example.com']"), "", ""},
      {"17 hostnames", route("hostnames:\n" + many("- h$i.example.com", 17)), "spec.hostnames",
       "Too many"},
      {"17 rules", route("rules:\n" + many("- " + kBackend, 17)), "spec.rules", "Too many"},
      {"empty rules", route("rules: []"), "spec.rules", "at least 1"},
      {"duplicate rule names", route("rules:\n- name: a\n- name: a"), "spec.rules",
       "Rule name must be unique"},
      {"rule name pattern", route("rules:\n- name: A_B"), "spec.rules[0].name", "should match"},
      {"parentRefs section on one only",
       route("parentRefs: [{name: gw}, {name: gw, sectionName: http}]"), "spec.parentRefs",
       "sectionName or port must be specified"},
      {"parentRefs duplicated",
       route("parentRefs: [{name: gw, sectionName: a}, {name: gw, sectionName: a}]"),
       "spec.parentRefs", "sectionName or port must be unique"},
      {"parentRefs same name other namespace",
       route("parentRefs: [{name: gw}, {name: gw, namespace: other}]"), "", ""},
      {"parentRefs distinct sections",
       route("parentRefs: [{name: gw, sectionName: a}, {name: gw, sectionName: b}]"), "", ""},
      {"parentRef port range", route("parentRefs: [{name: gw, port: 0}]"),
       "spec.parentRefs[0].port", "greater than or equal to 1"},
      {"parentRef kind pattern", route("parentRefs: [{name: gw, kind: '1Gateway'}]"),
       "spec.parentRefs[0].kind", "should match"},
      {"33 parentRefs", route("parentRefs:\n" + many("- {name: gw$i}", 33)), "spec.parentRefs",
       "Too many"},
      {"useDefaultGateways enum", route("useDefaultGateways: Some"), "spec.useDefaultGateways",
       "Unsupported value"},
      {"unknown spec field", route("rule: []"), "spec.rule", "unknown field"},
      {"unknown match field", rule("matches: [{pth: {value: /}}]"), "spec.rules[0].matches[0].pth",
       "unknown field"},
      {"unknown top-level field", route("rules: []").insert(0, "extra: 1\n"), "extra",
       "unknown field"},
      {"duplicate field", route("hostnames: [a.example.com]\nhostnames: [b.example.com]"),
       "spec.hostnames", "duplicate field"},
      {"number where a string is expected", route("parentRefs: [{name: 123}]"),
       "spec.parentRefs[0].name", "must be of type string"},
      {"boolean where a string is expected", route("parentRefs: [{name: yes}]"),
       "spec.parentRefs[0].name", "must be of type string"},
      {"YAML 1.1 boolean where a string is expected",
       gwListeners("- {name: a, port: 443, protocol: HTTPS, tls: {options: {example.com/x: y}}}"),
       "spec.listeners[0].tls.options.example.com/x", "YAML reads \"y\" as a boolean"},
      {"quoted number where an integer is expected", route("parentRefs: [{name: gw, port: '80'}]"),
       "spec.parentRefs[0].port", "must be of type integer"},
      {"object where a list is expected", route("hostnames: {a: b}"), "spec.hostnames",
       "must be of type array"},
      {"spec required",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: r}\n", "spec",
       "Required value"},
      {"v1beta1 served", route("hostnames: [a.example.com]", "gateway.networking.k8s.io/v1beta1"),
       "", ""},
      {"v1alpha2 not served for HTTPRoute",
       route("hostnames: [a.example.com]", "gateway.networking.k8s.io/v1alpha2"), "apiVersion",
       "no matches for kind \"HTTPRoute\""},

      // ---------------- metadata ----------------
      {"name required",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {namespace: a}\nspec: "
       "{}\n",
       "metadata.name", "Required value"},
      {"name must be a DNS subdomain",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: Web_1}\nspec: "
       "{}\n",
       "metadata.name", "RFC 1123 subdomain"},
      {"namespace must be a DNS label",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, namespace: "
       "a.b}\nspec: {}\n",
       "metadata.namespace", "RFC 1123 label"},
      {"label value pattern",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, labels: "
       "{app: 'a b'}}\nspec: {}\n",
       "metadata.labels.app", "should match"},
      {"label key pattern",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, labels: "
       "{'-bad': x}}\nspec: {}\n",
       "metadata.labels", "key is not valid"},
      {"label value must be a string",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, labels: "
       "{enabled: true}}\nspec: {}\n",
       "metadata.labels.enabled", "must be of type string"},
      {"creationTimestamp format",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, "
       "creationTimestamp: yesterday}\nspec: {}\n",
       "metadata.creationTimestamp", "RFC 3339"},
      {"generation must be an integer",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, generation: "
       "x}\nspec: {}\n",
       "metadata.generation", "must be of type integer"},

      // ---------------- Gateway ----------------
      {"listeners required", gw("gatewayClassName: gantry"), "spec.listeners", "Required value"},
      {"listeners empty", gw("gatewayClassName: gantry\nlisteners: []"), "spec.listeners",
       "at least 1"},
      {"65 listeners", gwListeners(many("- {name: l$i, port: 8$i, protocol: HTTP}", 65)),
       "spec.listeners", "Too many"},
      {"64 listeners fine", gwListeners(many("- {name: l$i, port: 10$i, protocol: HTTP}", 64)), "",
       ""},
      {"gatewayClassName required", gw("listeners: [{name: a, port: 80, protocol: HTTP}]"),
       "spec.gatewayClassName", "Required value"},
      {"tls on an HTTP listener",
       gwListeners("- {name: a, port: 80, protocol: HTTP, tls: {certificateRefs: [{name: c}]}}"),
       "spec.listeners", "tls must not be specified for protocols"},
      {"tls on a TCP listener",
       gwListeners("- {name: a, port: 80, protocol: TCP, tls: {mode: Passthrough}}"),
       "spec.listeners", "tls must not be specified for protocols"},
      {"hostname on a TCP listener",
       gwListeners("- {name: a, port: 80, protocol: TCP, hostname: a.example.com}"),
       "spec.listeners", "hostname must not be specified for protocols"},
      {"hostname on a UDP listener",
       gwListeners("- {name: a, port: 53, protocol: UDP, hostname: a.example.com}"),
       "spec.listeners", "hostname must not be specified for protocols"},
      {"TLS listener needs tls", gwListeners("- {name: a, port: 443, protocol: TLS}"),
       "spec.listeners", "tls mode must be set for protocol TLS"},
      {"HTTPS listener passthrough",
       gwListeners("- {name: a, port: 443, protocol: HTTPS, tls: {mode: Passthrough}}"),
       "spec.listeners", "tls mode must be Terminate for protocol HTTPS"},
      {"terminate needs certificateRefs",
       gwListeners("- {name: a, port: 443, protocol: HTTPS, tls: {}}"), "spec.listeners[0].tls",
       "certificateRefs or options must be specified"},
      {"terminate with options only",
       gwListeners("- {name: a, port: 443, protocol: HTTPS, tls: {options: {example.com/x: 'y'}}}"),
       "", ""},
      {"TLS passthrough needs no certificates",
       gwListeners("- {name: a, port: 443, protocol: TLS, tls: {mode: Passthrough}}"), "", ""},
      {"tls mode enum", gwListeners("- {name: a, port: 443, protocol: TLS, tls: {mode: Bridge}}"),
       "spec.listeners[0].tls.mode", "Unsupported value"},
      {"duplicate listener names",
       gwListeners("- {name: a, port: 80, protocol: HTTP}\n- {name: a, port: 81, protocol: HTTP}"),
       "spec.listeners", "Invalid value: \"array\": Listener name must be unique"},
      // The CEL rules on the listener list are reported on the list ("array"); the duplicate map
      // key (x-kubernetes-list-type=map, key name) on the later item.
      {"duplicate listener names key",
       gwListeners("- {name: a, port: 80, protocol: HTTP}\n- {name: a, port: 81, protocol: HTTP}"),
       "spec.listeners[1]", "Duplicate value"},
      {"duplicate port protocol hostname",
       gwListeners("- {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n- {name: b, "
                   "port: 80, protocol: HTTP, hostname: a.example.com}"),
       "spec.listeners", "Combination of port, protocol and hostname must be unique"},
      {"duplicate port protocol without hostname",
       gwListeners("- {name: a, port: 80, protocol: HTTP}\n- {name: b, port: 80, protocol: HTTP}"),
       "spec.listeners", "Combination of port, protocol and hostname must be unique"},
      {"same port different hostnames",
       gwListeners("- {name: a, port: 80, protocol: HTTP, hostname: a.example.com}\n- {name: b, "
                   "port: 80, protocol: HTTP}"),
       "", ""},
      {"listener port zero", gwListeners("- {name: a, port: 0, protocol: HTTP}"),
       "spec.listeners[0].port", "greater than or equal to 1"},
      {"listener port too large", gwListeners("- {name: a, port: 65536, protocol: HTTP}"),
       "spec.listeners[0].port", "less than or equal to 65535"},
      {"listener port required", gwListeners("- {name: a, protocol: HTTP}"),
       "spec.listeners[0].port", "Required value"},
      {"listener protocol pattern", gwListeners("- {name: a, port: 80, protocol: 'HTTP/2'}"),
       "spec.listeners[0].protocol", "should match"},
      {"custom protocol fine", gwListeners("- {name: a, port: 80, protocol: example.com/proto}"),
       "", ""},
      {"listener name pattern", gwListeners("- {name: A, port: 80, protocol: HTTP}"),
       "spec.listeners[0].name", "should match"},
      {"listener hostname pattern",
       gwListeners("- {name: a, port: 80, protocol: HTTP, hostname: '*'}"),
       "spec.listeners[0].hostname", "should match"},
      {"allowedRoutes from enum",
       gwListeners("- {name: a, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: "
                   "Everywhere}}}"),
       "spec.listeners[0].allowedRoutes.namespaces.from", "Unsupported value"},
      {"allowedRoutes 9 kinds",
       gwListeners("- name: a\n  port: 80\n  protocol: HTTP\n  allowedRoutes:\n    kinds:\n" +
                   many("    - kind: K$i", 9)),
       "spec.listeners[0].allowedRoutes.kinds", "Too many"},
      {"selector In needs values",
       gwListeners("- {name: a, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: "
                   "Selector, selector: {matchExpressions: [{key: k, operator: In}]}}}}"),
       "spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].values",
       "Required value"},
      {"selector operator enum",
       gwListeners("- {name: a, port: 80, protocol: HTTP, allowedRoutes: {namespaces: {from: "
                   "Selector, selector: {matchExpressions: [{key: k, operator: Has}]}}}}"),
       "spec.listeners[0].allowedRoutes.namespaces.selector.matchExpressions[0].operator",
       "Unsupported value"},
      {"certificateRef name required",
       gwListeners(
           "- {name: a, port: 443, protocol: HTTPS, tls: {certificateRefs: [{kind: Secret}]}}"),
       "spec.listeners[0].tls.certificateRefs[0].name", "Required value"},
      // GatewaySpecAddress oneOf: an IPAddress value has format ipv4 or ipv6 (gateway-api
      // tests/cel/gateway_test.go: "spec.addresses[0].value in body must be of type ipv4").
      {"IP address with a port",
       gw("gatewayClassName: gantry\naddresses: [{type: IPAddress, value: '1.2.3.4:8080'}]\n"
          "listeners: [{name: a, port: 80, protocol: HTTP}]"),
       "spec.addresses[0].value", "must be of type ipv4"},
      {"IP address defaulted type, not an address",
       gw("gatewayClassName: gantry\naddresses: [{value: gw.example.com}]\n"
          "listeners: [{name: a, port: 80, protocol: HTTP}]"),
       "spec.addresses[0].value", "must be of type ipv4"},
      {"IPv6 and IPv4-mapped and zero-padded addresses",
       gw("gatewayClassName: gantry\naddresses: [{value: '2001:db8::1'}, {value: "
          "'::ffff:1.2.3.4'}, "
          "{value: 010.0.0.1}]\nlisteners: [{name: a, port: 80, protocol: HTTP}]"),
       "", ""},
      {"Hostname address needs no IP format",
       gw("gatewayClassName: gantry\naddresses: [{type: Hostname, value: gw.example.com}]\n"
          "listeners: [{name: a, port: 80, protocol: HTTP}]"),
       "", ""},
      {"duplicate IP addresses",
       gw("gatewayClassName: gantry\naddresses: [{value: 10.0.0.1}, {type: IPAddress, value: "
          "10.0.0.1}]\nlisteners: [{name: a, port: 80, protocol: HTTP}]"),
       "spec.addresses", "IPAddress values must be unique"},
      {"duplicate hostname addresses",
       gw("gatewayClassName: gantry\naddresses: [{type: Hostname, value: a.example.com}, {type: "
          "Hostname, value: a.example.com}]\nlisteners: [{name: a, port: 80, protocol: HTTP}]"),
       "spec.addresses", "Hostname values must be unique"},
      {"hostname address pattern",
       gw("gatewayClassName: gantry\naddresses: [{type: Hostname, value: Bad_Host}]\nlisteners: "
          "[{name: a, port: 80, protocol: HTTP}]"),
       "spec.addresses[0]", "Hostname value must be empty or contain only valid characters"},
      {"address type pattern",
       gw("gatewayClassName: gantry\naddresses: [{type: foo, value: x}]\nlisteners: [{name: a, "
          "port: 80, protocol: HTTP}]"),
       "spec.addresses[0].type", "should match"},
      {"17 addresses",
       gw("gatewayClassName: gantry\naddresses:\n" + many("- {value: 10.0.0.$i}", 17) +
          "listeners: [{name: a, port: 80, protocol: HTTP}]"),
       "spec.addresses", "Too many"},
      {"frontend tls default required",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: HTTP}]\ntls: "
          "{frontend: {perPort: []}}"),
       "spec.tls.frontend.default", "Required value"},
      {"frontend tls caCertificateRefs required",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: HTTP}]\ntls: "
          "{frontend: {default: {validation: {mode: AllowValidOnly}}}}"),
       "spec.tls.frontend.default.validation.caCertificateRefs", "Required value"},
      {"frontend tls per-port unique",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: HTTP}]\ntls:\n  "
          "frontend:\n    default: {}\n    perPort:\n    - {port: 443, tls: {}}\n    - {port: 443, "
          "tls: {}}"),
       "spec.tls.frontend.perPort",
       "Invalid value: \"array\": Port for TLS configuration must be "
       "unique"},
      // x-kubernetes-list-type=map keyed by port: the later item is a duplicate.
      {"frontend tls per-port duplicate key",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: HTTP}]\ntls:\n  "
          "frontend:\n    default: {}\n    perPort:\n    - {port: 443, tls: {}}\n    - {port: 443, "
          "tls: {}}"),
       "spec.tls.frontend.perPort[1]", "Duplicate value"},
      {"infrastructure 9 labels",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: "
          "HTTP}]\ninfrastructure:\n  labels:\n" +
          many("    l$i: v", 9)),
       "spec.infrastructure.labels", "Too many"},
      {"infrastructure annotation key",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: "
          "HTTP}]\ninfrastructure: {annotations: {'bad key': v}}"),
       "spec.infrastructure.annotations", "Annotation keys must be in the form"},
      {"unquoted timestamp is a string",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: a, "
       "creationTimestamp: 2024-01-02T03:04:05Z}\nspec: {}\n",
       "", ""},
      {"allowedListeners from enum",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: "
          "HTTP}]\nallowedListeners: {namespaces: {from: Any}}"),
       "spec.allowedListeners.namespaces.from", "Unsupported value"},
      {"gateway v1beta1 served",
       gw("gatewayClassName: gantry\nlisteners: [{name: a, port: 80, protocol: HTTP}]",
          "gateway.networking.k8s.io/v1beta1"),
       "", ""},

      // ---------------- GatewayClass, ListenerSet ----------------
      {"controllerName pattern",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: "
       "{controllerName: gantry}\n",
       "spec.controllerName", "should match"},
      {"controllerName required",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: "
       "{description: d}\n",
       "spec.controllerName", "Required value"},
      {"description length",
       "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\nmetadata: {name: c}\nspec: "
       "{controllerName: a.io/b, description: " +
           std::string(65, 'd') + "}\n",
       "spec.description", "Too long"},
      {"listenerset parentRef required",
       kindDoc("gateway.networking.k8s.io/v1", "ListenerSet",
               "spec: {listeners: [{name: a, port: 80, protocol: HTTP}]}\n"),
       "spec.parentRef", "Required value"},
      {"listenerset listener rules",
       kindDoc("gateway.networking.k8s.io/v1", "ListenerSet",
               "spec: {parentRef: {name: gw}, listeners: [{name: a, port: 80, protocol: TCP, "
               "hostname: a.example.com}]}\n"),
       "spec.listeners", "hostname must not be specified"},
      {"listenerset parentRef has no sectionName",
       kindDoc("gateway.networking.k8s.io/v1", "ListenerSet",
               "spec: {parentRef: {name: gw, sectionName: a}, listeners: [{name: a, port: 80, "
               "protocol: HTTP}]}\n"),
       "spec.parentRef.sectionName", "unknown field"},

      // ---------------- GRPCRoute ----------------
      {"grpc method needs service or method", grpc("rules: [{matches: [{method: {type: Exact}}]}]"),
       "spec.rules[0].matches[0].method", "One or both of 'service' or 'method'"},
      {"grpc service characters", grpc("rules: [{matches: [{method: {service: 'a b'}}]}]"),
       "spec.rules[0].matches[0].method", "service must only contain valid characters"},
      {"grpc method characters", grpc("rules: [{matches: [{method: {method: 'Say.Hello'}}]}]"),
       "spec.rules[0].matches[0].method", "method must only contain valid characters"},
      {"grpc regex skips character rules",
       grpc("rules: [{matches: [{method: {type: RegularExpression, service: 'a b.*'}}]}]"), "", ""},
      {"grpc filter type subset", grpc("rules: [{filters: [{type: URLRewrite}]}]"),
       "spec.rules[0].filters[0].type", "Unsupported value"},
      {"grpc filter field subset",
       grpc("rules: [{filters: [{type: RequestMirror, requestMirror: {backendRef: {name: m, port: "
            "1}}, urlRewrite: {}}]}]"),
       "spec.rules[0].filters[0].urlRewrite", "unknown field"},
      {"grpc header modifier repeated",
       grpc("rules:\n- filters:\n  - {type: RequestHeaderModifier, requestHeaderModifier: {remove: "
            "[a]}}\n  - {type: RequestHeaderModifier, requestHeaderModifier: {remove: [b]}}"),
       "spec.rules[0].filters", "RequestHeaderModifier filter cannot be repeated"},
      {"grpc duplicate rule names", grpc("rules: [{name: a}, {name: a}]"), "spec.rules",
       "Rule name must be unique"},
      {"grpc header value without pattern",
       grpc("rules: [{matches: [{headers: [{name: x, value: ' a'}]}]}]"), "", ""},

      // ---------------- TLSRoute, TCPRoute, UDPRoute ----------------
      {"tlsroute v1 hostnames required",
       kindDoc("gateway.networking.k8s.io/v1", "TLSRoute",
               "spec: {rules: [{backendRefs: [{name: s, port: 443}]}]}\n"),
       "spec.hostnames", "Required value"},
      {"tlsroute hostname IP",
       kindDoc("gateway.networking.k8s.io/v1", "TLSRoute",
               "spec: {hostnames: [10.1.2.3], rules: [{backendRefs: [{name: s, port: 443}]}]}\n"),
       "spec.hostnames", "Invalid value: \"array\": Hostnames cannot contain an IP"},
      // A pattern violation ("Invalid") does not block CEL evaluation in the API server, so the
      // list's RFC 1123 and wildcard rules are reported too, next to the item's pattern error.
      {"tlsroute hostname not RFC 1123",
       kindDoc("gateway.networking.k8s.io/v1", "TLSRoute",
               "spec: {hostnames: [-a-], rules: [{backendRefs: [{name: s, port: 443}]}]}\n"),
       "spec.hostnames", "Hostnames must be valid based on RFC-1123"},
      {"tlsroute hostname pattern next to the CEL rule",
       kindDoc("gateway.networking.k8s.io/v1", "TLSRoute",
               "spec: {hostnames: [-a-], rules: [{backendRefs: [{name: s, port: 443}]}]}\n"),
       "spec.hostnames[0]", "should match"},
      {"tlsroute wildcard not first",
       kindDoc("gateway.networking.k8s.io/v1", "TLSRoute",
               "spec: {hostnames: [a.*.example.com], rules: [{backendRefs: [{name: s, port: "
               "443}]}]}\n"),
       "spec.hostnames", "Wildcards on hostnames must be the first label"},
      {"tlsroute v1 single rule",
       kindDoc("gateway.networking.k8s.io/v1", "TLSRoute",
               "spec: {hostnames: [a.example.com], rules: [{backendRefs: [{name: s, port: 443}]}, "
               "{backendRefs: [{name: t, port: 443}]}]}\n"),
       "spec.rules", "Too many"},
      {"tlsroute v1alpha2 without hostnames",
       kindDoc("gateway.networking.k8s.io/v1alpha2", "TLSRoute",
               "spec: {rules: [{backendRefs: [{name: s, port: 443}]}]}\n"),
       "", ""},
      {"tcproute rules required",
       kindDoc("gateway.networking.k8s.io/v1alpha2", "TCPRoute",
               "spec: {parentRefs: [{name: gw}]}\n"),
       "spec.rules", "Required value"},
      {"tcproute backendRefs required",
       kindDoc("gateway.networking.k8s.io/v1alpha2", "TCPRoute", "spec: {rules: [{name: a}]}\n"),
       "spec.rules[0].backendRefs", "Required value"},
      {"tcproute has no hostnames",
       kindDoc(
           "gateway.networking.k8s.io/v1alpha2", "TCPRoute",
           "spec: {hostnames: [a.example.com], rules: [{backendRefs: [{name: s, port: 1}]}]}\n"),
       "spec.hostnames", "unknown field"},
      {"tcproute backendRef has no filters",
       kindDoc("gateway.networking.k8s.io/v1", "TCPRoute",
               "spec: {rules: [{backendRefs: [{name: s, port: 1, filters: []}]}]}\n"),
       "spec.rules[0].backendRefs[0].filters", "unknown field"},
      {"tcproute v1alpha2 rule names unique",
       kindDoc("gateway.networking.k8s.io/v1alpha2", "TCPRoute",
               "spec: {rules: [{name: a, backendRefs: [{name: s, port: 1}]}, {name: a, "
               "backendRefs: [{name: s, port: 1}]}]}\n"),
       "spec.rules", "Rule name must be unique"},
      {"group without version", route("hostnames: [a.example.com]", "gateway.networking.k8s.io"),
       "apiVersion", "no matches for kind \"HTTPRoute\""},
      {"udproute v1alpha3 not served",
       kindDoc("gateway.networking.k8s.io/v1alpha3", "UDPRoute",
               "spec: {rules: [{backendRefs: [{name: s, port: 1}]}]}\n"),
       "apiVersion", "no matches"},

      // ---------------- ReferenceGrant ----------------
      {"referencegrant from required",
       kindDoc("gateway.networking.k8s.io/v1beta1", "ReferenceGrant",
               "spec: {to: [{group: '', kind: Service}]}\n"),
       "spec.from", "Required value"},
      {"referencegrant from namespace required",
       kindDoc("gateway.networking.k8s.io/v1beta1", "ReferenceGrant",
               "spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute}], to: [{group: "
               "'', kind: Service}]}\n"),
       "spec.from[0].namespace", "Required value"},
      {"referencegrant group required",
       kindDoc("gateway.networking.k8s.io/v1", "ReferenceGrant",
               "spec: {from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: a}], "
               "to: [{kind: Service}]}\n"),
       "spec.to[0].group", "Required value"},
      {"referencegrant 17 to",
       kindDoc("gateway.networking.k8s.io/v1", "ReferenceGrant",
               "spec:\n  from: [{group: '', kind: K, namespace: a}]\n  to:\n" +
                   many("  - {group: '', kind: K$i}", 17)),
       "spec.to", "Too many"},

      // ---------------- BackendTLSPolicy ----------------
      {"btp both ca refs and well-known",
       kindDoc("gateway.networking.k8s.io/v1", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: "
               "{hostname: a.example.com, wellKnownCACertificates: System, caCertificateRefs: "
               "[{group: '', kind: ConfigMap, name: ca}]}\n"),
       "spec.validation", "must not contain both CACertificateRefs and WellKnownCACertificates"},
      {"btp neither ca refs nor well-known",
       kindDoc("gateway.networking.k8s.io/v1", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: "
               "{hostname: a.example.com}\n"),
       "spec.validation", "must specify either CACertificateRefs or WellKnownCACertificates"},
      {"btp hostname required",
       kindDoc("gateway.networking.k8s.io/v1alpha3", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: "
               "{wellKnownCACertificates: System}\n"),
       "spec.validation.hostname", "Required value"},
      {"btp SAN hostname missing",
       kindDoc("gateway.networking.k8s.io/v1", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: "
               "{hostname: a.example.com, wellKnownCACertificates: System, subjectAltNames: "
               "[{type: Hostname}]}\n"),
       "spec.validation.subjectAltNames[0]", "must contain Hostname"},
      {"btp SAN uri with hostname type",
       kindDoc("gateway.networking.k8s.io/v1", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: "
               "{hostname: a.example.com, wellKnownCACertificates: System, subjectAltNames: "
               "[{type: Hostname, hostname: a.example.com, uri: 'spiffe://a/b'}]}\n"),
       "spec.validation.subjectAltNames[0]", "must not contain URI"},
      {"btp same target without section twice",
       kindDoc(
           "gateway.networking.k8s.io/v1", "BackendTLSPolicy",
           "spec:\n  targetRefs: [{group: '', kind: Service, name: s}, {group: '', kind: Service, "
           "name: s}]\n  validation: {hostname: a.example.com, wellKnownCACertificates: System}\n"),
       "spec.targetRefs", "sectionName must be unique"},
      {"btp same target section on one",
       kindDoc("gateway.networking.k8s.io/v1", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}, {group: '', kind: "
               "Service, name: s, sectionName: https}]\n  validation: {hostname: a.example.com, "
               "wellKnownCACertificates: System}\n"),
       "spec.targetRefs", "sectionName must be specified"},
      {"btp well-known pattern",
       kindDoc("gateway.networking.k8s.io/v1", "BackendTLSPolicy",
               "spec:\n  targetRefs: [{group: '', kind: Service, name: s}]\n  validation: "
               "{hostname: a.example.com, wellKnownCACertificates: Public}\n"),
       "spec.validation.wellKnownCACertificates", "should match"},

      // ---------------- core kinds ----------------
      {"service port required", kindDoc("v1", "Service", "spec: {ports: [{name: a}]}\n"),
       "spec.ports[0].port", "Required value"},
      {"service ports required", kindDoc("v1", "Service", "spec: {type: ClusterIP}\n"),
       "spec.ports", "Required value"},
      {"headless service without ports", kindDoc("v1", "Service", "spec: {clusterIP: None}\n"), "",
       ""},
      {"service port range", kindDoc("v1", "Service", "spec: {ports: [{port: 70000}]}\n"),
       "spec.ports[0].port", "less than or equal to 65535"},
      {"service port names required when several",
       kindDoc("v1", "Service", "spec: {ports: [{port: 80}, {port: 81}]}\n"), "spec.ports[0].name",
       "Required value"},
      {"service duplicate port names",
       kindDoc("v1", "Service", "spec: {ports: [{name: a, port: 80}, {name: a, port: 81}]}\n"),
       "spec.ports[1].name", "Duplicate value"},
      {"service named targetPort pattern",
       kindDoc("v1", "Service", "spec: {ports: [{port: 80, targetPort: Bad_Name}]}\n"),
       "spec.ports[0].targetPort", "IANA service name"},
      {"service numeric string targetPort",
       kindDoc("v1", "Service", "spec: {ports: [{port: 80, targetPort: '8080'}]}\n"),
       "spec.ports[0].targetPort", "IANA service name"},
      {"service targetPort zero defaults to port",
       kindDoc("v1", "Service",
               "spec: {ports: [{port: 80, targetPort: 0}, {name: b, port: 81, targetPort: ''}]}\n"),
       "spec.ports[0].name", "Required value"},
      {"service targetPort zero is valid",
       kindDoc("v1", "Service", "spec: {ports: [{port: 80, targetPort: 0}]}\n"), "", ""},
      {"service targetPort range",
       kindDoc("v1", "Service", "spec: {ports: [{port: 80, targetPort: 65536}]}\n"),
       "spec.ports[0].targetPort", "less than or equal to 65535"},
      {"service protocol enum",
       kindDoc("v1", "Service", "spec: {ports: [{port: 80, protocol: HTTP}]}\n"),
       "spec.ports[0].protocol", "Unsupported value"},
      {"service type enum",
       kindDoc("v1", "Service", "spec: {type: Internal, ports: [{port: 80}]}\n"), "spec.type",
       "Unsupported value"},
      {"externalName required", kindDoc("v1", "Service", "spec: {type: ExternalName}\n"),
       "spec.externalName", "Required value"},
      {"externalName must be a DNS name",
       kindDoc("v1", "Service", "spec: {type: ExternalName, externalName: 'not a host'}\n"),
       "spec.externalName", "valid DNS name"},
      {"service name is a DNS-1035 label",
       "apiVersion: v1\nkind: Service\nmetadata: {name: 1web}\nspec: {ports: [{port: 80}]}\n",
       "metadata.name", "DNS-1035"},
      {"endpointslice addressType required",
       kindDoc("discovery.k8s.io/v1", "EndpointSlice", "endpoints: [{addresses: [10.0.0.1]}]\n"),
       "addressType", "Required value"},
      {"endpointslice address must match type",
       kindDoc("discovery.k8s.io/v1", "EndpointSlice",
               "addressType: IPv4\nendpoints: [{addresses: ['300.1.1.1']}]\n"),
       "endpoints[0].addresses[0]", "valid IPv4 address"},
      {"endpointslice IPv6",
       kindDoc("discovery.k8s.io/v1", "EndpointSlice",
               "addressType: IPv6\nendpoints: [{addresses: ['10.0.0.1']}]\n"),
       "endpoints[0].addresses[0]", "valid IPv6 address"},
      {"endpointslice addresses required",
       kindDoc("discovery.k8s.io/v1", "EndpointSlice",
               "addressType: IPv4\nendpoints: [{addresses: []}]\n"),
       "endpoints[0].addresses", "at least 1"},
      {"endpointslice duplicate port names",
       kindDoc("discovery.k8s.io/v1", "EndpointSlice",
               "addressType: IPv4\nports: [{name: a, port: 1}, {name: a, port: 2}]\n"),
       "ports[1].name", "Duplicate value"},
      {"endpointslice ready must be boolean",
       kindDoc("discovery.k8s.io/v1", "EndpointSlice",
               "addressType: IPv4\nendpoints: [{addresses: [10.0.0.1], conditions: {ready: "
               "'true'}}]\n"),
       "endpoints[0].conditions.ready", "must be of type boolean"},
      {"tls secret needs tls.key",
       kindDoc("v1", "Secret", "type: kubernetes.io/tls\ndata: {tls.crt: YQ==}\n"), "data",
       "data[tls.key]"},
      {"secret base64", kindDoc("v1", "Secret", "data: {k: 'not base64!'}\n"), "data[k]",
       "illegal base64"},
      {"secret key pattern", kindDoc("v1", "Secret", "stringData: {'a/b': x}\n"), "stringData[a/b]",
       "valid config key"},
      {"configmap key in data and binaryData",
       kindDoc("v1", "ConfigMap", "data: {k: a}\nbinaryData: {k: YQ==}\n"), "binaryData[k]",
       "duplicate of key"},
      {"configmap value must be a string", kindDoc("v1", "ConfigMap", "data: {k: 1}\n"), "data[k]",
       "must be of type string"},
      {"namespace name is a DNS label", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a.b}\n",
       "metadata.name", "RFC 1123 label"},
  };
}

class Validation : public ::testing::TestWithParam<Case> {};

TEST_P(Validation, Rule) {
  const Case& c = GetParam();
  auto r = parseText(c.yaml);
  if (c.field.empty()) {
    EXPECT_TRUE(r.errors.empty()) << errorsToString(r) << "\n---\n" << c.yaml;
    EXPECT_EQ(objectCount(r.objects), 1u);
    return;
  }
  ASSERT_FALSE(r.errors.empty()) << "expected an error at " << c.field << "\n---\n" << c.yaml;
  bool found = false;
  for (const auto& e : r.errors) {
    if (e.field == c.field && e.message.find(c.message) != std::string::npos) found = true;
  }
  EXPECT_TRUE(found) << "want " << c.field << ": ..." << c.message << "...\ngot:\n"
                     << errorsToString(r) << "---\n"
                     << c.yaml;
  // An invalid object is left out of the set.
  EXPECT_EQ(objectCount(r.objects), 0u);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.file, "test.yaml");
    EXPECT_GT(e.line, 0);
    EXPECT_FALSE(e.object.empty());
  }
}

std::string caseName(const ::testing::TestParamInfo<Case>& info) {
  std::string s;
  for (char ch : std::string(info.param.name))
    s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
  return s;
}

INSTANTIATE_TEST_SUITE_P(Rules, Validation, ::testing::ValuesIn(cases()), caseName);

}  // namespace
}  // namespace gantry::api

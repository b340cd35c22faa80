"""Hand-written violations of the CRDs' x-kubernetes-validations (CEL) rules.

CEL cannot be evaluated generically here, so every rule (keyed by its message; the rule text when it
has none) maps to:
  violate(node, ctx)  mutates the node holding the rule (an object, a list or a map) so that the
                      rule is false and nothing else needs to change;
  repair(node, ctx)   (optional) makes a generated example satisfy the rule (e.g. a Service
                      backendRef gets a port), so that the valid base objects are valid;
  select(node, key, ctx)  (optional) called before the union member `key` is created in `node`:
                      sets the discriminator (filter.type, externalAuth.protocol...).
A rule found in the CRDs and missing here fails the test: a new spec version shows up as work.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any, Callable, Optional

Fn = Optional[Callable[..., None]]


@dataclass
class Entry:
    violate: Fn
    repair: Fn = None
    select: Fn = None
    why_not: str = ""
    # Near misses: mutations after which the rule still holds, so the object must be accepted
    # (the edges of each rule: defaults, absent versus empty, the exact limit).
    accept: tuple = ()


FIELD_OF = {
    "RequestHeaderModifier": "requestHeaderModifier",
    "ResponseHeaderModifier": "responseHeaderModifier",
    "RequestMirror": "requestMirror",
    "RequestRedirect": "requestRedirect",
    "URLRewrite": "urlRewrite",
    "ExtensionRef": "extensionRef",
    "CORS": "cors",
    "ExternalAuth": "externalAuth",
}

# Parent fix-ups before a child is created, by schema path (regex, full match).
PARENT_SELECT: list[tuple[str, Callable[[Any], None]]] = [
    # A LabelSelectorRequirement with values needs operator In or NotIn (the generated example is
    # Exists, which takes none). The CRD schema does not say so, but metav1's selector validation
    # does, and gantry applies it at parse time (docs/validation.md).
    (r".*\.matchExpressions\[\]\.values", lambda parent: parent.update(operator="In")),
]


def make_filter(ctx, t: str) -> dict:
    """A valid filter of type `t`; ctx is the filter item's context."""
    f = {"type": t, FIELD_OF[t]: ctx.example(FIELD_OF[t])}
    return ctx.repair(f)


def replace(node: Any, value: Any) -> None:
    if isinstance(node, dict):
        node.clear()
        node.update(value)
    else:
        node[:] = value


# --- parameterised families --------------------------------------------------------------------


def _filter_nil(x: str, t: str) -> Entry:
    def violate(node, ctx):
        other = "ExtensionRef" if t != "ExtensionRef" else "RequestHeaderModifier"
        replace(node, make_filter(ctx, other))
        node[x] = ctx.example(x)

    def select(node, key, ctx):
        if key == x:
            replace(node, {"type": t})

    return Entry(violate, select=select)


def _filter_specified(x: str, t: str) -> Entry:
    def violate(node, ctx):
        replace(node, {"type": t})

    def repair(node, ctx):
        if node.get("type") == t and x not in node:
            node[x] = ctx.example(x)

    return Entry(violate, repair=repair)


def _filter_not_repeated(t: str) -> Entry:
    def violate(node, ctx):
        f = make_filter(ctx.items(), t)
        replace(node, [f, copy.deepcopy(f)])

    return Entry(violate)


def _star_alone(valid_other: str) -> Entry:
    return Entry(lambda node, ctx: replace(node, ["*", valid_other]))


def _path_value(value: str, type_: str = "PathPrefix", accept: tuple = ()) -> Entry:
    return Entry(lambda node, ctx: replace(node, {"type": type_, "value": value}),
                 accept=tuple((lambda v: lambda node, ctx: replace(
                     node, {"type": "PathPrefix", "value": v}))(v) for v in accept) + (
                     lambda node, ctx: replace(node, {"type": "RegularExpression",
                                                      "value": value}),))


def _modifier(t: str, f: str, other_t: str, other_f: str) -> tuple[Entry, Entry]:
    """The two rules tying path modifier type `t` to its field `f`."""

    def must_have_violate(node, ctx):
        replace(node, {"type": t})

    def must_have_repair(node, ctx):
        if node.get("type") == t and f not in node:
            node[f] = ctx.example(f)

    def select(node, key, ctx):
        if key == f:
            replace(node, {"type": t})

    def type_violate(node, ctx):
        replace(node, {"type": other_t, other_f: "/other", f: "/x"})

    return (Entry(must_have_violate, repair=must_have_repair, select=select),
            Entry(type_violate))


def _ext_auth(proto: str, f: str, other_proto: str, other_f: str) -> tuple[Entry, Entry]:
    def must_have_violate(node, ctx):
        node.pop(f, None)
        node.pop(other_f, None)
        node["protocol"] = proto

    def must_have_repair(node, ctx):
        if node.get("protocol") == proto and f not in node:
            node[f] = ctx.example(f)

    def select(node, key, ctx):
        if key == f:
            node["protocol"] = proto
            node.pop(other_f, None)

    def proto_violate(node, ctx):
        node["protocol"] = other_proto
        node[other_f] = ctx.example(other_f)
        node[f] = ctx.example(f)

    return (Entry(must_have_violate, repair=must_have_repair, select=select),
            Entry(proto_violate))


def _san(t: str, f: str, value: str, other_t: str, other_f: str, other_value: str):
    def must_violate(node, ctx):
        replace(node, {"type": t})

    def must_repair(node, ctx):
        if node.get("type") == t and not node.get(f):
            node[f] = value

    def select(node, key, ctx):
        if key == f:
            replace(node, {"type": t})

    def must_not_violate(node, ctx):
        replace(node, {"type": other_t, other_f: other_value, f: value})

    return (Entry(must_violate, repair=must_repair, select=select), Entry(must_not_violate))


# --- specific rules ----------------------------------------------------------------------------


def _service_port_repair(node, ctx):
    if node.get("group", "") == "" and node.get("kind", "Service") == "Service" and \
            "port" not in node:
        node["port"] = 8080


def _service_port_violate(node, ctx):
    node["group"] = ""
    node["kind"] = "Service"
    node.pop("port", None)


def _listeners_tls_repair(node, ctx):
    for l in node:
        if l.get("protocol") in ("HTTP", "TCP", "UDP") and "tls" in l:
            l["protocol"] = "TLS" if l["tls"].get("mode") == "Passthrough" else "HTTPS"


def _listeners_tls_violate(node, ctx):
    node[0]["protocol"] = "HTTP"
    node[0]["tls"] = {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}


def _listeners_hostname_repair(node, ctx):
    for l in node:
        if l.get("protocol") in ("TCP", "UDP") and l.get("hostname"):
            l.pop("hostname")


def _listeners_hostname_violate(node, ctx):
    node[0]["protocol"] = "TCP"
    node[0].pop("tls", None)
    node[0]["hostname"] = "example.com"


def _tls_mode_set_repair(node, ctx):
    for l in node:
        if l.get("protocol") == "TLS" and "tls" not in l:
            l["tls"] = {"mode": "Passthrough"}


def _tls_mode_set_violate(node, ctx):
    node[0]["protocol"] = "TLS"
    node[0].pop("tls", None)
    node[0].pop("hostname", None)


def _tls_https_violate(node, ctx):
    node[0]["protocol"] = "HTTPS"
    node[0]["tls"] = {"mode": "Passthrough"}


def _listener_name_violate(node, ctx):
    l2 = copy.deepcopy(node[0])
    l2["port"] = l2.get("port", 1) % 65535 + 1
    node.append(l2)


def _listener_combo_other_hostname(node, ctx):
    # Same port and protocol, one listener with a hostname and one without: distinct.
    node[0].pop("hostname", None)
    l2 = copy.deepcopy(node[0])
    l2["name"] = "other"
    l2["hostname"] = "b.example.com"
    node.append(l2)


def _listener_combo_violate(node, ctx):
    l2 = copy.deepcopy(node[0])
    l2["name"] = "other"
    node.append(l2)


def _terminate_repair(node, ctx):
    if node.get("mode", "Terminate") == "Terminate" and not node.get("certificateRefs") and \
            not node.get("options"):
        node["certificateRefs"] = [{"name": "cert"}]


def _terminate_violate(node, ctx):
    replace(node, {"mode": "Terminate"})


def _dup_first(node, ctx):
    if not node:
        node.append(ctx.item(0))
    node.append(copy.deepcopy(node[0]))


def _parent_refs(unique: bool):
    def violate(node, ctx):
        if unique:
            replace(node, [{"name": "gw", "sectionName": "a"}, {"name": "gw", "sectionName": "a"}])
        else:
            replace(node, [{"name": "gw"}, {"name": "gw", "sectionName": "a"}])

    accept = (
        # Another namespace is another parent; "" is the same as absent.
        lambda n, c: replace(n, [{"name": "gw"}, {"name": "gw", "namespace": "other"}]),
        lambda n, c: replace(n, [{"name": "gw", "sectionName": "a"},
                                 {"name": "gw", "sectionName": "b"}]),
        lambda n, c: replace(n, [{"name": "gw", "port": 80}, {"name": "gw", "port": 443}]),
        lambda n, c: replace(n, [{"name": "gw", "sectionName": "a", "port": 80},
                                 {"name": "gw", "sectionName": "a", "port": 443}]),
    )
    return Entry(violate, accept=accept)


def _target_refs(unique: bool):
    def violate(node, ctx):
        t = ctx.item(0)
        t.pop("sectionName", None)
        if unique:
            replace(node, [dict(t, sectionName="a"), dict(t, sectionName="a")])
        else:
            replace(node, [dict(t), dict(t, sectionName="a")])

    return Entry(violate)


def _too_many_matches(node, ctx):
    rule_ctx = ctx.items()
    match_ctx = rule_ctx.child("matches").items()
    rules = []
    for r in range(3):
        rule = rule_ctx.gen.example(rule_ctx.schema, rule_ctx.segs)
        rule.pop("name", None)
        rule["matches"] = [match_ctx.gen.distinct(match_ctx.schema, match_ctx.segs, i)
                           for i in range(64)]
        rules.append(rule)
    replace(node, rules)


def _exactly_128_matches(node, ctx):
    # The rule's expression is "<= 128".
    _too_many_matches(node, ctx)
    del node[2]


def _rule_names_violate(node, ctx):
    r = ctx.item(0)
    replace(node, [dict(copy.deepcopy(r), name="a"), dict(copy.deepcopy(r), name="a")])


def _grpc_method_repair(node, ctx):
    if "service" not in node and "method" not in node:
        node["method"] = "Call"


def _ca_select(node, key, ctx):
    if key == "caCertificateRefs":
        node.pop("wellKnownCACertificates", None)


def _ca_repair(node, ctx):
    if not node.get("caCertificateRefs") and not node.get("wellKnownCACertificates"):
        node["wellKnownCACertificates"] = "System"


def _ca_both(node, ctx):
    node["caCertificateRefs"] = [{"group": "", "kind": "ConfigMap", "name": "ca"}]
    node["wellKnownCACertificates"] = "System"


def _ca_neither(node, ctx):
    node.pop("caCertificateRefs", None)
    node.pop("wellKnownCACertificates", None)


def _permanent_repair(node, ctx):
    cc = node.get("cookieConfig") or {}
    if cc.get("lifetimeType") == "Permanent" and "absoluteTimeout" not in node:
        node["absoluteTimeout"] = "1h"


def _permanent_violate(node, ctx):
    node["type"] = "Cookie"
    node["cookieConfig"] = {"lifetimeType": "Permanent"}
    node.pop("absoluteTimeout", None)


def _cookie_select(node, key, ctx):
    if key == "cookieConfig":
        node["type"] = "Cookie"


def _cookie_violate(node, ctx):
    node["type"] = "Header"
    node["cookieConfig"] = {"lifetimeType": "Session"}


def _redirect_with_backends(node, ctx):
    node["backendRefs"] = [ctx.child("backendRefs").item(0)]
    node["filters"] = [make_filter(ctx.child("filters").items(), "RequestRedirect")]


def _prefix_filter(kind: str) -> dict:
    return {"type": kind, FIELD_OF[kind]: {"path": {"type": "ReplacePrefixMatch",
                                                     "replacePrefixMatch": "/p"}}}


def _prefix_rule(kind: str, within_backends: bool):
    def violate(node, ctx):
        node.pop("filters", None)
        node.pop("backendRefs", None)
        node["matches"] = [{"path": {"type": "Exact", "value": "/a"}}]
        if within_backends:
            node["backendRefs"] = [{"name": "svc", "port": 80, "filters": [_prefix_filter(kind)]}]
        else:
            node["filters"] = [_prefix_filter(kind)]

    return Entry(violate)


def _map_key(key: str):
    def violate(node, ctx):
        node[key] = "v"

    return Entry(violate)


TABLE: dict[str, Entry] = {
    # BackendTLSPolicy
    "sectionName must be specified when targetRefs includes 2 or more references to the same "
    "target": _target_refs(False),
    "sectionName must be unique when targetRefs includes 2 or more references to the same "
    "target": _target_refs(True),
    "must not contain both CACertificateRefs and WellKnownCACertificates":
        Entry(_ca_both, select=_ca_select),
    "must specify either CACertificateRefs or WellKnownCACertificates":
        Entry(_ca_neither, repair=_ca_repair),
    # GatewayClass
    "Value is immutable": Entry(None, why_not="transition rule (oldSelf): update only"),
    # Gateway addresses and infrastructure
    "IPAddress values must be unique": Entry(lambda n, c: replace(
        n, [{"type": "IPAddress", "value": "10.0.0.1"}, {"type": "IPAddress",
                                                         "value": "10.0.0.1"}])),
    "Hostname values must be unique": Entry(lambda n, c: replace(
        n, [{"type": "Hostname", "value": "example.com"}, {"type": "Hostname",
                                                           "value": "example.com"}])),
    "Hostname value must be empty or contain only valid characters (matching "
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)":
        Entry(lambda n, c: replace(n, {"type": "Hostname", "value": "-bad-"}),
              accept=(lambda n, c: replace(n, {"type": "Hostname"}),
                      lambda n, c: replace(n, {"type": "Hostname", "value": "*.example.com"}),
                      lambda n, c: replace(n, {"type": "NamedAddress", "value": "-anything-"}))),
    "Annotation keys must be in the form of an optional DNS subdomain prefix followed by a "
    "required name segment of up to 63 characters.": _map_key("Bad Key"),
    "If specified, the annotation key's prefix must be a DNS subdomain not longer than 253 "
    "characters in total.": _map_key("a" * 253 + "/k"),
    "Label keys must be in the form of an optional DNS subdomain prefix followed by a required "
    "name segment of up to 63 characters.": _map_key("Bad Key"),
    "If specified, the label key's prefix must be a DNS subdomain not longer than 253 characters "
    "in total.": _map_key("a" * 253 + "/k"),
    # Listeners (Gateway and ListenerSet)
    "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']":
        Entry(_listeners_tls_violate, repair=_listeners_tls_repair),
    "tls mode must be Terminate for protocol HTTPS": Entry(_tls_https_violate),
    "tls mode must be set for protocol TLS": Entry(_tls_mode_set_violate,
                                                   repair=_tls_mode_set_repair),
    "hostname must not be specified for protocols ['TCP', 'UDP']":
        Entry(_listeners_hostname_violate, repair=_listeners_hostname_repair),
    "Listener name must be unique within the Gateway": Entry(_listener_name_violate),
    "Combination of port, protocol and hostname must be unique for each listener":
        Entry(_listener_combo_violate, accept=(_listener_combo_other_hostname,)),
    "certificateRefs or options must be specified when mode is Terminate":
        Entry(_terminate_violate, repair=_terminate_repair),
    "Port for TLS configuration must be unique within the Gateway": Entry(_dup_first),
    # Routes: parentRefs and rules
    "sectionName or port must be specified when parentRefs includes 2 or more references to the "
    "same parent": _parent_refs(False),
    "sectionName or port must be unique when parentRefs includes 2 or more references to the "
    "same parent": _parent_refs(True),
    "While 16 rules and 64 matches per rule are allowed, the total number of matches across all "
    "rules in a route must be less than 128": Entry(_too_many_matches,
                                                   accept=(_exactly_128_matches,)),
    "Rule name must be unique within the route": Entry(_rule_names_violate),
    "Must have port for Service reference":
        Entry(_service_port_violate, repair=_service_port_repair),
    # Filters
    "Only one of percent or fraction may be specified in HTTPRequestMirrorFilter": Entry(
        lambda n, c: n.update(percent=50, fraction={"numerator": 1, "denominator": 2})),
    "numerator must be less than or equal to denominator": Entry(
        lambda n, c: n.update(numerator=3, denominator=2),
        accept=(lambda n, c: n.update(numerator=2, denominator=2),
                lambda n, c: n.update(numerator=0),  # denominator defaults to 100
                )),
    "May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not "
    "both": Entry(lambda n, c: replace(n, [make_filter(c.items(), "RequestRedirect"),
                                           make_filter(c.items(), "URLRewrite")])),
    "AllowHeaders cannot contain '*' alongside other methods": _star_alone("X-Test"),
    "AllowMethods cannot contain '*' alongside other methods": _star_alone("GET"),
    "AllowOrigins cannot contain '*' alongside other origins": Entry(
        lambda node, ctx: replace(node, ["*", "https://example.com"]),
        accept=(lambda n, c: replace(n, ["*"]),
                lambda n, c: replace(n, ["https://*.example.com", "http://a.example.com:8080"]))),
    # GRPCRoute method match
    "One or both of 'service' or 'method' must be specified": Entry(
        lambda n, c: replace(n, {"type": "Exact"}), repair=_grpc_method_repair),
    r"service must only contain valid characters (matching "
    r"^(?i)\.?[a-z_][a-z_0-9]*(\.[a-z_][a-z_0-9]*)*$)": Entry(
        lambda n, c: replace(n, {"type": "Exact", "service": "bad service"}),
        accept=(lambda n, c: replace(n, {"service": "Pkg.V1.Svc_2"}),  # (?i), type defaulted
                lambda n, c: replace(n, {"type": "RegularExpression", "service": "bad service"}),
                lambda n, c: replace(n, {"service": ".pkg.Svc"}))),
    "method must only contain valid characters (matching ^[A-Za-z_][A-Za-z_0-9]*$)": Entry(
        lambda n, c: replace(n, {"type": "Exact", "method": "bad method"})),
    # Session persistence
    "AbsoluteTimeout must be specified when cookie lifetimeType is Permanent":
        Entry(_permanent_violate, repair=_permanent_repair),
    "cookieConfig can only be set with type Cookie": Entry(_cookie_violate, select=_cookie_select),
    # HTTPRoute rules
    "RequestRedirect filter must not be used together with backendRefs":
        Entry(_redirect_with_backends),
    "When using RequestRedirect filter with path.replacePrefixMatch, exactly one PathPrefix match "
    "must be specified": _prefix_rule("RequestRedirect", False),
    "When using URLRewrite filter with path.replacePrefixMatch, exactly one PathPrefix match must "
    "be specified": _prefix_rule("URLRewrite", False),
    "Within backendRefs, when using RequestRedirect filter with path.replacePrefixMatch, exactly "
    "one PathPrefix match must be specified": _prefix_rule("RequestRedirect", True),
    "Within backendRefs, When using URLRewrite filter with path.replacePrefixMatch, exactly one "
    "PathPrefix match must be specified": _prefix_rule("URLRewrite", True),
    "backendRequest timeout cannot be longer than request timeout": Entry(
        lambda n, c: n.update(request="1s", backendRequest="2s"),
        accept=(lambda n, c: n.update(request="1s", backendRequest="1000ms"),
                # request "0s" disables the request timeout: any backendRequest is fine.
                lambda n, c: n.update(request="0s", backendRequest="10s"),
                lambda n, c: n.update(request="1m", backendRequest="59s"))),
    # HTTPRoute path match
    "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']":
        _path_value("a"),
    "must not contain '//' when type one of ['Exact', 'PathPrefix']": _path_value(
        "/a//b", accept=("/a/b/", "/")),
    "must not contain '/./' when type one of ['Exact', 'PathPrefix']": _path_value("/a/./b"),
    "must not contain '/../' when type one of ['Exact', 'PathPrefix']": _path_value(
        "/a/../b", accept=("/a/..b", "/a/b..", "/...")),
    "must not contain '%2f' when type one of ['Exact', 'PathPrefix']": _path_value("/a%2fb"),
    "must not contain '%2F' when type one of ['Exact', 'PathPrefix']": _path_value("/a%2Fb"),
    "must not contain '#' when type one of ['Exact', 'PathPrefix']": _path_value("/a#b"),
    "must not end with '/..' when type one of ['Exact', 'PathPrefix']": _path_value("/a/.."),
    "must not end with '/.' when type one of ['Exact', 'PathPrefix']": _path_value(
        "/a/.", accept=("/a.", "/a/.b")),
    # Same set as the enum on path.type, and an enum violation (NotSupported) is a "blocking"
    # error: the API server then skips every CEL rule (apiextensions-apiserver strategy.go
    # hasBlockingErr), so this rule can never be the one that rejects an object.
    "type must be one of ['Exact', 'PathPrefix', 'RegularExpression']": Entry(
        None, why_not="duplicates the enum on path.type, whose violation blocks CEL evaluation"),
    "must only contain valid characters (matching ^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]"
    "{2})+$) for types ['Exact', 'PathPrefix']": _path_value("/a b"),
    # TLSRoute hostnames
    "Hostnames cannot contain an IP": Entry(lambda n, c: replace(n, ["10.0.0.1"])),
    "Hostnames must be valid based on RFC-1123": Entry(lambda n, c: replace(n, ["-bad-"])),
    "Wildcards on hostnames must be the first label, and the rest of hostname must be valid based "
    "on RFC-1123": Entry(lambda n, c: replace(n, ["a.*.example.com"])),
}

for _t, _f in FIELD_OF.items():
    TABLE[f"filter.{_f} must be nil if the filter.type is not {_t}"] = _filter_nil(_f, _t)
    TABLE[f"filter.{_f} must be specified for {_t} filter.type"] = _filter_specified(_f, _t)
    TABLE[f"{_t} filter cannot be repeated"] = _filter_not_repeated(_t)

for _t, _f, _ot, _of in (("ReplaceFullPath", "replaceFullPath", "ReplacePrefixMatch",
                          "replacePrefixMatch"),
                         ("ReplacePrefixMatch", "replacePrefixMatch", "ReplaceFullPath",
                          "replaceFullPath")):
    _must, _type = _modifier(_t, _f, _ot, _of)
    TABLE[f"{_f} must be specified when type is set to '{_t}'"] = _must
    TABLE[f"type must be '{_t}' when {_f} is set"] = _type

for _p, _f, _op, _of in (("GRPC", "grpc", "HTTP", "http"), ("HTTP", "http", "GRPC", "grpc")):
    _must, _proto = _ext_auth(_p, _f, _op, _of)
    TABLE[f"{_f} must be specified when protocol is set to '{_p}'"] = _must
    TABLE[f"protocol must be '{_p}' when {_f} is set"] = _proto

for _args in (("Hostname", "hostname", "example.com", "URI", "uri", "spiffe://example.com/a"),
              ("URI", "uri", "spiffe://example.com/a", "Hostname", "hostname", "example.com")):
    _must, _must_not = _san(*_args)
    TABLE[f"SubjectAltName element must contain {_args[0]}, if Type is set to {_args[0]}"] = _must
    TABLE[f"SubjectAltName element must not contain {_args[0]}, if Type is not set to "
          f"{_args[0]}"] = _must_not


# Schema combinators (oneOf / anyOf / not / allOf), keyed by their canonical JSON: (violate(node,
# ctx), path suffix of the expected error, message regex). GatewaySpecAddress: an IPAddress value
# must be an IPv4 or IPv6 address (tests/cel/gateway_test.go in gateway-api expects
# 'spec.addresses[0].value in body must be of type ipv4').
_ADDRESS_ONE_OF = [
    {"properties": {"type": {"enum": ["IPAddress"]},
                    "value": {"anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}}},
    {"properties": {"type": {"not": {"enum": ["IPAddress"]}}}},
]
COMBINATORS: dict[str, tuple] = {
    "oneOf:" + json.dumps(_ADDRESS_ONE_OF, sort_keys=True): (
        lambda n, c: n.update(type="IPAddress", value="1.2.3.4:8080"), ".value",
        r"must be of type ipv4"),
}


def combinator(c: str, detail: Any) -> tuple | None:
    return COMBINATORS.get(c + ":" + json.dumps(detail, sort_keys=True))


def key(rule: dict) -> str:
    return rule.get("message") or rule["rule"]


def lookup(rule: dict) -> Entry | None:
    return TABLE.get(key(rule))


def used_keys() -> set[str]:
    return set(TABLE)


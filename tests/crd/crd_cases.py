"""Generates, from the published CRDs, one test case per schema constraint: a minimal valid object
that must be accepted, and the same object with exactly that constraint violated, which must be
rejected with the field path (and message kind) the API server would report.

Constraints walked (under each served version's openAPIV3Schema, status excluded): required,
maxLength, minLength, pattern, enum, minimum, maximum, minItems, maxItems, maxProperties,
x-kubernetes-list-type map (key uniqueness) and set (item uniqueness), and every
x-kubernetes-validations CEL rule (through the hand-written table in crd_cel_table.py). `format` is
counted but not checked: the only format in these CRDs is int32 on integers, which the API server
does not range-check (kube-openapi's type validator looks at the JSON type only).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, Callable

import crd_cel_table as cel_table

# --- example values --------------------------------------------------------------------------

# A valid example for every string pattern in the CRDs. A pattern missing here fails the run (a new
# spec version shows up as work, not as a silently skipped field).
PATTERN_EXAMPLES = {
    r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": "",
    r"^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$": "Service",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": "example.com",
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$": "example.com",
    r"^(([^:/?#]+):)(//([^/?#]*))([^?#]*)(\?([^#]*))?(#(.*))?": "spiffe://example.com/a",
    r"^(System|([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]))$": "System",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$": "gantry.io/gateway-controller",
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$": "default",
    r"^Hostname|IPAddress|NamedAddress|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9\/\-._~%!$&'()*+,;=:]+$": "IPAddress",
    r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$": "v",
    r"^[a-zA-Z0-9]([-a-zA-Z0-9]*[a-zA-Z0-9])?$|[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/[A-Za-z0-9]+$": "HTTP",
    r"^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$": "X-Test",
    r"^[!-~]+([\t ]?[!-~]+)*$": "v",
    r"^([0-9]{1,5}(h|m|s|ms)){1,4}$": "1s",
    r"(^\*$)|(^(http(s)?):\/\/(((\*\.)?([a-zA-Z0-9\-]+\.)*[a-zA-Z0-9-]+|\*)(:([0-9]{1,5}))?)$)": "https://example.com",
    r"^(?:[-A-Za-z0-9/._~!$&'()*+,;=:@]|[%][0-9a-fA-F]{2})+$": "/",
}

# Examples for fields whose validity the schema alone does not give (CEL on the parent, or an
# address whose type is not in the schema's pattern). Keyed by schema path (regex, full match).
PATH_EXAMPLES: list[tuple[str, Callable[[], Any]]] = [
    (r".*\.addresses\[\]\.value", lambda: "10.0.0.1"),
    (r".*\.matches\[\]\.path\.value", lambda: "/"),
    (r".*\.path\.replaceFullPath", lambda: "/full"),
    (r".*\.path\.replacePrefixMatch", lambda: "/prefix"),
    (r".*\.method\.service", lambda: "pkg.Svc"),
    (r".*\.method\.method", lambda: "Call"),
    (r".*\.selector\.matchExpressions\[\]\.operator", lambda: "Exists"),
    # metav1 selector validation (applied by gantry, docs/validation.md): In/NotIn need values.
    (r".*\.selector\.matchExpressions\[\]\.values", lambda: ["a"]),
    (r".*\.(allowMethods)\[\]", lambda: "GET"),
    (r".*\.(allowHeaders|exposeHeaders)\[\]", lambda: "X-Test"),
    (r".*\.(allowOrigins)\[\]", lambda: "https://example.com"),
    (r".*\.(statusCode)", lambda: 302),
    (r".*\.timeouts\.(request|backendRequest)", lambda: "10s"),
]

# Candidates for a value that breaks a pattern (the first not matching it, within the length
# limits when possible, is used).
NON_MATCHING = ["-", " ", "a b", "UPPER_case!", "%zz", "*", "a..b", "\u00e9"]


# Strings tried against every distinct pattern: the CRD's own regex (Python re, which agrees with
# RE2 on these patterns) is the oracle for whether each must be accepted, so a pattern copied
# wrongly into gantry shows up even where the first non-matching candidate above would not.
PATTERN_CORPUS = [
    "a", "A", "0", "a1", "-a", "a-", "a-b", "a_b", "A_b", "a.b", "a..b", ".a", "a.", "a.b.c",
    "*", "**", "*.a.com", "*a.com", "a.*.com", "*.", "a b", "a\tb", " a", "a ", "a/b",
    "example.com/x", "example.com/", "/a", "//a", "a:b", "1s", "100ms", "1h2m3s4ms", "123456s",
    "1d", "1.5s", "http://a.com", "https://a.com:8080", "https://a.com:", "http://*.a.com",
    "http://a.com/x", "HTTP://a.com", "spiffe://a/b", "IPAddress", "Hostname", "NamedAddress",
    "example.com/My-Type", "a.b/c%20d", "GET", "X-Header", "x\u007f", "\u00e9", "Service",
    "v1", "A1-b", "System", "example.com/ca", "a" * 63, "a" * 64, "a" * 63 + "." + "b" * 63,
    "%2F", "/a%2fb", "!#$%&'*+-.^_`|~",
]


def pattern_re(p: str) -> re.Pattern:
    # Go RE2 syntax as used by these CRDs is accepted by Python's re, once \x60 (backquote) is
    # spelled the Python way (it already is) and (?i) is at the start of a group or pattern.
    return re.compile(p)


def matches(p: str, s: str) -> bool:
    return pattern_re(p).search(s) is not None


class SchemaGap(Exception):
    """The generator cannot build a value: the CRD grew something the tables do not know."""


def path_str(segs: list) -> str:
    out = ""
    for s in segs:
        if isinstance(s, int):
            out += f"[{s}]"
        elif s == "{}":
            out += ".k"
        else:
            out += ("." if out else "") + s
    return out


def schema_path(segs: list) -> str:
    out = ""
    for s in segs:
        if isinstance(s, int):
            out += "[]"
        elif s == "{}":
            out += "{}"
        else:
            out += ("." if out else "") + s
    return out


class Gen:
    """Example values for one kind/version schema."""

    def __init__(self, root: dict):
        self.root = root

    def sub(self, schema: dict, seg) -> dict:
        if isinstance(seg, int):
            return schema["items"]
        if seg == "{}":
            return schema["additionalProperties"]
        return schema["properties"][seg]

    def schema_at(self, segs: list) -> dict:
        s = self.root
        for seg in segs:
            s = self.sub(s, seg)
        return s

    def example(self, schema: dict, segs: list) -> Any:
        sp = schema_path(segs)
        for rx, fn in PATH_EXAMPLES:
            if re.fullmatch(rx, sp):
                return fn()
        t = schema.get("type")
        if t == "object":
            v: dict = {}
            for name in schema.get("required", []):
                v[name] = self.example(schema["properties"][name], segs + [name])
            self.repair(schema, v, segs)
            return v
        if t == "array":
            n = schema.get("minItems", 0)
            items = [self.distinct(schema["items"], segs + [i], i) for i in range(n)]
            self.repair(schema, items, segs)
            return items
        if "default" in schema:
            return copy.deepcopy(schema["default"])
        if t == "string":
            if "enum" in schema:
                return schema["enum"][0]
            if "pattern" in schema:
                if schema["pattern"] not in PATTERN_EXAMPLES:
                    raise SchemaGap(f"{sp}: no example for pattern {schema['pattern']!r}")
                return PATTERN_EXAMPLES[schema["pattern"]]
            return "a" * max(schema.get("minLength", 0), 1)
        if t == "integer":
            lo = schema.get("minimum", 1)
            return max(lo, 1) if schema.get("maximum", 1) >= 1 else lo
        if t == "boolean":
            return False
        raise SchemaGap(f"{sp}: cannot build an example of {schema}")

    def distinct(self, schema: dict, segs: list, i: int) -> Any:
        """The i-th of several items that differ in their keys (names, ports, hostnames)."""
        v = self.example(schema, segs)
        if i == 0:
            return v
        if isinstance(v, dict):
            for key in ("name", "sectionName"):
                if isinstance(v.get(key), str) and v[key]:
                    v[key] = f"n{i}-{v[key]}" if "." in v[key] else f"{v[key]}{i}"
            if isinstance(v.get("port"), int):
                v["port"] = v["port"] + i
            if isinstance(v.get("value"), str) and re.fullmatch(r"\d+\.\d+\.\d+\.\d+", v["value"]):
                v["value"] = f"10.0.{i // 256}.{i % 256}"
            # Other objects (filters...) stay identical: enough for an item-count check.
        elif isinstance(v, str):
            if v.startswith("/"):
                v = f"/p{i}"
            elif v == "example.com":
                v = f"h{i}.example.com"
            elif "enum" in schema:
                v = schema["enum"][i % len(schema["enum"])]
            else:
                v = f"{v}{i}"
        elif isinstance(v, int):
            v = v + i
        return v

    def repair(self, schema: dict, node: Any, segs: list) -> None:
        for rule in schema.get("x-kubernetes-validations", []):
            entry = cel_table.lookup(rule)
            if entry is not None and entry.repair is not None:
                entry.repair(node, Ctx(self, schema, segs))

    # --- materialising a path in an object --------------------------------------------------

    def materialize(self, doc: dict, segs: list) -> Any:
        """Makes sure the value at `segs` exists (creating parents as valid examples) and returns
        it; repairs the CEL rules of every node on the way, deepest first."""
        node = doc
        schema = self.root
        chain = [(schema, node, [])]
        for k, seg in enumerate(segs):
            sub = self.sub(schema, seg)
            here = segs[: k + 1]
            if isinstance(seg, int):
                while len(node) <= seg:
                    node.append(self.distinct(sub, here, len(node)))
                child = node[seg]
            else:
                key = "k" if seg == "{}" else seg
                if key not in node:
                    select_hooks(self, schema, node, key, segs[:k])
                    node[key] = self.example(sub, here)
                child = node[key]
            schema, node = sub, child
            chain.append((schema, node, here))
        for s, n, p in reversed(chain[:-1]):
            self.repair(s, n, p)
        return node


def select_hooks(gen: Gen, schema: dict, node: Any, key: str, segs: list) -> None:
    """A union member (filter.requestMirror, externalAuth.grpc...) is about to be created in
    `node`: let the CEL rules set the discriminator and drop the other members."""
    for rule in schema.get("x-kubernetes-validations", []):
        entry = cel_table.lookup(rule)
        if entry is not None and entry.select is not None:
            entry.select(node, key, Ctx(gen, schema, segs))
    sp = schema_path(segs + [key])
    for rx, fn in cel_table.PARENT_SELECT:
        if re.fullmatch(rx, sp):
            fn(node)


@dataclass
class Ctx:
    gen: Gen
    schema: dict
    segs: list

    def example(self, key: str) -> Any:
        return self.gen.example(self.schema["properties"][key], self.segs + [key])

    def item(self, i: int = 0) -> Any:
        return self.gen.distinct(self.schema["items"], self.segs + [i], i)

    def child(self, key: str) -> "Ctx":
        return Ctx(self.gen, self.schema["properties"][key], self.segs + [key])

    def items(self) -> "Ctx":
        return Ctx(self.gen, self.schema["items"], self.segs + [0])

    def repair(self, node: Any) -> Any:
        self.gen.repair(self.schema, node, self.segs)
        return node


# --- constraints -----------------------------------------------------------------------------


@dataclass
class Case:
    kind: str
    version: str
    constraint: str  # "maxLength", "cel", ...
    where: str  # schema path
    detail: str  # the limit, pattern, rule message...
    valid: dict | None = None  # the object that must be accepted
    invalid: dict | None = None  # the object that must be rejected
    expect_path: str = ""
    expect_message: str = ""  # regex
    skip_reason: str = ""  # set for constraints that cannot be violated on create
    id: int = 0
    extra: dict = field(default_factory=dict)


def constraints(schema: dict, segs: list):
    """(segs, constraint, detail, schema) for every constraint under `schema`."""
    for name in schema.get("required", []):
        yield segs, "required", name, schema
    for c in ("maxLength", "minLength", "pattern", "enum", "minimum", "maximum", "minItems",
              "maxItems", "maxProperties", "format"):
        if c in schema:
            yield segs, c, schema[c], schema
    lt = schema.get("x-kubernetes-list-type")
    if lt in ("map", "set"):
        yield segs, f"list-type={lt}", tuple(schema.get("x-kubernetes-list-map-keys", [])), schema
    for rule in schema.get("x-kubernetes-validations", []):
        yield segs, "cel", rule, schema
    for c in ("oneOf", "anyOf", "not", "allOf"):
        if c in schema:
            yield segs, c, schema[c], schema
    if "pattern" in schema:
        yield segs, "pattern-corpus", schema["pattern"], schema
    if segs:
        # Beyond the constraint keywords: the field's JSON type, unknown fields in objects with
        # declared properties (kubectl's default --validate=strict), and that the field, once
        # present with a valid value, is accepted at all.
        if "type" in schema:
            yield segs, "type", schema["type"], schema
        if schema.get("type") == "object" and "properties" in schema:
            yield segs, "unknown-field", "", schema
        yield segs, "accepted", "", schema
        if isinstance(segs[-1], str) and segs[-1] != "{}" and not schema.get("nullable"):
            yield segs, "null", "", schema
    for name, sub in (schema.get("properties") or {}).items():
        if not segs and name in ("status", "metadata", "apiVersion", "kind"):
            continue
        yield from constraints(sub, segs + [name])
    if "items" in schema:
        yield from constraints(schema["items"], segs + [0])
    if isinstance(schema.get("additionalProperties"), dict):
        yield from constraints(schema["additionalProperties"], segs + ["{}"])


def set_at(doc: dict, segs: list, value: Any) -> None:
    node = doc
    for seg in segs[:-1]:
        node = node["k" if seg == "{}" else seg]
    last = segs[-1]
    node["k" if last == "{}" else last] = value


def string_of_len(schema: dict, n: int, base: str) -> str:
    pat = schema.get("pattern")
    cands = []
    if base:
        if base.startswith("/") or "://" in base or "/" in base:
            cands.append(base + "a" * max(n - len(base), 0))
        if "." in base and not base.startswith("/"):
            # Long hostnames: labels of at most 63.
            labels = []
            remaining = n
            while remaining > 0:
                take = min(63, remaining)
                labels.append("a" * take)
                remaining -= take + 1
            cands.append(".".join(labels)[:n].rstrip("."))
        cands.append(base + "a" * max(n - len(base), 0))
    cands.append("a" * n)
    for c in cands:
        if len(c) == n and (pat is None or matches(pat, c)):
            return c
    return "a" * n


def violate_value(schema: dict, c: str, detail: Any, good: Any) -> tuple[Any, str]:
    """(bad value, expected message regex) for a constraint on a scalar or list value."""
    if c == "maxLength":
        return string_of_len(schema, detail + 1, good if isinstance(good, str) else ""), \
            r"Too long|may not be (more|longer) than"
    if c == "minLength":
        return "a" * (detail - 1), r"should be at least \d+ chars long"
    if c == "enum" and schema.get("type") == "integer":
        return max(detail) + 1, r"Unsupported value"
    if c == "pattern":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 1 << 30)
        bad = [s for s in NON_MATCHING if not matches(detail, s)]
        within = [s for s in bad if lo <= len(s) <= hi]
        if not bad:
            raise SchemaGap(f"no non-matching value for pattern {detail!r}")
        return (within or bad)[0], r"should match"
    if c == "enum":
        return "NotInTheEnum", r"Unsupported value"
    if c == "minimum":
        return detail - 1, r"greater than or equal to"
    if c == "maximum":
        return detail + 1, r"less than or equal to"
    raise AssertionError(c)


def build_cases(kind: str, version: str, openapi: dict, group: str) -> list[Case]:
    gen = Gen(openapi)
    cases: list[Case] = []

    def base() -> dict:
        spec_schema = openapi["properties"]["spec"]
        doc = {
            "apiVersion": f"{group}/{version}",
            "kind": kind,
            "metadata": {"name": "x", "namespace": "default"},
            "spec": gen.example(spec_schema, ["spec"]),
        }
        if kind == "GatewayClass":
            del doc["metadata"]["namespace"]
        return doc

    for segs, c, detail, schema in constraints(openapi, []):
        where = schema_path(segs)
        case = Case(kind, version, c, where, str(detail))
        cases.append(case)
        if c == "format":
            case.skip_reason = (
                f"format {detail} on {schema.get('type')}: not range-checked by the API server "
                "(kube-openapi's type validator checks the JSON type of an integer only)")
            continue
        if c == "minLength" and detail == 0:
            case.skip_reason = "minLength 0: nothing to violate"
            continue
        if c == "cel" and detail.get("rule", "").find("oldSelf") >= 0:
            case.skip_reason = "transition rule (oldSelf): only evaluated on update"
            continue
        doc = base()
        try:
            if c == "required":
                if not segs:
                    # The object itself: spec is required.
                    obj = doc
                else:
                    obj = gen.materialize(doc, segs)
                prop = schema["properties"][detail]
                if "default" in prop:
                    case.skip_reason = "required but defaulted: never absent after defaulting"
                    continue
                case.valid = copy.deepcopy(doc)
                del obj[detail]
                case.invalid = doc
                case.expect_path = path_str(segs + [detail])
                case.expect_message = r"Required value"
            elif c in ("maxLength", "minLength", "pattern", "enum", "minimum", "maximum"):
                good = gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                bad, msg = violate_value(schema, c, detail, good)
                set_at(doc, segs, bad)
                case.invalid = doc
                case.expect_path = path_str(segs)
                case.expect_message = msg
            elif c in ("minItems", "maxItems", "maxProperties"):
                lst = gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                if c == "minItems":
                    del lst[detail - 1:]
                    case.expect_message = r"should have at least \d+ items"
                elif c == "maxItems":
                    while len(lst) <= detail:
                        lst.append(gen.distinct(schema["items"], segs + [len(lst)], len(lst)))
                    case.expect_message = r"must have at most \d+ items"
                else:
                    for i in range(detail + 1):
                        lst[f"example.com/k{i}"] = "v"
                    case.expect_message = r"must have at most \d+ items"
                case.invalid = doc
                case.expect_path = path_str(segs)
            elif c.startswith("list-type="):
                lst = gen.materialize(doc, segs)
                if not lst:
                    lst.append(gen.distinct(schema["items"], segs + [0], 0))
                gen.repair(schema, lst, segs)
                case.valid = copy.deepcopy(doc)
                lst.append(copy.deepcopy(lst[0]))
                case.invalid = doc
                case.expect_path = path_str(segs + [len(lst) - 1])
                case.expect_message = r"Duplicate value"
            elif c in ("oneOf", "anyOf", "not", "allOf"):
                entry = cel_table.combinator(c, detail)
                if entry is None:
                    case.skip_reason = f"MISSING: no entry in crd_cel_table.COMBINATORS for {c}"
                    case.extra["missing"] = True
                    continue
                violate, suffix, message = entry
                node = gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                violate(node, Ctx(gen, schema, segs))
                case.invalid = doc
                case.expect_path = path_str(segs) + suffix
                case.expect_message = message
            elif c == "pattern-corpus":
                # Expanded into one case per corpus string by build_cases' caller (see below).
                good = gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                lo, hi = schema.get("minLength", 0), schema.get("maxLength", 1 << 30)
                subs = []
                for text in PATTERN_CORPUS:
                    if not lo <= len(text) <= hi or text == good:
                        continue
                    sub = copy.deepcopy(doc)
                    set_at(sub, segs, text)
                    subs.append((text, sub, not matches(detail, text)))
                case.extra["corpus"] = subs
                case.expect_path = path_str(segs)
                case.expect_message = r"should match"
            elif c == "type":
                gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                wrong = {"string": 123, "integer": "x", "boolean": "x", "object": "x",
                         "array": "x", "number": "x"}[detail]
                set_at(doc, segs, wrong)
                case.invalid = doc
                case.expect_path = path_str(segs)
                case.expect_message = f"must be of type {detail}"
            elif c == "unknown-field":
                obj = gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                obj["notAField"] = "x"
                case.invalid = doc
                case.expect_path = path_str(segs + ["notAField"])
                case.expect_message = r"unknown field|field not declared in schema"
            elif c == "null":
                # The API server prunes a null value of a non-nullable field before defaulting and
                # validation: `field: null` must be handled exactly like an absent field.
                gen.materialize(doc, segs)
                absent = copy.deepcopy(doc)
                set_at(doc, segs, None)
                parent = absent
                for seg in segs[:-1]:
                    parent = parent[seg]
                del parent[segs[-1]]
                case.invalid = doc
                case.extra["twin"] = absent
                case.expect_path = path_str(segs)
            elif c == "accepted":
                gen.materialize(doc, segs)
                case.valid = doc
            elif c == "cel":
                entry = cel_table.lookup(detail)
                msg = detail.get("message") or detail["rule"]
                if entry is None:
                    case.skip_reason = "MISSING: no entry in cel_table for this rule"
                    case.extra["missing"] = True
                    continue
                if entry.violate is None:
                    case.skip_reason = entry.why_not or "not violable on create"
                    continue
                base_doc = copy.deepcopy(doc)
                node = gen.materialize(doc, segs)
                case.valid = copy.deepcopy(doc)
                entry.violate(node, Ctx(gen, schema, segs))
                case.invalid = doc
                for k, accept in enumerate(entry.accept):
                    near = copy.deepcopy(base_doc)
                    accept(gen.materialize(near, segs), Ctx(gen, schema, segs))
                    cases.append(Case(kind, version, "cel-near-miss", where,
                                      f"{msg} (near miss {k + 1})", valid=near))
                case.expect_path = path_str(segs) + (detail.get("fieldPath") or "")
                # The API server reports a CEL failure as field.Invalid(path, <schema type>, msg).
                case.expect_message = re.escape(
                    f'Invalid value: "{schema.get("type", "object")}": {msg}')
            else:
                raise AssertionError(c)
        except SchemaGap as e:
            case.skip_reason = f"MISSING: generator: {e}"
            case.extra["missing"] = True
            case.valid = case.invalid = None
    return cases


def all_cases(crds: dict[str, dict]) -> list[Case]:
    out: list[Case] = []
    for kind, crd in crds.items():
        group = crd["spec"]["group"]
        for v in crd["spec"]["versions"]:
            if not v.get("served"):
                continue
            out.extend(build_cases(kind, v["name"], v["schema"]["openAPIV3Schema"], group))
    out = expand_corpus(out)
    for i, c in enumerate(out):
        c.id = i
    return out


def expand_corpus(cases: list[Case]) -> list[Case]:
    """One case per corpus string for each distinct (pattern, field name): the same pattern on
    fields of another name may be checked by different code in gantry."""
    out: list[Case] = []
    seen: set = set()
    for c in cases:
        if c.constraint != "pattern-corpus":
            out.append(c)
            continue
        key = (c.detail, c.where.split(".")[-1])
        if key in seen or "corpus" not in c.extra:
            continue
        seen.add(key)
        for text, sub, must_reject in c.extra["corpus"]:
            out.append(Case(c.kind, c.version, "pattern-corpus", c.where, f"{text!r}",
                            valid=c.valid, invalid=sub, expect_path=c.expect_path,
                            expect_message=c.expect_message,
                            extra={"expect_absent": not must_reject}))
    return out

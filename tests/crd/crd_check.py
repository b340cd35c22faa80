#!/usr/bin/env python3
"""Checks `gantry validate` against every constraint of the published Gateway API CRDs.

  python3 tests/crd/crd_check.py [--gantry build-dev/gantry] [--keep DIR] [-v]

Writes one manifest per valid base object and per violation into a folder, runs `gantry validate`
once over it, and checks that every valid object is accepted and that every violation is rejected
with an error at the field path the API server would report (and a message of the right kind).
Prints the coverage (constraints checked / total) and every failure; exits 1 on any failure,
including a CEL rule that has no entry in crd_cel_table.py.
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

import crd_cases as casegen  # noqa: E402
import crd_source as crds  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
LINE_RE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<rest>.*)$")


@dataclass
class Report:
    cases: list
    failures: list = field(default_factory=list)
    checked: int = 0
    skipped: list = field(default_factory=list)  # (case, reason) not violable on create
    missing: list = field(default_factory=list)  # cases the tables cannot build: failures too
    located: int = 0  # rejections whose line was checked too

    def summary(self) -> str:
        total = len(self.cases)
        by = collections.Counter(c.constraint for c in self.cases)
        failed = self.failed_ids()
        ok = collections.Counter(c.constraint for c in self.cases
                                 if (c.invalid is not None or c.valid is not None)
                                 and c.id not in failed)
        extra = ("type", "unknown-field", "accepted", "null", "pattern-corpus", "cel-near-miss")
        constraints = [c for c in self.cases if c.constraint not in extra]
        checked = sum(1 for c in constraints if c.invalid is not None)
        failed_constraints = sum(1 for c in constraints if c.id in failed)
        lines = [
            f"CRD constraints (Gateway API {crds.VERSION}, experimental channel, every served "
            f"version of {len(crds.KINDS)} kinds): {checked - failed_constraints} enforced / "
            f"{checked} checked / {len(constraints)} total "
            f"({len(self.skipped)} not violable on create, {len(self.missing)} missing from the "
            "tables)",
            "  by constraint: " + ", ".join(f"{k} {ok[k]}/{by[k]}" for k in sorted(by)
                                            if k not in extra),
            "  also: " + ", ".join(f"{k} {ok[k]}/{by[k]}" for k in extra) +
            f" ({total} cases, {len(self.failures)} failing)",
            f"  every rejection names the object; the field's line checked for {self.located}",
        ]
        reasons = collections.Counter(r for _, r in self.skipped)
        for r, n in sorted(reasons.items()):
            lines.append(f"  not checked ({n}): {r}")
        return "\n".join(lines)

    def failed_ids(self) -> set[int]:
        return {c.id for c, _ in self.failures}


def parse_output(out: str) -> dict[str, list[tuple[int, str]]]:
    """file name -> (line, "Kind ns/name: field: message") of each error."""
    errors: dict[str, list[tuple[int, str]]] = collections.defaultdict(list)
    for line in out.splitlines():
        m = LINE_RE.match(line)
        if not m:
            continue
        errors[Path(m.group("file")).name].append((int(m.group("line")), m.group("rest")))
    return errors


@dataclass
class FieldError:
    line: int
    object: str
    path: str
    message: str


def field_errors(items: list[tuple[int, str]]) -> list[FieldError]:
    out = []
    for line, t in items:
        parts = t.split(": ", 2)
        if len(parts) == 3:
            out.append(FieldError(line, parts[0], parts[1], parts[2]))
        else:
            out.append(FieldError(line, "", "", t))
    return out


def json_lines(doc) -> dict[str, tuple[int, int]]:
    """JSON path -> 1-based (first, last) lines of its value in json.dumps(doc, indent=1): one
    line per key and per list item, "key": value on the key's line, {} / [] inline."""
    lines: dict[str, tuple[int, int]] = {}

    def size(v) -> int:
        if isinstance(v, dict) and v:
            return 2 + sum(size(x) for x in v.values())
        if isinstance(v, list) and v:
            return 2 + sum(size(x) for x in v)
        return 1

    def walk(v, path: str, at: int) -> None:
        lines[path] = (at, at + size(v) - 1)
        cur = at + 1
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, f"{path}.{k}" if path else k, cur)
                cur += size(x)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]", cur)
                cur += size(x)

    walk(doc, "", 1)
    return lines


_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def yaml_text(doc) -> str:
    # Block style, keys in order; PyYAML quotes every string that YAML 1.1 would resolve to
    # another type, as kubectl users must.
    return yaml.dump(doc, Dumper=_Dumper, default_flow_style=False, sort_keys=False, width=1 << 20)


def yaml_lines(text: str) -> dict[str, tuple[int, int]]:
    """JSON path -> 1-based (first, last) lines of its value, from the composed YAML: a mapping
    value starts at its key's line, a list item at its "- "."""
    lines: dict[str, tuple[int, int]] = {}

    def walk(node, path: str, first: int) -> None:
        last = node.end_mark.line + 1
        if node.end_mark.column == 0 and last > first:
            last -= 1  # a block collection ends at the start of the next line
        lines[path] = (first, last)
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                walk(v, f"{path}.{k.value}" if path else k.value, k.start_mark.line + 1)
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{path}[{i}]", v.start_mark.line + 1)

    root = yaml.compose(text, Loader=_Loader)
    walk(root, "", 1)
    return lines


def write_manifest(path: Path, doc, as_yaml: bool) -> dict[str, tuple[int, int]] | None:
    """Writes doc as YAML or JSON; returns its line map for YAML (JSON's is computed on demand)."""
    if as_yaml:
        text = yaml_text(doc)
        path.with_suffix(".yaml").write_text(text)
        return yaml_lines(text)
    path.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    return None


def run(gantry: str, keep: str | None = None, cases: list | None = None) -> Report:
    all_cases = cases if cases is not None else casegen.all_cases(crds.load("experimental"))
    rep = Report(all_cases)
    tmp = Path(keep) if keep else Path(tempfile.mkdtemp(prefix="gantry-crd-"))
    tmp.mkdir(parents=True, exist_ok=True)
    for old in [*tmp.glob("*.json"), *tmp.glob("*.yaml")]:
        old.unlink()
    valid_files: dict[str, str] = {}  # canonical JSON -> file name
    case_valid: dict[int, str] = {}
    for c in all_cases:
        if c.extra.get("missing"):
            rep.missing.append(c)
            rep.failures.append((c, c.skip_reason))
            continue
        if c.invalid is None and c.valid is None:
            rep.skipped.append((c, c.skip_reason))
            continue
        rep.checked += 1
        if "twin" in c.extra:
            # A differential case: two manifests that must get the same errors.
            for doc, tag in ((c.invalid, "a"), (c.extra["twin"], "b")):
                doc["metadata"]["name"] = f"twin-{c.id}-{tag}"
                write_manifest(tmp / f"twin-{c.id:05d}-{tag}", doc, c.id % 2 == 1)
            continue
        v = c.valid
        v["metadata"]["name"] = "base"
        key = json.dumps(v, sort_keys=True)
        if key not in valid_files:
            # Every other manifest is YAML: both of gantry's input formats go through the check.
            n = len(valid_files)
            suffix = ".yaml" if n % 2 else ".json"
            v = json.loads(key)
            v["metadata"]["name"] = f"valid-{n}"
            write_manifest(tmp / f"valid-{n:05d}", v, suffix == ".yaml")
            valid_files[key] = f"valid-{n:05d}{suffix}"
        case_valid[c.id] = valid_files[key]
        if c.invalid is not None:
            c.invalid["metadata"]["name"] = f"case-{c.id}"
            c.extra["file"] = f"case-{c.id:05d}" + (".yaml" if c.id % 2 else ".json")
            c.extra["lines"] = write_manifest(tmp / f"case-{c.id:05d}", c.invalid, c.id % 2 == 1)
    proc = subprocess.run([gantry, "validate", str(tmp)], capture_output=True, text=True,
                          timeout=300)
    if proc.returncode not in (0, 1) or "problem" not in proc.stdout and \
            "no problems" not in proc.stdout:
        raise RuntimeError(f"gantry validate failed: rc={proc.returncode}\n{proc.stderr[-2000:]}")
    errors = parse_output(proc.stdout)
    bad_valid = {f for f in valid_files.values() if errors.get(f)}
    for c in all_cases:
        if "twin" in c.extra:
            ext = ".yaml" if c.id % 2 else ".json"
            a = {(e.path, e.message) for e in field_errors(errors.get(f"twin-{c.id:05d}-a{ext}", []))}
            b = {(e.path, e.message) for e in field_errors(errors.get(f"twin-{c.id:05d}-b{ext}", []))}
            if a != b:
                rep.failures.append(
                    (c, f"null and absent differ: null only {sorted(a - b)[:2]}, absent only "
                        f"{sorted(b - a)[:2]} ({tmp / f'twin-{c.id:05d}-a{ext}'})"))
            continue
        if c.id not in case_valid:
            continue
        vf = case_valid[c.id]
        if vf in bad_valid:
            rep.failures.append((c, f"valid base {tmp / vf} rejected: {errors[vf][:3]}"))
            continue
        if c.invalid is None:
            continue  # "accepted": the valid object is the whole check
        got = field_errors(errors.get(c.extra["file"], []))
        if c.extra.get("expect_absent"):
            # The pattern accepts this string: no pattern error at the field (others may exist).
            bad = [e for e in got if e.path == c.expect_path and re.search(c.expect_message,
                                                                            e.message)]
            if bad:
                rep.failures.append((c, f"pattern error for a matching value: {bad[0].message} "
                                        f"({tmp / c.extra['file']})"))
            continue
        if not got:
            rep.failures.append((c, f"accepted ({tmp / c.extra['file']})"))
            continue
        hits = [e for e in got if e.path == c.expect_path and re.search(c.expect_message, e.message)]
        where = tmp / c.extra["file"]
        if not hits:
            shown = [(e.path, e.message) for e in got[:3]]
            rep.failures.append(
                (c, f"expected {c.expect_path}: /{c.expect_message}/, got {shown} ({where})"))
            continue
        # The error names the object and the line of the offending field (its key, or the list
        # item); a field that is absent (Required value) has no line of its own.
        ns = c.invalid["metadata"].get("namespace")
        name = c.invalid["metadata"]["name"]
        want_object = f"{c.kind} {ns}/{name}" if ns else f"{c.kind} {name}"
        # A rule on a map or list may point at the offending entry inside it.
        line_map = c.extra["lines"] or json_lines(c.invalid)
        span = line_map.get(c.expect_path)
        want_line = None if span is None else span[0]
        in_span = (lambda ln: ln == span[0]) if span is None or c.constraint != "cel" else \
            (lambda ln: span[0] <= ln <= span[1])
        if not any(e.object == want_object for e in hits):
            rep.failures.append((c, f"object {hits[0].object!r}, expected {want_object!r}"))
        elif want_line is not None and not any(in_span(e.line) for e in hits):
            rep.failures.append(
                (c, f"line {hits[0].line}, expected {want_line} for {c.expect_path} ({where})"))
        else:
            rep.located += 1 if want_line is not None else 0
    rep.tmp = tmp
    return rep


def describe(c) -> str:
    d = c.detail if len(c.detail) < 100 else c.detail[:97] + "..."
    return f"{c.kind} {c.version} {c.where} {c.constraint} {d}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gantry", default=str(REPO / "build" / "gantry"))
    ap.add_argument("--keep", help="write the manifests to this folder and keep them")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    rep = run(args.gantry, args.keep)
    for c, why in rep.failures:
        print(f"FAIL {describe(c)}: {why}")
    if args.verbose:
        for c, why in rep.skipped:
            print(f"not checked: {describe(c)}: {why}")
    print(rep.summary())
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())

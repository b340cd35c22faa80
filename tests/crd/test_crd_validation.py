"""`gantry validate` against every constraint of the published Gateway API v1.6 CRDs.

The CRDs come from the Go module proxy (crd_source.py: pinned version and sha256, cached in
~/.cache/gantry); a download failure fails the test. crd_check.run writes one manifest per valid
base object and per violation, runs `gantry validate` once over them, and compares each error's
field path and message with what the API server would report.
"""

from __future__ import annotations

import ast
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import crd_summary  # noqa: E402
import crd_check  # noqa: E402
import crd_source  # noqa: E402

REPO = HERE.parents[1]


@pytest.fixture(scope="module")
def gantry_bin() -> str:
    path = os.environ.get("GANTRY_BIN") or str(REPO / "build" / "gantry")
    if not Path(path).exists():
        pytest.fail(f"gantry binary not found at {path} (set GANTRY_BIN)")
    return path


@pytest.fixture(scope="module")
def report(gantry_bin, tmp_path_factory):
    try:
        rep = crd_check.run(gantry_bin, str(tmp_path_factory.mktemp("crd")))
    except crd_source.FetchError as e:
        pytest.fail(str(e))
    crd_summary.SUMMARY.append(rep.summary())
    return rep


def test_every_crd_constraint_is_enforced(report):
    lines = [f"{crd_check.describe(c)}: {why}" for c, why in report.failures]
    assert not lines, f"{len(lines)} CRD constraints not enforced as the API server would:\n" + \
        "\n".join(lines[:60])


def test_every_cel_rule_has_a_table_entry(report):
    missing = sorted({c.detail for c in report.missing})
    assert not missing, "CEL rules / patterns with no entry in crd_cel_table.py or " \
        "crd_cases.py:\n" + "\n".join(missing)


def test_coverage_is_complete(report):
    # Everything but the documented "cannot be violated on create" constraints is checked.
    reasons = {r for _, r in report.skipped}
    allowed = {
        "transition rule (oldSelf): only evaluated on update",
        "minLength 0: nothing to violate",
        "duplicates the enum on path.type, whose violation blocks CEL evaluation",
    }
    allowed_prefixes = ("format int32 on integer",)
    unexpected = {r for r in reasons if r not in allowed and not r.startswith(allowed_prefixes)}
    assert not unexpected, unexpected
    assert report.checked >= 2000, report.summary()


# Constraints of the standard channel that the experimental CRDs (which gantry follows) state
# differently. Each is implied in standard by a field that only experimental has: parentRef.port
# (so "sectionName" rules become "sectionName or port") and the ExternalAuth filter type.
STANDARD_ONLY = {
    ("spec.parentRefs", "cel",
     "sectionName must be specified when parentRefs includes 2 or more references to the same "
     "parent"),
    ("spec.parentRefs", "cel",
     "sectionName must be unique when parentRefs includes 2 or more references to the same parent"),
    ("spec.rules[].filters[].type", "enum", "filter types without ExternalAuth"),
    ("spec.rules[].backendRefs[].filters[].type", "enum", "filter types without ExternalAuth"),
}


def _constraint_keys(channel: str) -> set:
    import crd_cases

    out = set()
    for kind, crd in crd_source.load(channel).items():
        for v in crd["spec"]["versions"]:
            if not v.get("served"):
                continue
            for segs, c, detail, _ in crd_cases.constraints(v["schema"]["openAPIV3Schema"], []):
                if c in ("type", "unknown-field", "accepted", "null", "pattern-corpus",
                         "cel-near-miss"):
                    continue
                out.add((kind, v["name"], crd_cases.schema_path(segs), c, repr(detail)))
    return out


def test_standard_channel_is_covered_by_experimental():
    # gantry follows the experimental channel; every standard constraint must be one of those
    # checked above, or one of the known, narrower standard forms.
    extra = _constraint_keys("standard") - _constraint_keys("experimental")
    unexplained = []
    for kind, version, path, c, detail in sorted(extra):
        msg = detail
        if c == "cel":
            msg = ast.literal_eval(detail)["message"]
        elif c == "enum" and "ExternalAuth" not in detail:
            msg = "filter types without ExternalAuth"
        if (path, c, msg) not in STANDARD_ONLY:
            unexplained.append((kind, version, path, c, detail[:120]))
    assert not unexplained, "standard-channel constraints not covered:\n" + "\n".join(
        map(str, unexplained))


def test_the_check_fails_for_a_validator_that_accepts_everything(report, tmp_path):
    # Negative control of the harness itself: a "gantry" that accepts every manifest must fail
    # every violation case (and no valid one).
    fake = tmp_path / "fake-gantry"
    fake.write_text("#!/bin/sh\necho \"$2: 1 files, 1 objects, no problems\"\n")
    fake.chmod(0o755)
    # One kind is enough to show it (and keeps the file's I/O down on a loaded machine).
    cases = [c for c in report.cases if c.kind == "GRPCRoute"]
    rep = crd_check.run(str(fake), str(tmp_path / "cases"), cases=cases)
    violations = [c for c in rep.cases if c.invalid is not None and "twin" not in c.extra]
    must_fail = [c for c in violations if not c.extra.get("expect_absent")]
    assert len(rep.failures) == len(must_fail) > 300

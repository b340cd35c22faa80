"""Prints the CRD coverage of test_crd_validation.py at the end of the pytest run."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import crd_summary  # noqa: E402


def pytest_terminal_summary(terminalreporter):
    for s in crd_summary.SUMMARY:
        terminalreporter.write_line(s)

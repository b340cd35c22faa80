"""Lines that conftest.py prints in pytest's terminal summary (the coverage of the CRD check)."""

SUMMARY: list[str] = []

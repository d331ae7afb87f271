"""Helpers for the tests of real-world configuration files (test_real_*.py)."""

from __future__ import annotations

from lsp.analysers import analyse


def findings(text: str, path: str):
    return analyse(text, path).findings


def rules_of(text: str, path: str) -> set[str]:
    return {f.rule for f in findings(text, path)}


def at(text: str, f) -> str:
    """The text a single-line finding points at."""
    assert f.span.line == f.span.end_line, f
    return text.splitlines()[f.span.line][f.span.col : f.span.end_col]

"""What an analyser reports: rules (the catalogue), findings with exact ranges, and certain quick fixes.

Positions are 0-based lines and 0-based columns counted in Python characters (code points); the language
server converts them to the client's encoding (UTF-16 by default) when it publishes them, and the CLI
prints 1-based numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info", "hint"]
SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2, "hint": 3}


@dataclass(frozen=True)
class Rule:
    """One static check. ``id`` is stable (e.g. ``DF002``); ``name`` is a readable slug."""

    id: str
    name: str
    severity: Severity
    summary: str


RULES: dict[str, Rule] = {}


def rule(id: str, name: str, severity: Severity, summary: str) -> Rule:
    """Register a rule in the catalogue (documented in lsp/RULES.md; a test keeps both in step)."""
    if id in RULES:
        raise ValueError(f"duplicate rule id {id}")
    RULES[id] = Rule(id, name, severity, summary)
    return RULES[id]


@dataclass(frozen=True)
class Span:
    line: int
    col: int
    end_line: int
    end_col: int

    @classmethod
    def on_line(cls, line: int, col: int, end_col: int) -> Span:
        return cls(line, col, line, max(end_col, col))


@dataclass(frozen=True)
class TextEdit:
    span: Span
    new_text: str


@dataclass(frozen=True)
class Fix:
    """A quick fix: edits to the same document, offered only where the change is certain."""

    title: str
    edits: tuple[TextEdit, ...]


@dataclass(frozen=True)
class StaticFinding:
    rule: str
    message: str
    span: Span
    severity: Severity = "warning"
    fix: Fix | None = None
    data: dict = field(default_factory=dict, compare=False)  # extra, JSON-ready (e.g. log group id)

    @property
    def name(self) -> str:
        r = RULES.get(self.rule)
        return r.name if r else self.rule

    def to_dict(self) -> dict:
        out = {
            "rule": self.rule,
            "name": self.name,
            "severity": self.severity,
            "message": self.message,
            "line": self.span.line + 1,
            "column": self.span.col + 1,
            "end_line": self.span.end_line + 1,
            "end_column": self.span.end_col + 1,
        }
        if self.fix:
            out["fix"] = {
                "title": self.fix.title,
                "edits": [
                    {
                        "line": e.span.line + 1,
                        "column": e.span.col + 1,
                        "end_line": e.span.end_line + 1,
                        "end_column": e.span.end_col + 1,
                        "new_text": e.new_text,
                    }
                    for e in self.fix.edits
                ],
            }
        if self.data:
            out["data"] = self.data
        return out


def finding(
    rule_: Rule, message: str, span: Span, fix: Fix | None = None, severity: Severity | None = None, **data
) -> StaticFinding:
    """A finding of ``rule_`` with its catalogue severity unless overridden."""
    return StaticFinding(rule_.id, message, span, severity or rule_.severity, fix, dict(data))


class Lines:
    """The lines of a document, with helpers to turn a token into an exact span."""

    def __init__(self, text: str):
        self.text = text
        self.lines = split_lines(text)

    def __len__(self) -> int:
        return len(self.lines)

    def get(self, line: int) -> str:
        return self.lines[line] if 0 <= line < len(self.lines) else ""

    def whole(self, line: int) -> Span:
        """The line's text without leading indentation."""
        s = self.get(line)
        start = len(s) - len(s.lstrip())
        return Span.on_line(line, start, len(s.rstrip()))

    def find(
        self, token: str, first: int, last: int | None = None, *, start_col: int = 0, word: bool = False
    ) -> Span | None:
        """The first occurrence of ``token`` on lines ``first``..``last`` (inclusive)."""
        last = first if last is None else last
        for ln in range(max(first, 0), min(last, len(self.lines) - 1) + 1):
            s = self.lines[ln]
            col = s.find(token, start_col if ln == first else 0)
            while col >= 0:
                if not word or _is_word_boundary(s, col, col + len(token)):
                    return Span.on_line(ln, col, col + len(token))
                col = s.find(token, col + 1)
        return None

    def end_of(self, line: int) -> Span:
        n = len(self.get(line).rstrip())
        return Span.on_line(line, n, n)


def split_lines(text: str) -> list[str]:
    """Lines the way LSP counts them: only \\n, \\r\\n and \\r end a line."""
    return _LINE_BREAK.split(text)


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _is_word_boundary(s: str, start: int, end: int) -> bool:
    before = s[start - 1] if start > 0 else " "
    after = s[end] if end < len(s) else " "
    return not (before.isalnum() or before in "_-") and not (after.isalnum() or after in "_-")

"""Syntax errors of plain YAML, JSON and TOML files (SYN...), positioned where the parser gave up."""

from __future__ import annotations

import json
import re
import tomllib

from .findings import Lines, Span, StaticFinding, finding, rule

R_YAML = rule("SYN001", "syntax/yaml", "error", "The YAML does not parse.")
R_JSON = rule("SYN002", "syntax/json", "error", "The JSON does not parse.")
R_TOML = rule("SYN003", "syntax/toml", "error", "The TOML does not parse.")


def point(lines: Lines, line: int, col: int) -> Span:
    """A one-character span at (line, col), clamped to the document; a whole line if col is past its end."""
    line = min(max(line, 0), max(len(lines) - 1, 0))
    text = lines.get(line)
    if col >= len(text):
        return lines.whole(line) if text.strip() else Span.on_line(line, 0, len(text))
    return Span.on_line(line, col, col + 1)


def yaml_error(lines: Lines, message: str, line: int, col: int) -> StaticFinding:
    return finding(R_YAML, f"YAML syntax error: {message}.", point(lines, line, col))


def analyse_json(text: str) -> list[StaticFinding]:
    try:
        json.loads(text)
    except json.JSONDecodeError as e:
        return [
            finding(R_JSON, f"JSON syntax error: {e.msg}.", point(Lines(text), e.lineno - 1, e.colno - 1))
        ]
    except RecursionError:
        return [finding(R_JSON, "JSON nested too deeply to parse.", Span(0, 0, 0, 1))]
    return []


_TOML_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def analyse_toml(text: str) -> list[StaticFinding]:
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        m = _TOML_POS.search(msg)
        line, col = (int(m.group(1)) - 1, int(m.group(2)) - 1) if m else (0, 0)
        msg = _TOML_POS.sub("", msg).strip()
        return [finding(R_TOML, f"TOML syntax error: {msg}.", point(Lines(text), line, col))]
    except RecursionError:
        return [finding(R_TOML, "TOML nested too deeply to parse.", Span(0, 0, 0, 1))]
    return []

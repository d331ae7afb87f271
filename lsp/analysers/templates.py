"""Go-template actions (``{{ ... }}``) in YAML, as Helm charts write them: found and blanked out so the
rest of the text can still be parsed with its lines and columns unchanged.

Actions are found with ``str.find`` (leftmost ``{{`` to the next ``}}``), linear in the text: a regular
expression with a lazy ``.*?`` goes quadratic on a run of ``{`` without a ``}}``.
"""

from __future__ import annotations

import re


def _actions(text: str) -> list[tuple[int, int]]:
    """(start, end) of every ``{{ ... }}`` action."""
    out = []
    pos = text.find("{{")
    while pos >= 0:
        end = text.find("}}", pos + 2)
        if end < 0:
            break
        out.append((pos, end + 2))
        pos = text.find("{{", end + 2)
    return out


def has_actions(text: str) -> bool:
    return "{{" in text and bool(_actions(text))


def _control_lines(text: str, actions: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) of each line that holds nothing but actions (``{{- if ... }}``, ``{{- end }}``,
    ``{{- include ... | nindent 4 }}``), the line break excluded."""
    out = []
    i = 0
    while i < len(actions):
        line_start = text.rfind("\n", 0, actions[i][0]) + 1
        if text[line_start : actions[i][0]].strip(" \t"):
            i += 1
            continue
        j, end = i, actions[i][1]
        while True:
            gap_end = actions[j + 1][0] if j + 1 < len(actions) else -1
            line_end = text.find("\n", end)
            line_end = len(text) if line_end < 0 else line_end
            if 0 <= gap_end <= line_end and not text[end:gap_end].strip(" \t"):
                j += 1
                end = actions[j][1]
                continue
            if not text[end:line_end].strip(" \t\r"):
                out.append((line_start, line_end))
            break
        i = j + 1
    return out


def has_control_lines(text: str) -> bool:
    """Actions that stand on lines of their own: a template, even where the text happens to parse."""
    return "{{" in text and bool(_control_lines(text, _actions(text)))


def neutralise(text: str) -> str:
    """``text`` with control lines emptied and inline actions replaced by a same-length ``$___`` (which
    the rules read as an unknown value, like a ``${VAR}``); line breaks inside actions are kept."""
    actions = _actions(text)
    pieces, pos = [], 0
    for start, end in _control_lines(text, actions):
        pieces += [text[pos:start], re.sub(r"[^\n]", "", text[start:end])]
        pos = end
    pieces.append(text[pos:])
    text = "".join(pieces)
    pieces, pos = [], 0
    for start, end in _actions(text):
        pieces += [text[pos:start], "$" + re.sub(r"[^\n]", "_", text[start + 1 : end])]
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces)


def looks_like_manifest(text: str) -> bool:
    return bool(re.search(r"^apiVersion:", text, re.MULTILINE) and re.search(r"^kind:", text, re.MULTILINE))

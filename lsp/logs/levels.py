"""Log levels: the words, letters and numbers formats use for them, mapped to trace / debug / info /
warning / error / critical, and the rank of the severities error groups are given."""

from __future__ import annotations

SEVERITY_RANK = {"": 0, "warning": 1, "error": 2, "critical": 3}
SYSLOG_SEVERITY = ("critical", "critical", "critical", "error", "warning", "info", "info", "debug")

# Numeric levels differ between conventions: syslog severities (0 emerg .. 7 debug; journald's PRIORITY,
# GELF), Python's logging (10 debug .. 50 critical) and bunyan/pino (10 trace .. 60 fatal).
_PYTHON_LEVELS = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical"}
_BUNYAN_LEVELS = {10: "trace", 20: "debug", 30: "info", 40: "warning", 50: "error", 60: "critical"}

_LEVEL_NAMES = {
    "trace": "trace", "trac": "trace", "trce": "trace", "debug": "debug", "debu": "debug", "dbg": "debug",
    "dbug": "debug", "verbose": "debug", "vrb": "debug", "fine": "debug", "finer": "debug", "finest": "debug",
    "config": "info", "info": "info", "inf": "info", "information": "info", "notice": "info", "note": "info",
    "system": "info", "log": "info", "detail": "info", "hint": "info", "statement": "info", "context": "info",
    "query": "info", "location": "info", "warn": "warning", "warning": "warning", "wrn": "warning",
    "error": "error", "erro": "error", "err": "error", "fail": "error", "severe": "error", "dpanic": "error",
    "fatal": "critical", "fata": "critical", "ftl": "critical", "crit": "critical", "critical": "critical",
    "alert": "critical", "emerg": "critical", "emergency": "critical", "panic": "critical", "pani": "critical",
    "v": "debug", "d": "debug", "i": "info", "w": "warning", "e": "error", "f": "critical", "a": "critical",
}


def normalise_level(word: str) -> str:
    """Map a level word (``WARN``, ``err``, ``E``, ``50``...) to trace/debug/info/warning/error/critical,
    or ``""`` when it is not a level. A bare number is read as a syslog severity (0-7) or on Python's
    scale (10-50); :mod:`lsp.logs.structured` reads numbers by the key that holds them."""
    w = word.strip().strip("[]<>:").lower()
    if w[-2:-1] in ("+", "-") and w[-1:].isdigit():
        w = w[:-2]  # Go's slog: "WARN+2", "INFO-4"
    if w in _LEVEL_NAMES:
        return _LEVEL_NAMES[w]
    if w.isdigit():
        n = int(w)
        if n <= 7:
            return SYSLOG_SEVERITY[n]
        return _PYTHON_LEVELS.get(n, "critical" if n == 60 else "")
    return ""


def numeric_level(key: str, value: int) -> str:
    """The level a number under ``key`` stands for: a syslog severity for 0-7 (and always under a
    ``priority`` key), Python's scale under ``levelno``, bunyan/pino's 10-60 otherwise."""
    if 0 <= value <= 7:
        return SYSLOG_SEVERITY[value]
    if key in ("priority", "syslog.severity"):
        return ""
    return (_PYTHON_LEVELS if key == "levelno" else _BUNYAN_LEVELS).get(value, "")

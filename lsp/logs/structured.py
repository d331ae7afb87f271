"""Structured log lines, read by their keys rather than by the position of their fields: JSON lines (zap,
logrus, pino, bunyan, structlog, python-json-logger, Serilog's compact JSON, ECS, Google Cloud, GELF,
MongoDB, ``journalctl -o json``) and logfmt (``level=info msg="..."``, Heroku's ``at=error ...``).

:func:`parse_structured` gives the message to mine, the level, and the error details (an ``error`` or
``exception`` value, a stack) that say what went wrong without being part of the event's template.
"""

from __future__ import annotations

import json
import re

from lsp.logs.levels import normalise_level, numeric_level

_MESSAGE_KEYS = ("msg", "message", "event", "short_message", "text", "@message", "log", "@m", "@mt")
_LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel", "@level", "@l", "priority",
               "syslog.severity", "levelno", "s")
_ERROR_KEYS = ("error", "err", "exception", "exc_info", "stack_trace", "stacktrace", "stack", "error.message",
               "error.type", "error.stack_trace", "@x")
_NESTED_ERROR_KEYS = ("type", "kind", "message", "stack", "stack_trace")

_LOGFMT_PAIR = re.compile(r'(?P<k>[\w.@-]+)=(?P<v>"(?:[^"\\]|\\.)*"|\S*)')
_LOGFMT_START = re.compile(r"[\w.@-]+=")
_LOGFMT_LEVEL_KEYS = ("level", "lvl", "severity", "at")
_LOGFMT_META_KEYS = frozenset({"time", "ts", "t", "timestamp", "level", "lvl", "severity", "at", "caller"})


def _level(obj: dict) -> str:
    for key in _LEVEL_KEYS:
        value = obj.get(key)
        if value is None or isinstance(value, bool):
            continue
        if isinstance(value, int):
            return numeric_level(key, value)
        if isinstance(value, str):
            if value.isdigit():
                return numeric_level(key, int(value))
            if key == "s" and len(value) > 2:
                continue  # MongoDB's "s" is a letter (F E W I D1..D5); elsewhere "s" may be anything
            level = normalise_level(value)
            if level:
                return level
    nested = obj.get("log")
    if isinstance(nested, dict) and isinstance(nested.get("level"), str):
        return normalise_level(nested["level"])
    return ""


def _details(obj: dict) -> list[str]:
    out = []
    for key in _ERROR_KEYS:
        value = obj.get(key)
        if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value):
            out.append(str(value))
        elif isinstance(value, dict):
            out += [str(value[k]) for k in _NESTED_ERROR_KEYS if isinstance(value.get(k), str) and value[k]]
    return out


def parse_json(line: str) -> tuple[str, str, str] | None:
    """``(message, level, details)`` of a JSON-lines record, ``None`` if ``line`` is not one. Keys are
    matched without regard to case (journald writes ``MESSAGE`` and ``PRIORITY``)."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    if any(not k.islower() for k in obj):
        obj = {k.lower(): v for k, v in obj.items()}
    for key in _MESSAGE_KEYS:
        message = obj.get(key)
        if isinstance(message, str):
            return message, _level(obj), "\n".join(_details(obj))
    return None


def parse_logfmt(line: str) -> tuple[str, str, str, bool] | None:
    """``(message, level, details, has_timestamp)`` of a logfmt record, ``None`` if ``line`` is not one.
    Without a ``msg`` key, a line made of pairs from its start, one of them a level, is its pairs but
    the time and the level."""
    if "msg=" not in line and "message=" not in line and not _LOGFMT_START.match(line):
        return None
    pairs = {m.group("k"): m.group("v") for m in _LOGFMT_PAIR.finditer(line)}
    if len(pairs) < 2:
        return None
    level = ""
    for key in _LOGFMT_LEVEL_KEYS:
        if key in pairs:
            level = normalise_level(pairs[key].strip('"'))
            if level:
                break
    message = pairs.get("msg", pairs.get("message"))
    if message is None:
        if not level or len(pairs) < 3 or not _LOGFMT_PAIR.match(line):
            return None
        message = " ".join(f"{k}={v}" for k, v in pairs.items() if k not in _LOGFMT_META_KEYS)
    else:
        message = message.strip('"').replace('\\"', '"')
    details = " ".join(pairs[k].strip('"') for k in ("err", "error") if k in pairs)
    return message, level, details, any(k in pairs for k in ("time", "ts", "t", "timestamp"))

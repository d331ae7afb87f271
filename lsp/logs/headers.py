"""Log line headers: find where the header (timestamp, level, pid, host, thread, component) ends and the
message begins, for any common format, without knowing the format in advance.

A header is read as a sequence of typed fields (``ts``, ``num``, ``level``, ``bracket``, ``sep``, ``host``,
``proc``, ``comp``), each recognised by a small general pattern: ISO-8601, syslog, ctime, CLF, compact
and short-date timestamps; level words; ``[thread]`` groups; ``prog[pid]:`` and ``Class.name:`` components.
Greedy reading alone would eat message words that look like header fields (a message starting with a
number, or with ``Error:``), so :class:`HeaderParser` first learns the file's usual field sequence from a
sample of lines and then strips, on each line, only the part of the header shared with that usual
sequence. JSON lines and logfmt (``level=... msg=...``) are read by their keys.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# --------------------------------------------------------------------------------------------------
# Field patterns
# --------------------------------------------------------------------------------------------------

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_CLOCK = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,9})?"
_ZONE = r"(?:\s?(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT|[CEPMA][SD]T|CES?T|EES?T|BST|IST|JST|KST|AES?T|AEDT)\b)?"

_TIMESTAMPS = [
    # 2015-10-18 18:01:47,978 / 2024-01-01T10:00:00.123Z / 2024/01/01 10:00:00
    rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}(?:[T\s]+{_CLOCK}{_ZONE})?",
    # 17/06/09 20:10:40 (Spark), 03-17 16:13:38.811 (logcat), 01/02/2024 10:00:00
    rf"\d{{1,2}}[-/.]\d{{1,2}}(?:[-/.]\d{{2,4}})?[T\s]+{_CLOCK}{_ZONE}",
    # Sun Dec 04 04:47:44 2005 (ctime, Apache) / Dec 10 06:55:46 (syslog) / Dec 10 2024 06:55:46
    rf"(?:{_DAY},?\s+)?{_MONTH}\s+\d{{1,2}},?(?:\s+\d{{4}})?\s+{_CLOCK}(?:\s+\d{{4}})?{_ZONE}",
    # 04 Dec 2005 04:47:44
    rf"(?:{_DAY},?\s+)?\d{{1,2}}\s+{_MONTH}\s+\d{{4}}\s+{_CLOCK}{_ZONE}",
    # 10/Oct/2000:13:55:36 -0700 (common log format)
    rf"\d{{1,2}}/{_MONTH}/\d{{4}}:{_CLOCK}{_ZONE}",
    # 081109 203615 (HDFS), 20240101 101500, 20240101T101500
    r"\d{6,8}[T\s-]\d{4,6}(?:[.,]\d{1,9})?",
    # 1700000000.123 (epoch seconds or millis)
    r"\d{10}(?:\d{3})?(?:\.\d{1,9})?",
    # 10:00:00.123 (time of day only)
    _CLOCK,
]
_TS_BODY = "(?:" + "|".join(_TIMESTAMPS) + ")"
_TS = re.compile(rf"(?:\[{_TS_BODY}\]|\({_TS_BODY}\)|{_TS_BODY})(?=[\s:|,\]-]|$)")

_LEVEL_WORDS = (
    "TRACE|DEBUG|DBG|VERBOSE|INFO|INFORMATION|NOTICE|WARN|WARNING|ERROR|ERR|SEVERE|FATAL|CRIT|CRITICAL|"
    "ALERT|EMERG|EMERGENCY|PANIC|FINE|FINER|FINEST|CONFIG"
)
# Level words: bare in capitals, or bracketed / angle-bracketed in any case ([notice], <error>).
_LEVEL = re.compile(
    rf"(?P<l1>{_LEVEL_WORDS})\b:?(?=\s|$)|\[\s*(?P<l2>(?i:{_LEVEL_WORDS}))\s*\]|<(?P<l3>(?i:{_LEVEL_WORDS}))>(?=\s|$)"
)
# A single-letter level as logcat writes it: "D WindowManager: ...", or "E/Tag( 123): ..."
_LETTER_LEVEL = re.compile(r"(?P<l>[VDIWEFA])(?=\s+\S)")
_LOGCAT_BRIEF = re.compile(r"(?P<l>[VDIWEFA])/[^\s(:]+\s*(?:\(\s*\d+\))?:(?=\s|$)")
# Python logging's basicConfig default: "ERROR:root:message"
_PY_DEFAULT = re.compile(rf"(?P<l>{_LEVEL_WORDS}):(?P<name>[\w.<>-]*):")

_NUM = re.compile(r"\d{1,10}(?:#\d{1,10}:?)?(?=\s)")  # a pid, or nginx's pid#tid:
# klog (Kubernetes, glog): "E0601 12:00:00.123456" -- the level letter glued to the date
_KLOG = re.compile(rf"(?P<l>[IWEF])\d{{4}}\s+{_CLOCK}(?=\s)")
# A syslog priority "<34>" or "<34>1 " before the timestamp
_PRI = re.compile(r"<\d{1,3}>\d?(?=\S|\s)")
# Ruby Logger: "E, [2024-01-01T10:00:00.123456 #1234] ERROR -- : boom"
_LETTER_COMMA = re.compile(r"(?P<l>[DIWEFA]),(?=\s)")
# A logger name before a separator: "2024-... - worker.pool - INFO - msg" (Python logging's %(name)s)
_NAME = re.compile(r"[\w.$@<>/-]{1,100}(?=\s+[-|]\s)")
# klog's source location closing its header: "controller.go:123]"
_SOURCE = re.compile(r"[\w.-]{1,100}:\d{1,6}\](?=\s|$)")
# [main], [QuorumPeer[myid=1]/0:2181:FastLeaderElection@774], [pid 123], one level of nesting.
_BRACKET = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\]){0,200}\]|\((?:[^()]){1,80}\)(?=\s*[:\-|]?\s)")
_SEP = re.compile(r"(?:-|\||:|>|--)(?=\s)")
# prog[pid]: / prog(sub)[pid]: / prog: -- syslog style process tag
_PROC = re.compile(r"[\w./@-]{1,80}(?:\([^()\s]{0,80}\))?\[\d+\]:(?=\s|$)")
# Class.name: / WindowManager: / chatty  : -- a component closing the header
_COMP = re.compile(r"[A-Za-z_$][\w.$@/#<>(),-]{0,200}?\s*:(?=\s|$)")
_HOST = re.compile(r"[\w.-]{1,100}(?=\s+(?:[\w./@-]{1,80}(?:\([^()\s]*\))?\[\d+\]|[A-Za-z_][\w.$@/-]*):(?:\s|$))")

_WS = re.compile(r"\s*")

_LEVEL_NAMES = {
    "trace": "trace", "debug": "debug", "dbg": "debug", "verbose": "debug", "fine": "debug",
    "finer": "debug", "finest": "debug", "config": "info", "info": "info", "information": "info",
    "notice": "info", "warn": "warning", "warning": "warning", "error": "error", "err": "error",
    "severe": "error", "fatal": "critical", "crit": "critical", "critical": "critical",
    "alert": "critical", "emerg": "critical", "emergency": "critical", "panic": "critical",
    "v": "debug", "d": "debug", "i": "info", "w": "warning", "e": "error", "f": "critical", "a": "critical",
}


def normalise_level(word: str) -> str:
    """Map a level word (``WARN``, ``err``, ``E``, ``50``...) to trace/debug/info/warning/error/critical,
    or ``""`` when it is not a level."""
    w = word.strip().strip("[]<>:").lower()
    if w in _LEVEL_NAMES:
        return _LEVEL_NAMES[w]
    if w.isdigit():  # numeric levels: syslog priorities 0-7, or Python/bunyan 10..60
        n = int(w)
        if n <= 7:
            return ["critical", "critical", "critical", "error", "warning", "info", "info", "debug"][n]
        if n in (10, 20, 30, 40, 50, 60):
            return {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "critical", 60: "critical"}[n]
    return ""


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One line split into its header and its message. ``level`` is normalised (see
    :func:`normalise_level`) or ``""``; ``has_timestamp`` says whether a timestamp opened the line."""

    message: str
    level: str = ""
    header: str = ""
    has_timestamp: bool = False


@dataclass(frozen=True, slots=True)
class _Field:
    kind: str
    end: int
    level: str = ""
    letter: bool = False  # the level is a single letter (logcat "D", Ruby "E,"), trusted only in the layout


@dataclass(frozen=True, slots=True)
class _Step:
    """One way to read a header field: its kind, pattern, when it applies, whether it closes the header,
    and the pattern's groups that hold a level word."""

    kind: str
    pattern: re.Pattern[str]
    when: str = "always"  # "start": first field (or after "<pri>"), "first": no field yet, "after:<kinds>"
    closes: bool = False
    level_groups: tuple[str, ...] = ()


# The reading order: at each position the first step that applies and matches wins.
_STEPS = (
    _Step("ts", _TS, "start"),
    _Step("level", _KLOG, "first", level_groups=("l",)),
    _Step("level", _LETTER_COMMA, "first", level_groups=("l",)),
    _Step("pri", _PRI, "first"),
    _Step("level", _PY_DEFAULT, "first", closes=True, level_groups=("l",)),
    _Step("level", _LEVEL, level_groups=("l1", "l2", "l3")),
    _Step("comp", _LOGCAT_BRIEF, "after:*", closes=True, level_groups=("l",)),
    _Step("level", _LETTER_LEVEL, "after:ts,num", level_groups=("l",)),
    _Step("num", _NUM),
    _Step("bracket", _BRACKET),
    _Step("sep", _SEP),
    _Step("comp", _PROC, closes=True),
    _Step("host", _HOST, "after:ts"),
    _Step("name", _NAME, "after:ts,sep,level,bracket"),
    _Step("comp", _COMP, "after:*", closes=True),
    _Step("comp", _SOURCE, "after:*", closes=True),
)
_STEPS_BY_KIND = {kind: tuple(st for st in _STEPS if st.kind == kind) for kind in {st.kind for st in _STEPS}}


def _applies(step: _Step, fields: list[_Field], seen_level: bool) -> bool:
    if step.when == "always":
        return True
    if step.when == "start":
        return all(f.kind == "pri" for f in fields)
    if step.when == "first":
        return not fields
    if not fields:
        return False
    if step.pattern is _LETTER_LEVEL and seen_level:
        return False
    allowed = step.when[len("after:"):]
    return allowed == "*" or fields[-1].kind in allowed.split(",")


def _read_fields(line: str, layout: tuple[str, ...] = ()) -> list[_Field]:
    """Reading of header fields from the start of ``line``, up to the first token that is no header field
    or up to a closing component. With a ``layout``, the field kind it expects at each position is tried
    first (most lines follow their file's layout, and this is the fast path); otherwise fields are read
    greedily in :data:`_STEPS` order."""
    fields: list[_Field] = []
    pos = _WS.match(line).end()
    n = len(line)
    seen_level = False
    while pos < n and len(fields) < 12:
        expected = layout[len(fields)] if len(fields) < len(layout) else ""
        candidates = _STEPS_BY_KIND.get(expected, ()) + _STEPS if expected else _STEPS
        found: tuple[_Step, re.Match[str]] | None = None
        for step in candidates:
            if _applies(step, fields, seen_level):
                m = step.pattern.match(line, pos)
                if m:
                    found = (step, m)
                    break
        if found is None:
            break
        step, m = found
        level = ""
        for group in step.level_groups:
            if m.group(group):
                level = normalise_level(m.group(group))
                break
        fields.append(_Field(step.kind, m.end(), level, letter=bool(level) and len(m.group(step.level_groups[0]) or "") == 1))
        seen_level = seen_level or step.kind == "level"
        if step.closes:
            break
        pos = _WS.match(line, m.end()).end()
    # A header that is only a separator or a bracket is no header.
    if fields and all(f.kind in ("sep", "num", "pri") for f in fields):
        return []
    return fields


_JSON_MESSAGE_KEYS = ("msg", "message", "log", "event", "text", "@message")
_JSON_ERROR_KEYS = ("error", "err", "exception", "exc_info", "stack_trace", "stacktrace")
_JSON_LEVEL_KEYS = ("level", "severity", "lvl", "levelname", "log.level", "loglevel", "@level", "priority")
_LOGFMT_PAIR = re.compile(r'(?P<k>[\w.@-]+)=(?P<v>"(?:[^"\\]|\\.)*"|\S*)')


def _parse_structured(line: str) -> ParsedLine | None:
    """JSON-lines and logfmt records: the message and level come from their keys."""
    s = line.strip()
    if s.startswith("{") and s.endswith("}"):
        try:
            obj = json.loads(s)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return None
        level = ""
        for key in _JSON_LEVEL_KEYS:
            if key in obj and isinstance(obj[key], (str, int)):
                level = normalise_level(str(obj[key]))
                break
        for key in _JSON_MESSAGE_KEYS:
            if isinstance(obj.get(key), str):
                details = [str(obj[k]) for k in _JSON_ERROR_KEYS if isinstance(obj.get(k), (str, int, float))]
                return ParsedLine(" ".join([obj[key], *details]), level, "", True)
        return None
    if "msg=" in s or "message=" in s:
        pairs = {m.group("k"): m.group("v") for m in _LOGFMT_PAIR.finditer(s)}
        msg = pairs.get("msg", pairs.get("message"))
        if msg is None or len(pairs) < 2:
            return None
        level = normalise_level(pairs.get("level", pairs.get("lvl", pairs.get("severity", ""))).strip('"'))
        return ParsedLine(msg.strip('"').replace('\\"', '"'), level, "", "time" in pairs or "ts" in pairs)
    return None


class HeaderParser:
    """Splits lines into header and message, after learning a file's usual header layout.

    ``HeaderParser.learn(lines)`` reads the fields of a sample of lines and keeps the most common field
    sequence; :meth:`parse` then strips from each line the longest part of its header that agrees with it.
    """

    def __init__(self, layout: tuple[str, ...] = ()):
        self.layout = layout

    @classmethod
    def learn(cls, lines: Iterable[str], sample: int = 500) -> HeaderParser:
        counts: Counter[tuple[str, ...]] = Counter()
        for i, line in enumerate(lines):
            if i >= sample:
                break
            if not line.strip() or _parse_structured(line) is not None:
                continue
            kinds = tuple(f.kind for f in _read_fields(line))
            if kinds:
                counts[kinds] += 1
        if not counts:
            return cls(())
        # The usual layout: the most common complete sequence; ties go to the longer one.
        layout = max(counts.items(), key=lambda kv: (kv[1], len(kv[0])))[0]
        return cls(layout)

    def parse(self, line: str) -> ParsedLine:
        structured = _parse_structured(line) if line[:1] == "{" or "=" in line else None
        if structured is not None:
            return structured
        fields = _read_fields(line, self.layout)
        if not fields:
            return ParsedLine(line.strip(), "", "", False)
        keep = 0
        for field, kind in zip(fields, self.layout):
            if field.kind != kind:
                break
            keep += 1
        if keep == 0 and fields[0].kind == "ts":
            keep = 1  # a timestamp is always header
        # A level word read past the file's layout still counts ("ERROR" is unambiguous); a single letter
        # there does not ("A new client connected" after a timestamp is no logcat Assert).
        level = next((f.level for i, f in enumerate(fields) if f.level and (i < keep or not f.letter)), "")
        if keep == 0:
            return ParsedLine(line.strip(), level, "", False)
        end = fields[keep - 1].end
        return ParsedLine(line[end:].strip(), level, line[:end].strip(), fields[0].kind == "ts")

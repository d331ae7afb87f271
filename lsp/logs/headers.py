"""Log line headers: find where the header (timestamp, level, pid, host, thread, component) ends and the
message begins, for any common format, without knowing the format in advance.

A header is read as a sequence of typed fields (``ts``, ``num``, ``level``, ``bracket``, ``sep``, ``host``,
``proc``, ``comp``), each recognised by a small general pattern: ISO-8601, syslog, ctime, CLF, compact
and short-date timestamps; level words; ``[thread]`` groups; ``prog[pid]:`` and ``Class.name:`` components.
Greedy reading alone would eat message words that look like header fields (a message starting with a
number, or with ``Error:``), so :class:`HeaderParser` first learns the file's usual field sequence from a
sample of lines and then strips, on each line, only the part of the header shared with that usual
sequence; formats mixed into a file keep their own layouts. JSON lines and logfmt (``level=... msg=...``)
are read by their keys (:mod:`lsp.logs.structured`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from lsp.logs.columns import ColumnLayout
from lsp.logs.errors import is_trace_line
from lsp.logs.levels import SYSLOG_SEVERITY, normalise_level
from lsp.logs.structured import parse_json, parse_logfmt

__all__ = ["HeaderParser", "ParsedLine", "normalise_level"]

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
_TS = re.compile(rf"(?:\[{_TS_BODY}\]|\({_TS_BODY}\)|{_TS_BODY})(?=[\s:|,\[\]-]|$)")
# Access logs (common / combined log format): the client, ident and user before the bracketed time.
_CLF = re.compile(rf"\S+ \S+ \S+ \[\d{{1,2}}/{_MONTH}/\d{{4}}:{_CLOCK}{_ZONE}\](?=\s|$)")

_LEVEL_WORDS = (
    "TRACE|TRAC|DEBUG|DEBU|DBG|VERBOSE|VRB|INFO|INF|INFORMATION|NOTICE|WARN|WARNING|WRN|ERROR|ERRO|ERR|SEVERE|"
    "FATAL|FATA|FTL|CRIT|CRITICAL|ALERT|EMERG|EMERGENCY|PANIC|PANI|FINE|FINER|FINEST|CONFIG"
)
# PostgreSQL's message labels: "LOG:  checkpoint starting", "DETAIL:  Key (id)=(1) already exists."
_LABELS = "LOG|DETAIL|HINT|STATEMENT|CONTEXT|QUERY|LOCATION"
# Level words: bare in capitals (logrus's "INFO[0003]" too), bracketed or angle-bracketed in any case
# ([notice], <error>, Apache's [proxy:error], MySQL's [Note]), labels before a colon, Monolog's channel.LEVEL:
_LEVEL = re.compile(
    rf"(?P<l1>{_LEVEL_WORDS})(?:\[\d+\]|\b:?)(?=\s|$)"
    rf"|\[\s*(?:[\w.-]+:)?(?P<l2>(?i:{_LEVEL_WORDS}|note|system))\s*\]"
    rf"|<(?P<l3>(?i:{_LEVEL_WORDS}))>:?(?=\s|$)|(?P<l4>{_LABELS}):(?=\s)"
    rf"|[a-z][\w-]{{0,40}}\.(?P<l5>{_LEVEL_WORDS}):(?=\s)"  # Monolog's channel.LEVEL: "production.ERROR:"
)
# A level word inside a bracket that holds more: env_logger's "[2024-... WARN  app::db]", Serilog's "[10:00:00 ERR]"
_BRACKET_LEVEL = re.compile(
    r"(?<![\w-])(?P<l>TRACE|DEBUG|DBG|VERBOSE|VRB|INFO|INF|NOTICE|WARN|WARNING|WRN|ERROR|ERR|SEVERE|FATAL|FTL|"
    r"CRIT|CRITICAL)(?![\w-])"
)
# Microsoft.Extensions.Logging's console format: "fail: Shop.Api.Controller[13]"
_MEL_LEVEL = re.compile(r"(?P<l>trce|dbug|info|warn|fail|crit):(?=\s)")
# A single-letter level as logcat writes it: "D WindowManager: ...", or "E/Tag( 123): ..."
_LETTER_LEVEL = re.compile(r"(?P<l>[VDIWEFA])(?=\s+\S)")
_LOGCAT_BRIEF = re.compile(r"(?P<l>[VDIWEFA])/[^\s(:]+\s*(?:\(\s*\d+\))?:(?=\s|$)")
# Python logging's basicConfig default: "ERROR:root:message"
_PY_DEFAULT = re.compile(rf"(?P<l>{_LEVEL_WORDS}):(?P<name>[\w.<>-]*):")

_NUM = re.compile(r"\d{1,10}(?:#\d{1,10}:?)?(?=\s)")  # a pid, or nginx's pid#tid:
# A pid with a role letter before the time: Redis's "1:M 01 Jan 2024 10:00:00.002 * Ready"
_PID_ROLE = re.compile(r"\d{1,10}:[A-Z](?=\s)")
# klog (Kubernetes, glog): "E0601 12:00:00.123456" -- the level letter glued to the date
_KLOG = re.compile(rf"(?P<l>[IWEF])\d{{4}}\s+{_CLOCK}(?=\s)")
# A syslog priority "<34>" or "<34>1 " before the timestamp: facility * 8 + severity
_PRI = re.compile(r"<(?P<pri>\d{1,3})>\d?(?=\S|\s)")
# RFC 5424 syslog: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA, "-" for an empty field
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 \S+ \S+ \S+ \S+ \S+ (?:-|(?:\[(?:[^\]\"\\]|\\.|\"(?:[^\"\\]|\\.)*\")*\])+)(?=\s|$)"
)
# Ruby Logger: "E, [2024-01-01T10:00:00.123456 #1234] ERROR -- : boom"
_LETTER_COMMA = re.compile(r"(?P<l>[DIWEFA]),(?=\s)")
# A logger name before a separator: "2024-... - worker.pool - INFO - msg" (Python logging's %(name)s),
# "OrderService:88 - msg" (log4j's %c{1}:%L)
_NAME = re.compile(r"[A-Za-z_$<][\w.$@<>/-]{0,99}(?::\d{1,6})?(?=\s+[-|]\s)")
# A caller, the source file and line that logged: "server/main.go:42" (zap), "OrderService.java:88"
_CALLER = re.compile(r"[\w.@/-]{1,200}\.[A-Za-z]{1,5}:\d{1,6}(?=\s)")
# klog's source location closing its header: "controller.go:123]"
_SOURCE = re.compile(r"[\w.-]{1,100}:\d{1,6}\](?=\s|$)")
# [main], [QuorumPeer[myid=1]/0:2181:FastLeaderElection@774], [pid 123], one level of nesting.
_BRACKET = re.compile(r"\[(?:[^\[\]]|\[[^\[\]]*\]){0,200}\]|\((?:[^()]){1,80}\)(?=\s*[:\-|]?\s)")
_SEP = re.compile(r"(?:---|--|-|\||:|>)(?=\s|$)")
# prog[pid]: / prog(sub)[pid]: / prog: -- syslog style process tag
_PROC = re.compile(r"[\w./@-]{1,80}(?:\([^()\s]{0,80}\))?\[\d+\]:(?=\s|$)")
# Class.name: / WindowManager: / app::module: / o.a.c.c.C.[.[localhost]: -- a component closing the header
_COMP = re.compile(r"[A-Za-z_$](?:::|[\w.$@/#<>(),\[\]-]){0,200}?\s*:(?=\s|$)")
_HOST = re.compile(r"[\w.-]{1,100}(?=\s+(?:[\w./@-]{1,80}(?:\([^()\s]*\))?\[\d+\]|[A-Za-z_][\w.$@/-]*):(?:\s|$))")
# PostgreSQL's %u@%d, a user at a database or host: "app@shop", "[unknown]@[unknown]"
_USER_AT = re.compile(r"[\w.\[\]-]{1,64}@[\w.\[\]-]{1,64}(?=\s)")

_WS = re.compile(r"\s*")
# Where the file's layout expects a host or a logger name and no pattern reads one, any word may be it.
_GUESSED_KINDS = frozenset({"host", "name"})
_ANY_WORD = re.compile(r"[^\s\[\]()]{1,100}(?=\s)")
MIN_LAYOUT_SHARE = 0.05  # a second layout must be this common in the sample (and on 2+ lines)
MAX_LAYOUTS = 6

@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One line split into its header and its message. ``level`` is normalised (see
    :func:`normalise_level`) or ``""``; ``has_timestamp`` says whether a timestamp opened the line;
    ``detail`` holds what a structured record says besides its message (an error, a stack)."""

    message: str
    level: str = ""
    header: str = ""
    has_timestamp: bool = False
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Field:
    kind: str
    end: int
    level: str = ""
    letter: bool = False  # the level is a single letter (logcat "D", Ruby "E,"), trusted only in the layout
    guessed: bool = False  # read only because the layout expects a name or host here (see _GUESSED_KINDS)
    step: _Step | None = None  # the step that read it (None for a guessed field)


@dataclass(frozen=True, slots=True)
class _Step:
    """One way to read a header field: its kind, pattern, when it applies, whether it closes the header,
    and the pattern's groups that hold a level word (``pri``: a syslog priority)."""

    kind: str
    pattern: re.Pattern[str]
    when: str = "always"  # "start": first field (or after "<pri>"), "first": no field yet, "after:<kinds>"
    closes: bool = False
    level_groups: tuple[str, ...] = ()

    @property
    def after(self) -> frozenset[str] | None:
        """The kinds this step may follow (``when="after:..."``); ``None`` for any."""
        kinds = self.when[len("after:"):]
        return None if kinds == "*" else frozenset(kinds.split(","))


# The reading order: at each position the first step that applies and matches wins.
_STEPS = (
    _Step("ts", _TS, "start"),
    _Step("ts", _CLF, "start"),
    _Step("ts", _RFC5424, "first", closes=True, level_groups=("pri",)),
    _Step("level", _KLOG, "first", level_groups=("l",)),
    _Step("level", _LETTER_COMMA, "first", level_groups=("l",)),
    _Step("level", _MEL_LEVEL, "first", level_groups=("l",)),
    _Step("pri", _PRI, "first", level_groups=("pri",)),
    _Step("pri", _PID_ROLE, "first"),
    _Step("level", _PY_DEFAULT, "first", closes=True, level_groups=("l",)),
    _Step("level", _LEVEL, level_groups=("l1", "l2", "l3", "l4", "l5")),
    _Step("comp", _LOGCAT_BRIEF, "after:*", closes=True, level_groups=("l",)),
    _Step("level", _LETTER_LEVEL, "after:ts,num", level_groups=("l",)),
    _Step("num", _NUM),
    _Step("bracket", _BRACKET),
    _Step("sep", _SEP),
    _Step("comp", _PROC, closes=True),
    _Step("host", _HOST, "after:ts"),
    _Step("host", _USER_AT, "after:bracket,num"),
    _Step("name", _NAME, "after:ts,sep,level,bracket"),
    _Step("caller", _CALLER, "after:level,ts"),
    _Step("comp", _COMP, "after:*", closes=True),
    _Step("comp", _SOURCE, "after:*", closes=True),
)
# The steps to try when the layout expects a kind: that kind's first, then all in order; without those
# that only open a header past the first field, and without those that follow another field at the first.
_FIRST_STEPS = tuple(st for st in _STEPS if not st.when.startswith("after:"))
_LATER_STEPS = tuple(st for st in _STEPS if st.when != "first")
# Where the layout expects a component, any word closed by a colon is one ("R37-M1-N0-C:J12-U11:", a
# node location the component patterns do not read): the other lines of the file vouch for the field.
_EXPECTED_COMP = _Step("comp", re.compile(r"[^\s:]\S{0,200}:(?=\s|$)"), "after:*", closes=True)
_CANDIDATES = {(kind, later): tuple(st for st in steps if st.kind == kind)
               + ((_EXPECTED_COMP,) if kind == "comp" and later else ()) + steps
               for kind in {st.kind for st in _STEPS}
               for later, steps in ((False, _FIRST_STEPS), (True, _LATER_STEPS))}
_AFTER = {id(st): st.after for st in (*_STEPS, _EXPECTED_COMP) if st.when.startswith("after:")}
_KINDS = frozenset(st.kind for st in _STEPS)


def _applies(step: _Step, fields: list[_Field], seen_level: bool) -> bool:
    when = step.when
    if when == "always":
        return True
    if when == "start":  # first, or after a syslog priority; a level and a thread may come first too
        return not fields or all(f.kind in ("pri", "level", "bracket") for f in fields) and (
            fields[0].kind == "pri" or fields[0].kind == "level")
    if when == "first":
        return not fields
    if not fields or (seen_level and step.pattern is _LETTER_LEVEL):
        return False
    allowed = _AFTER[id(step)]
    return allowed is None or fields[-1].kind in allowed


def _level_of(step: _Step, m: re.Match[str]) -> tuple[str, bool]:
    """The normalised level a matched field holds, and whether it was a single letter."""
    for group in step.level_groups:
        word = m.group(group)
        if word:
            if group == "pri":
                return SYSLOG_SEVERITY[int(word) % 8], False
            return normalise_level(word), len(word) == 1
    if step.kind == "bracket" and len(m.group(0)) > 4:
        inner = _BRACKET_LEVEL.search(m.group(0), 0, 120)
        if inner:
            return normalise_level(inner.group("l")), False
    return "", False


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
        later = bool(fields)
        candidates = _CANDIDATES[(expected, later)] if expected in _KINDS else (
            _LATER_STEPS if later else _FIRST_STEPS)
        found: tuple[_Step, re.Match[str]] | None = None
        for step in candidates:
            if _applies(step, fields, seen_level):
                m = step.pattern.match(line, pos)
                if m:
                    found = (step, m)
                    break
        if found is None and expected in _GUESSED_KINDS and fields:
            m = _ANY_WORD.match(line, pos)
            if m:  # a host or name the patterns do not read ("R18-M1-N0-C:J12-U11"), if the next field agrees
                fields.append(_Field(expected, m.end(), guessed=True))
                pos = _WS.match(line, m.end()).end()
                continue
        if found is None:
            break
        step, m = found
        level, letter = _level_of(step, m)
        fields.append(_Field(step.kind, m.end(), level, letter=bool(level) and letter, step=step))
        seen_level = seen_level or step.kind == "level"
        if step.closes:
            break
        pos = _WS.match(line, m.end()).end()
    # A header that is only a separator or a bracket is no header.
    if fields and all(f.kind in ("sep", "num", "pri") for f in fields):
        return []
    return fields


def _parse_structured(line: str) -> ParsedLine | None:
    """JSON-lines and logfmt records: the message and level come from their keys."""
    s = line.strip()
    if s.startswith("{") and s.endswith("}"):
        parsed = parse_json(s)
        return ParsedLine(parsed[0], parsed[1], "", True, parsed[2]) if parsed else None
    if "=" in s:
        record = parse_logfmt(s)
        if record is not None:
            return ParsedLine(record[0], record[1], "", record[3], record[2])
    return None


def _agreement(fields: list[_Field], layout: tuple[str, ...]) -> int:
    """How many leading fields follow ``layout`` (a syslog ``<pri>`` in it is optional)."""
    if layout[:1] == ("pri",) and fields[:1] and fields[0].kind != "pri":
        layout = layout[1:]
    keep = 0
    for field, kind in zip(fields, layout):
        if field.kind != kind:
            break
        keep += 1
    while keep and fields[keep - 1].guessed:
        keep -= 1  # a guessed field is header only when a field the patterns read follows it
    return keep


class HeaderParser:
    """Splits lines into header and message, after learning a file's usual header layouts.

    ``HeaderParser.learn(lines)`` reads the fields of a sample of lines and keeps the most common field
    sequence, plus those of other formats mixed into the file (sequences that are frequent too and differ
    from the usual one within its length: one that only extends it is the usual header followed by
    message words that look like fields). :meth:`parse` then strips from each line the longest part of
    its header that agrees with one of them.
    """

    def __init__(self, layout: tuple[str, ...] = (), others: tuple[tuple[str, ...], ...] = (),
                 columns: ColumnLayout | None = None):
        self.layout = layout
        self.others = others
        self.columns = columns or ColumnLayout()

    @classmethod
    def learn(cls, lines: Iterable[str], sample: int = 500) -> HeaderParser:
        counts: Counter[tuple[str, ...]] = Counter()
        sampled: list[str] = []
        for i, line in enumerate(lines):
            if i >= sample:
                break
            sampled.append(line)
            # Continuation lines (frames, indented lines) have no header to learn, and no say in whether
            # the file's lines have one.
            if not line.strip() or line[:1] in (" ", "\t") or _parse_structured(line) is not None:
                continue
            kinds = tuple(f.kind for f in _read_fields(line))
            if kinds or not is_trace_line(line):
                counts[kinds] += 1
        total = sum(counts.values())
        headerless = counts.pop((), 0)
        if not counts:
            return cls((), (), cls._learn_columns(cls(()), sampled))
        # The usual layout: the most common complete sequence; ties go to the longer one. When most lines
        # have no header at all, there is none, but the formats of the other lines are still learned.
        layout = () if headerless * 2 > total else max(counts.items(), key=lambda kv: (kv[1], len(kv[0])))[0]
        floor = max(2, MIN_LAYOUT_SHARE * total)
        chosen = [layout] if layout else []
        for kinds, count in counts.most_common(MAX_LAYOUTS):
            # A sequence that extends (or cuts short) a more common one is that one plus message words.
            if count >= floor and not any(kinds[:len(c)] == c or c[:len(kinds)] == kinds for c in chosen):
                chosen.append(kinds)
        typed = cls(layout, tuple(c for c in chosen if c != layout))
        typed.columns = cls._learn_columns(typed, sampled)
        typed._fast = _FastLayout.learn(typed, sampled)
        return typed

    @staticmethod
    def _learn_columns(typed: HeaderParser, sampled: list[str]) -> ColumnLayout:
        """The header columns (:mod:`lsp.logs.columns`) that follow the known fields on the sampled lines;
        none after a layout a component closes (``prog[pid]:``, ``Class.name:``): its header is complete."""
        if typed.layout[-1:] == ("comp",):
            return ColumnLayout()
        rests = [typed._parse_known(line)[0].message for line in sampled
                 if line.strip() and line[:1] not in (" ", "\t") and not is_trace_line(line)]
        return ColumnLayout.learn(rests, after_known=bool(typed.layout))

    _fast: _FastLayout | None = None

    def parse(self, line: str) -> ParsedLine:
        parsed, structured = self._parse_known(line)
        if structured or not self.columns.kinds or not parsed.message:
            return parsed
        cut, level = self.columns.split(parsed.message)
        if not cut:
            return parsed
        header = f"{parsed.header} {parsed.message[:cut]}".strip()
        return ParsedLine(parsed.message[cut:].strip(), parsed.level or level, header, parsed.has_timestamp)

    def _parse_known(self, line: str) -> tuple[ParsedLine, bool]:
        """``line`` split after the header fields :data:`_STEPS` know, as the learned layouts allow, and
        whether it is a structured record (JSON, logfmt)."""
        structured = _parse_structured(line) if line[:1] == "{" or "=" in line else None
        if structured is not None:
            return structured, True
        if self._fast is not None:
            quick = self._fast.parse(line)
            if quick is not None:
                return quick, False
        fields = _read_fields(line, self.layout)
        if not fields:
            return ParsedLine(line.strip(), "", "", False), False
        keep = _agreement(fields, self.layout) if self.layout else 0
        for other in self.others:
            keep = max(keep, _agreement(fields, other))
        if keep == 0 and fields[0].kind == "ts":
            keep = 1  # a timestamp is always header
        # A level word read past the file's layout still counts ("ERROR" is unambiguous); a single letter
        # there does not ("A new client connected" after a timestamp is no logcat Assert).
        level = next((f.level for i, f in enumerate(fields) if f.level and (i < keep or not f.letter)), "")
        if keep == 0:
            return ParsedLine(line.strip(), level, "", False), False
        end = fields[keep - 1].end
        return ParsedLine(line[end:].strip(), level, line[:end].strip(), fields[0].kind == "ts"), False


class _FastLayout:
    """The file's usual header read by one regular expression: the steps that read the layout's fields on
    most sampled lines, each in an atomic group (no backtracking into a field, as the step-by-step reading
    does not either). Used only where it gives what :func:`_read_fields` gives on every sampled line, and
    for a line only when its header holds a level or ends with a closing field (else reading on past the
    layout could still find a level)."""

    def __init__(self, steps: tuple[_Step, ...]):
        self.steps = steps
        parts = []
        for i, st in enumerate(steps):
            source = re.sub(r"\(\?P<(\w+)>", lambda m, i=i: f"(?P<{m.group(1)}_{i}>", st.pattern.pattern)
            parts.append(f"(?P<f{i}>(?>{source}))")
        self.pattern = re.compile(r"\s*" + r"\s*".join(parts))
        self.closes = steps[-1].closes

    @classmethod
    def learn(cls, parser: HeaderParser, sampled: list[str]) -> _FastLayout | None:
        n = len(parser.layout)
        if not n:
            return None
        sequences: Counter[tuple[int, ...]] = Counter()
        for line in sampled:
            fields = _read_fields(line, parser.layout)
            if len(fields) >= n and all(f.step is not None for f in fields[:n]) and tuple(
                    f.kind for f in fields[:n]) == parser.layout:
                sequences[tuple(id(f.step) for f in fields[:n])] += 1
        if not sequences:
            return None
        by_id = {id(st): st for st in (*_STEPS, _EXPECTED_COMP)}
        fast = cls(tuple(by_id[i] for i in sequences.most_common(1)[0][0]))
        for line in sampled:  # it must agree with the step-by-step reading wherever it answers
            quick = fast.parse(line)
            if quick is not None and quick != HeaderParser._parse_known(parser, line)[0]:
                return None
        return fast

    def parse(self, line: str) -> ParsedLine | None:
        m = self.pattern.match(line)
        if m is None:
            return None
        level = ""
        for i, st in enumerate(self.steps):
            for group in st.level_groups:
                word = m.group(f"{group}_{i}")
                if word:
                    level = SYSLOG_SEVERITY[int(word) % 8] if group == "pri" else normalise_level(word)
                    break
            if not level and st.kind == "bracket" and m.end(f"f{i}") - m.start(f"f{i}") > 4:
                inner = _BRACKET_LEVEL.search(m.group(f"f{i}"), 0, 120)
                level = normalise_level(inner.group("l")) if inner else ""
            if level:
                break
        if not level and not self.closes:
            return None
        end = m.end()
        return ParsedLine(line[end:].strip(), level, line[:end].strip(), self.steps[0].kind == "ts")

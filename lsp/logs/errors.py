"""Error detection: the severity of a log line (from its level field and from what it says), and the
multi-line stack traces (Java, Python, Go, .NET, Node) that belong to the error line that starts them.

:func:`line_severity` rates one line; :class:`TraceTracker` is fed lines in order and says, for each,
whether it continues a stack trace, so that frames are attached to their error instead of being counted
as lines of their own.
"""

from __future__ import annotations

import re

SEVERITY_RANK = {"": 0, "warning": 1, "error": 2, "critical": 3}
_LEVEL_SEVERITY = {"warning": "warning", "error": "error", "critical": "critical"}

_CRITICAL = re.compile(
    r"\b(?:FATAL|CRITICAL|EMERG(?:ENCY)?|kernel panic|Out of memory|OutOfMemoryError|oom[-_ ]killer|"
    r"invoked oom|Killed process|segfault|Segmentation fault|core dumped|SIGSEGV|SIGKILL|stack overflow|"
    r"StackOverflowError|disk full|No space left on device)\b|^panic: |\bpanic\(",
    re.IGNORECASE,
)
# Words that say on their own that something went wrong.
_ERROR_STRONG = re.compile(
    r"\b(?:ERROR|SEVERE|Traceback \(most recent call last\)|Unhandled|uncaught|Exception\b|Error:|"
    r"[A-Z]\w*(?:Exception|Error)\b|Exception in thread|exception:)", re.UNICODE
)
# Words that usually mark a failure, but that healthy systems also log at INFO (retries, probes).
_ERROR_WEAK = re.compile(
    r"\b(?:error|errors occurred|fail(?:s|ed|ure|ing)?|refused|timed? ?out|timeout|unreachable|denied|"
    r"unable to|cannot|can't|could not|couldn't|not found|no such|invalid|corrupt(?:ed|ion)?|abort(?:ed|ing)?|"
    r"crash(?:ed)?|broken pipe|reset by peer|exit(?:ed)? (?:with )?(?:status|code) [1-9]|exited abnormally|"
    r"unexpected(?:ly)?|rejected|lost|dropped|killed)\b",
    re.IGNORECASE,
)
_WARNING = re.compile(r"\b(?:WARN(?:ING)?|deprecated|retry(?:ing)?|slow|degraded|throttl\w*|backoff)\b", re.IGNORECASE)
# An access-log request answered with a server error: "GET /x HTTP/1.1" 503 1234
_HTTP_5XX = re.compile(r"\"[A-Z]{3,7} \S+ HTTP/[\d.]+\"\s+5\d\d\s")
# Counts of zero errors are not errors: "0 errors", "errors=0", "error count: 0", "no errors".
_NOT_AN_ERROR = re.compile(
    r"\b(?:0|no|zero) (?:errors?|failures?|exceptions?)\b|\b(?:errors?|failures?|failed)\s*[=:]\s*0\b", re.IGNORECASE
)

# Lower-case fragments, one of which every pattern above needs: a quick test that most lines fail.
_SIGNAL_FRAGMENTS = (
    "error", "fail", "refus", "time", "unreach", "denied", "unable", "cannot", "can't", "could", "not found",
    "no such", "invalid", "corrupt", "abort", "crash", "broken", "reset", "exit", "unexpected", "rejected",
    "lost", "dropped", "kill", "warn", "deprecat", "retry", "slow", "degrad", "thrott", "backoff", "fatal",
    "critical", "emerg", "panic", "memory", "oom", "segfault", "segmentation", "dumped", "sigsegv",
    "overflow", "disk full", "no space", "severe", "traceback", "unhandled", "uncaught", "exception", "http/",
)


def line_severity(level: str, message: str) -> str:
    """Severity of one line: ``"critical"``, ``"error"``, ``"warning"`` or ``""``.

    ``level`` is the normalised level field (``""`` when the line has none). An explicit level is trusted;
    strong words may raise it (an exception logged at INFO is an error), while failure words that healthy
    systems also log ("failed", "refused", "timed out") make an error only of a line that has no level,
    and a warning of an INFO or WARN line.
    """
    severity = _LEVEL_SEVERITY.get(level, "")
    text = message[:2000]
    if severity == "critical":
        return severity
    lowered = text.lower()
    if not any(fragment in lowered for fragment in _SIGNAL_FRAGMENTS):
        return severity
    content = ""
    if _CRITICAL.search(text):
        content = "critical"
    elif _ERROR_STRONG.search(text) or _HTTP_5XX.search(text + " "):
        content = "error"
    elif _ERROR_WEAK.search(text) and not _NOT_AN_ERROR.search(text):
        content = "error" if level == "" else "warning"
    elif _WARNING.search(text):
        content = "warning"
    if level in ("trace", "debug") and content == "warning":
        content = ""
    return content if SEVERITY_RANK[content] > SEVERITY_RANK[severity] else severity


# --------------------------------------------------------------------------------------------------
# Stack traces
# --------------------------------------------------------------------------------------------------

# Lines that only ever appear inside a trace.
_FRAME = re.compile(
    r"^\s+at\s+\S+.*$"  # Java / .NET / Node: "\tat org.x.Y.z(Y.java:12)", "    at fn (file.js:1:2)"
    r"|^\s*Caused by:\s"  # Java
    r"|^\s*Suppressed:\s"
    r"|^\s*\.\.\.\s*\d+\s+(?:more|common frames omitted)"
    r"|^\s*---\s*End of inner exception stack trace\s*---"  # .NET
    r"|^\s*--- End of stack trace"
    r"|^\s+File \".*\", line \d+"  # Python
    r"|^\s*During handling of the above exception"
    r"|^\s*The above exception was the direct cause"
    r"|^goroutine \d+ \[[^\]]*\]:\s*$"  # Go
    r"|^\s+/\S+\.go:\d+(?: \+0x[0-9a-f]+)?\s*$"
    r"|^\[signal [A-Z]+"
    r"|^created by \S+"
    r"|^exit status \d+\s*$"  # what `go run` prints after a panic
)
# Lines that open a trace of their own.
_TRACE_START = re.compile(
    r"^\s*Traceback \(most recent call last\):\s*$|^panic: |^fatal error: |^Exception in thread \"|"
    r"^Unhandled [Ee]xception"
)
# An exception line without a header right after an error: "java.io.IOException: boom", "ValueError: x".
_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[a-zA-Z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Throwable|Fault|Exit|Interrupt|Warning)\b(?::.*)?$"
)
# Go frames: "main.main()" / "net/http.(*conn).serve(0xc000)" on their own line, then the file line.
_GO_FUNC = re.compile(r"^[\w./*()-]+\([^)]*\)\s*$")
# Python's closing line: "KeyError: 'price'", "mypkg.errors.Timeout: 30s", "KeyboardInterrupt"
_PY_EXCEPTION = re.compile(r"^[A-Za-z_][\w.]*(?::\s.*)?$")


class TraceTracker:
    """Fed lines in order (:meth:`feed`), tells whether each belongs to the trace of an earlier line.

    Every line that continues nothing starts a record; the lines after it that have no header and look
    like frames, exception lines, or are indented (a Python frame's source and caret lines, the rest of a
    multi-line message) continue it. The first other line (typically the next line with a timestamp)
    starts the next record. Blank lines are not fed: they neither count nor end a trace.
    :func:`is_stack_trace` tells a real trace from the mere continuation lines of a message.
    """

    def __init__(self) -> None:
        self.anchor: int | None = None  # line number of the line the current trace belongs to
        self._kind = ""  # "python", "go", "java" or "" while only an error line has been seen
        self._closed = False
        self._anchor_severity = ""

    def _continues(self, raw: str, stripped: str) -> bool:
        if _TRACE_START.match(stripped) and self._anchor_severity not in ("warning", "error", "critical"):
            return False  # a traceback after an ordinary line is a record of its own (an uncaught error)
        if _FRAME.match(raw) or _TRACE_START.match(stripped):
            if stripped.startswith(("Traceback", "File ")):
                self._kind = "python"
            elif stripped.startswith(("goroutine ", "created by")) or ".go:" in stripped:
                self._kind = "go"
            self._closed = False
            return True
        if self._closed:
            return False  # a Python traceback ended with its exception line
        if raw[:1] in (" ", "\t"):
            return True  # indented: a frame's source line, caret line, or the rest of a multi-line message
        if self._kind == "python":
            # The exception line closes a Python traceback (a chained one may follow).
            self._closed = bool(_PY_EXCEPTION.match(stripped))
            return self._closed
        if _EXCEPTION_LINE.match(stripped):
            return True
        return self._kind == "go" and bool(_GO_FUNC.match(stripped))

    def feed(self, line_no: int, raw: str, has_header: bool, severity: str) -> int | None:
        """Returns the anchor line number when ``raw`` continues the current record, else ``None`` (and
        the line starts a record of its own). ``severity`` is the line's own: a ``Traceback``/``panic:`` continues
        only a warning or an error, and otherwise starts a record."""
        raw = raw.rstrip()
        stripped = raw.strip()
        if self.anchor is not None and stripped and not has_header and self._continues(raw, stripped):
            return self.anchor
        # Not a continuation: this line starts a new record, which a trace may follow.
        self._closed = False
        self.anchor = line_no
        self._anchor_severity = severity
        if _TRACE_START.match(stripped):
            self._kind = "python" if stripped.startswith("Traceback") else (
                "go" if stripped.startswith(("panic: ", "fatal error: ")) else "java")
        else:
            self._kind = ""
        return None


def is_stack_trace(trace_lines: list[str]) -> bool:
    """Whether continuation lines hold a stack trace (a frame, an exception line, a trace start), as
    opposed to the indented rest of a multi-line message."""
    return any(_FRAME.match(line) or _TRACE_START.match(line.strip()) or _EXCEPTION_LINE.match(line.strip())
               for line in trace_lines)


_EXCEPTION_NAME = re.compile(
    r"(?:^|Caused by:\s*|Exception in thread \"[^\"]*\"\s*)((?:[a-zA-Z_$][\w$]*\.)*[A-Z][\w$]*"
    r"(?:Exception|Error|Throwable|Fault|Exit|Interrupt))\b"
)

_PY_EXCEPTION_NAME = re.compile(r"^([A-Za-z_][\w.]*)(?::\s.*)?$")


def exception_name(trace_lines: list[str]) -> str:
    """The exception a trace ends in: the root cause of a Java trace (its last ``Caused by:``), the last
    line of a Python traceback; ``""`` when the trace names none."""
    python = any(line.lstrip().startswith("Traceback (most recent call last)") for line in trace_lines)
    name = ""
    for line in trace_lines:
        if python:
            if line[:1] not in (" ", "\t") and not line.startswith(("Traceback", "During handling", "The above")):
                m = _PY_EXCEPTION_NAME.match(line.rstrip())
                if m:
                    name = m.group(1)
            continue
        m = _EXCEPTION_NAME.search(line.strip())
        if m:
            name = m.group(1)
    return name

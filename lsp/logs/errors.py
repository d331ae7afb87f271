"""Error detection: the severity of a log line (from its level field and from what it says), and the
multi-line stack traces (Java, Python, Go, Rust, .NET, Node) that belong to the error line that starts them.

:func:`line_severity` rates one line; :class:`TraceTracker` is fed lines in order and says, for each,
whether it continues a stack trace, so that frames are attached to their error instead of being counted
as lines of their own.
"""

from __future__ import annotations

import re

from lsp.logs.levels import SEVERITY_RANK, normalise_level

__all__ = ["SEVERITY_RANK", "TraceTracker", "exception_name", "is_exception_line", "is_stack_trace", "is_trace_line", "line_severity"]
_LEVEL_SEVERITY = {"warning": "warning", "error": "error", "critical": "critical"}

_CRITICAL = re.compile(
    r"\b(?:FATAL|CRITICAL|EMERG(?:ENCY)?|kernel panic|Out of memory|OutOfMemoryError|oom[-_ ]killer|"
    r"invoked oom|Killed process|segfault|Segmentation fault|core dumped|SIGSEGV|SIGKILL|stack overflow|"
    r"StackOverflowError|disk full|No space left on device|panicked at)\b|^panic: |\bpanic\(",
    re.IGNORECASE,
)
# Words that say on their own that something went wrong.
_ERROR_STRONG = re.compile(
    r"\b(?:ERROR|SEVERE|Traceback \(most recent call last\)|Unhandled|uncaught|Exception\b|Error:|"
    r"[A-Z]\w*(?:Exception|Error)\b|Exception in thread|exception:)", re.UNICODE
)
# Words that usually mark a failure, but that healthy systems also log at INFO (retries, probes). Not when
# the word only starts a longer name: a package (libgpg-error-dev), a file (error.log), a key (error_page).
_ERROR_WEAK = re.compile(
    r"\b(?:error|errors occurred|fail(?:s|ed|ures?|ing)?|did not receive|user unknown|refused|timed? ?out|timeout|unreachable|denied|"
    r"unable to|cannot|can't|could not|couldn't|not found|no such|invalid|corrupt(?:ed|ion)?|abort(?:ed|ing)?|"
    r"crash(?:ed)?|broken pipe|reset by peer|exit(?:ed)? (?:with )?(?:status|code) [1-9]|exited abnormally|"
    r"unexpected(?:ly)?|rejected|lost|dropped|killed)\b(?![-_.]\w)",
    re.IGNORECASE,
)
# What no program handles: a process that died, data lost or corrupted.
_DIED = re.compile(
    r"\b(?:terminated by signal|abort(?:ed|ing)?|killed|crash(?:ed)?|exited abnormally|"
    r"exit(?:ed)? (?:with )?(?:status|code) [1-9]|corrupt(?:ed|ion)?|data loss)\b(?![-_.]\w)",
    re.IGNORECASE,
)
_WARNING = re.compile(r"\b(?:WARN(?:ING)?|deprecated|retry(?:ing)?|slow|degraded|throttl\w*|backoff)\b", re.IGNORECASE)
# A request answered with a server error: access logs ("GET /x HTTP/1.1" 503 1234), morgan / Express
# ("POST /api/orders 500 41.002 ms"), uvicorn ("GET /x HTTP/1.1" 500 Internal Server Error)
_HTTP_5XX = re.compile(r"\b(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE) \S+(?: HTTP/[\d.]+)?\"?\s+5\d\d\s")
_METHODS = ("GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD ", "OPTIONS ")
# Counts of zero errors are not errors: "0 errors", "errors=0", "error count: 0", "no errors".
_NOT_AN_ERROR = re.compile(
    r"\b(?:0|no|zero) (?:errors?|failures?|exceptions?)\b|\b(?:errors?|failures?|failed)\s*[=:]\s*0\b"
    # a client's mistake answered by a 4xx status is no failure of the service: "Completed 404 Not Found"
    r"|\b4\d\d (?:Not Found|Bad Request|Unauthorized|Forbidden|Conflict|Gone)\b", re.IGNORECASE
)
# A level word a message opens with when no header field held one: "nginx: [emerg] bind() failed",
# "# WARNING: overcommit", "npm ERR! code ELIFECYCLE", "npm WARN deprecated".
_EMBEDDED_LEVEL = re.compile(
    r"^(?:\S+\s+){0,2}?(?:(?:##)?\[(?P<b>emerg|alert|crit|error|warn|warning|notice|info|debug)\](?!\S*\])"
    r"|(?P<u>ERROR|ERR|WARN|WARNING|FATAL|CRITICAL|CRIT|SEVERE|PANIC|EMERG|ALERT|NOTICE|INFO|DEBUG)[:!]?(?=\s|$))"
)

# Lower-case fragments, one of which every pattern above needs: a quick test that most lines fail.
_SIGNAL_FRAGMENTS = (
    "error", "fail", "refus", "user unknown", "did not receive", "time", "unreach", "denied", "unable", "cannot", "can't", "could", "not found",
    "no such", "invalid", "corrupt", "abort", "crash", "broken", "reset", "exit", "unexpected", "rejected",
    "lost", "dropped", "kill", "warn", "deprecat", "retry", "slow", "degrad", "thrott", "backoff", "fatal",
    "critical", "emerg", "panic", "memory", "oom", "segfault", "segmentation", "dumped", "sigsegv",
    "overflow", "disk full", "no space", "severe", "traceback", "unhandled", "uncaught", "exception", "http/",
)
_SIGNAL = re.compile("|".join(map(re.escape, _SIGNAL_FRAGMENTS)))


def line_severity(level: str, message: str) -> str:
    """Severity of one line: ``"critical"``, ``"error"``, ``"warning"`` or ``""``.

    ``level`` is the normalised level field (``""`` when the line has none; then a level word the message
    opens with counts as one). An explicit level is trusted, as log tools do: what the message says can
    raise an INFO or NOTICE line to a warning at most (an exception or a failure logged at INFO deserves a
    look, not an alarm; failure words such as "not found" or "retrying", or "critical", raise nothing
    there: the program handled what they describe), never a WARN line to an error, and
    nothing at DEBUG or TRACE; only crashes (out of memory, segfault, panic) raise a WARN or ERROR line,
    or one without a level, to critical, and a request answered with a 5xx status makes an error
    (access logs log every request at INFO). Without a level, the
    words decide: strong ones and failure words make an error, warning words a warning. A stack trace
    under a line makes it an error in any case (:mod:`lsp.logs.report`).
    """
    text = message[:2000]
    if not level:
        embedded = _EMBEDDED_LEVEL.match(text)
        if embedded:
            level = normalise_level(embedded.group("b") or embedded.group("u"))
    severity = _LEVEL_SEVERITY.get(level, "")
    if severity == "critical":
        return severity
    http_5xx = " 5" in text and ("HTTP/" in text or text.startswith(_METHODS)) and (
        _HTTP_5XX.search(text + " ") is not None)
    lowered = text.lower()
    if not http_5xx and not _SIGNAL.search(lowered):
        return severity
    quiet = level in ("trace", "debug")
    # An explicit INFO or NOTICE says the program saw no crash: "critical" or "fatal" in its message is
    # read like any other word (a failure word still makes a warning of it). Else crash words decide.
    if (not level or severity) and _CRITICAL.search(text):
        return severity if quiet else "critical"
    if http_5xx and not quiet:
        return "error"  # an access log's level is the logger's; the status says how the request went
    if quiet or severity:
        return severity  # DEBUG and TRACE stay quiet; WARN and ERROR stand as they are
    if level:  # INFO, NOTICE: the program handled what its words describe ("not found, computing it",
        # "retrying", "deprecated"); an exception, an error it names, a process that died or data lost
        # (PostgreSQL logs a crashed backend at LOG) still deserve a look
        return "warning" if _ERROR_STRONG.search(text) or _DIED.search(text) else ""
    failure = _ERROR_STRONG.search(text) or (_ERROR_WEAK.search(text) and not _NOT_AN_ERROR.search(text))
    return "error" if failure else ("warning" if _WARNING.search(text) else "")


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
    r"|^stack backtrace:\s*$|^note: .*\bbacktrace\b"  # Rust
    r"|^\s*\[stacktrace\]\s*$|^\s*#\d+ (?:\S+\(\d+\): |\{main\})"  # PHP (Monolog, Laravel)
    r"|^\s*\S+\.rb:\d+:in [`']"  # Ruby
)
# A frame after a header of its own (Android's logcat, Rails, syslog relaying a JVM's stderr line by line)
_HEADED_FRAME = re.compile(
    r"^(?:at [\w$./<>\[\]-]+\(.*\)$|Caused by: \S|Suppressed: \S|\.\.\. \d+ (?:more|common frames omitted)"
    r"|File \".*\", line \d+|\S+\.rb:\d+:in [`']|#\d+ \S+\(\d+\): )"
)
# What a runtime prints after a crash or a warning: part of the record, though no stack frame.
_TRAILER = re.compile(r"^exit status \d+\s*$|^Node\.js v\d+\.\d+|^\(Use `node --trace-")
# Lines that open a trace of their own.
_TRACE_START = re.compile(
    r"^\s*Traceback \(most recent call last\):\s*$|^panic: |^fatal error: |^Exception in thread \"|"
    r"^Unhandled [Ee]xception|^thread '[^']*' panicked at "
)
# Of those, what may continue the error line before it (Python's logger.exception()); the others are what
# a runtime prints when a program dies (a Go or Rust panic, the JVM's uncaught exception): new records.
_TRACE_CONTINUES = re.compile(r"^\s*Traceback \(most recent call last\):\s*$")
# An exception line without a header right after an error: "java.io.IOException: boom", "ValueError: x".
_EXCEPTION_LINE = re.compile(
    r"^\s*(?:[a-zA-Z_$][\w$]*\.)*[A-Z][\w$]*(?:Exception|Error|Throwable|Fault|Exit|Interrupt|Warning)\b(?::.*)?$"
)
# Go frames: "main.main()" / "net/http.(*conn).serve(0xc000)" on their own line, then the file line.
_GO_FUNC = re.compile(r"^[\w./*()-]+\([^)]*\)\s*$")
# A Go function without arguments, as zap prints a stack: "main.main", "github.com/a/b/store.(*PG).Insert"
_GO_FUNC_NAME = re.compile(r"^(?:[\w.-]+/)*[\w-]+\.(?:\(\*?\w+\)\.)?\w+(?:\.func\d+)*(?:\.\d+)*$")
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
        self._message_next = False  # the line after the anchor is the rest of its message
        self._anchor_level = ""

    def _continues(self, raw: str, stripped: str) -> bool:
        # A traceback after an ordinary line is a record of its own (an uncaught error); so is a crash.
        if raw[:1] not in (" ", "\t") and _TRACE_START.match(stripped) and (
                self._anchor_severity not in ("warning", "error", "critical") or not _TRACE_CONTINUES.match(stripped)):
            return False
        if self._message_next:
            self._message_next = False  # Rust 1.73+: "thread 'main' panicked at src/main.rs:4:5:" + message
            return True
        if _TRAILER.match(stripped):
            return True
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
        if self._kind == "go" and _GO_FUNC.match(stripped):
            return True
        if ((self._kind == "go" or self._anchor_severity in ("error", "critical")) and _GO_FUNC_NAME.match(stripped)
                and ("/" in stripped or "(" in stripped or stripped.startswith("main."))):
            self._kind = "go"
            return True
        return False

    def continues_headed(self, message: str, level: str) -> bool:
        """Whether a line with a header of its own still continues the current error: its message is a
        stack frame or an exception, logged at the error's level (logcat and Rails give each line of a
        trace the full header; so does syslog when it relays a program's stderr line by line)."""
        return (self.anchor is not None and level == self._anchor_level
                and self._anchor_severity in ("error", "critical")
                and bool(_HEADED_FRAME.match(message) or _EXCEPTION_LINE.match(message)))

    def feed(self, line_no: int, raw: str, has_header: bool, severity: str, level: str = "") -> int | None:
        """Returns the anchor line number when ``raw`` continues the current record, else ``None`` (and
        the line starts a record of its own). ``severity`` is the line's own: a ``Traceback`` continues
        only a warning or an error, and otherwise starts a record; a Go or Rust panic or the JVM's
        ``Exception in thread`` always starts one."""
        raw = raw.rstrip()
        stripped = raw.strip()
        if self.anchor is not None and stripped and not has_header and self._continues(raw, stripped):
            return self.anchor
        # Not a continuation: this line starts a new record, which a trace may follow.
        self._closed = False
        self.anchor = line_no
        self._anchor_severity = severity
        self._anchor_level = level
        self._message_next = False
        if _TRACE_START.match(stripped):
            if stripped.startswith("thread '"):
                self._kind, self._message_next = "rust", stripped.endswith(":")
            else:
                self._kind = "python" if stripped.startswith("Traceback") else (
                    "go" if stripped.startswith(("panic: ", "fatal error: ")) else "java")
        else:
            self._kind = ""
        return None


def is_trace_line(line: str) -> bool:
    """Whether ``line`` can only continue a record: a frame, a trace's opening or closing line, an
    exception line, a Go function line, a runtime's trailer."""
    stripped = line.strip()
    return bool(_FRAME.match(line) or _TRACE_START.match(stripped) or _EXCEPTION_LINE.match(stripped)
                or _GO_FUNC.match(stripped) or _TRAILER.match(stripped))


def is_exception_line(line: str) -> bool:
    """Whether ``line`` names an exception on its own: ``java.io.IOException: boom``, ``TypeError: x``."""
    return bool(_EXCEPTION_LINE.match(line.strip()))


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

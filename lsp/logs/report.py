"""The log analysis the language server shows: :func:`analyse_log` turns a log's text into a
:class:`LogReport` (event templates with their lines, error groups with their stack traces), and
:func:`context_excerpt` cuts the lines around an error for the model to explain.

Pipeline: split lines -> remove ANSI codes and collector frames (:mod:`lsp.logs.framing`) -> strip headers
(:mod:`lsp.logs.headers`, per stream of lines) -> rate severity and attach stack traces
(:mod:`lsp.logs.errors`) -> mask and mine templates (:mod:`lsp.logs.masking`, :mod:`lsp.logs.mining`)
-> group. Never raises on any text: empty, binary, enormous or with enormous lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from lsp.logs.errors import (
    SEVERITY_RANK,
    TraceTracker,
    exception_name,
    is_exception_line,
    is_stack_trace,
    line_severity,
)
from lsp.logs.framing import Framed, detect_frame, strip_ansi, unframe
from lsp.logs.headers import HeaderParser
from lsp.logs.masking import MASK, mask
from lsp.logs.mining import LogTemplateMiner

MAX_LINE_CHARS = 4096  # longer lines are analysed on their first MAX_LINE_CHARS characters
SAMPLE_CHARS = 500  # length of the sample line kept for each error group
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the line breaks the Language Server Protocol counts
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]+")
_PY_EXCEPTION_LINE = re.compile(r"^\s*[A-Za-z_][\w.]*(?:: .*)?$")
PROGRESS_EVERY = 10_000  # lines between two calls of a progress callback
# progress(stage, done, total): stage "headers" (reading headers, severity, traces) or "templates" (mining)
Progress = Callable[[str, int, int], None]


@dataclass
class TemplateGroup:
    """One event: its template and the 1-based numbers of the lines it covers."""

    id: int
    template: str
    count: int
    lines: list[int]


@dataclass
class ErrorGroup:
    """Error (or warning) lines of one template. ``sample`` is the raw text of ``sample_line``: the first
    occurrence that has a stack trace, else the first occurrence; ``stack_trace`` holds the line numbers of
    that trace; ``template_id`` is the matching :class:`TemplateGroup`."""

    id: int
    template: str
    severity: str  # "error" | "warning" | "critical"
    count: int
    first_line: int
    lines: list[int]
    sample: str
    stack_trace: list[int]
    template_id: int = 0
    exception: str = ""
    sample_line: int = 0  # the line ``sample`` (and ``stack_trace``) come from


@dataclass
class LogReport:
    source: str = ""
    templates: list[TemplateGroup] = field(default_factory=list)
    error_groups: list[ErrorGroup] = field(default_factory=list)
    total_lines: int = 0  # lines in the text
    analysed_lines: int = 0  # lines analysed (at most max_lines)
    truncated: bool = False
    header_layout: list[str] = field(default_factory=list)  # the header fields found, e.g. ["ts", "level"]
    frame: str = ""  # what a collector wrapped the lines in: "docker-json", "cri", "compose", "timestamps"
    failure: str = ""  # set, with an otherwise empty report, if the analysis itself failed (a bug)
    partial: bool = False  # a quick first pass over the first lines; the report of the whole text follows

    def to_dict(self) -> dict:
        return asdict(self)


def split_lines(text: str) -> list[str]:
    """The text's lines as an editor numbers them (``\\n``, ``\\r\\n`` and ``\\r`` end a line)."""
    if not text:
        return []
    lines = _LINE_BREAK.split(text)
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _clean(line: str) -> str:
    return _CONTROL.sub(" ", strip_ansi(line[:MAX_LINE_CHARS]))


def analyse_log(text: str, *, source: str = "", max_lines: int = 200_000,
                progress: Progress | None = None) -> LogReport:
    """Mine the templates of ``text`` and group its errors. ``max_lines`` bounds the work: lines past it
    are not analysed and the report says ``truncated``. ``progress(stage, done, total)`` is called every
    :data:`PROGRESS_EVERY` lines of each stage and at its end."""
    try:
        return _analyse(text, source, max_lines, progress)
    except Exception as exc:  # noqa: BLE001 - the analyser must never take the language server down
        return LogReport(source=source, failure=f"{type(exc).__name__}: {exc}")


@dataclass
class _LineFacts:
    """What the first pass learns about each analysed line (indices are 0-based)."""

    texts: list[str]  # the line without its frame (a collector's prefix, a docker JSON wrapper)
    messages: list[str | None] = field(default_factory=list)  # after the header; None for a blank line
    severity: list[str] = field(default_factory=list)  # "" for lines that are no error and for trace lines
    in_trace: list[bool] = field(default_factory=list)
    trace_of: dict[int, list[int]] = field(default_factory=dict)  # anchor line -> the lines of its trace
    details: dict[int, str] = field(default_factory=dict)  # a structured record's error details


def _analyse(text: str, source: str, max_lines: int, progress: Progress | None = None) -> LogReport:
    if text is None:
        text = ""
    elif isinstance(text, (bytes, bytearray)):
        text = bytes(text).decode("utf-8", errors="replace")
    elif not isinstance(text, str):
        text = str(text)
    all_lines = split_lines(text)
    lines = [_clean(line) for line in all_lines[:max(0, int(max_lines))]]
    report = LogReport(source=source, total_lines=len(all_lines), analysed_lines=len(lines),
                       truncated=len(all_lines) > len(lines))
    if not lines:
        return report
    report.frame = detect_frame(lines)
    framed = unframe(lines, report.frame)
    parsers = _learn_parsers(framed)
    report.header_layout = list(max(parsers.values(), key=lambda p: p.lines).parser.layout)
    facts = _read_lines(framed, parsers, progress)
    _name_records(facts)
    miner, members = _mine_templates(facts, progress)
    ordered = sorted(members.items(), key=lambda kv: (-len(kv[1]), kv[1][0]))
    template_id = {gid: n for n, (gid, _) in enumerate(ordered, 1)}
    report.templates = [
        TemplateGroup(id=template_id[gid], template=miner.template(gid), count=len(idx), lines=[i + 1 for i in idx])
        for gid, idx in ordered
    ]
    group_of = {i: gid for gid, idx in members.items() for i in idx}
    report.error_groups = _group_errors(lines, facts, group_of, miner, template_id)
    return report


def line_messages(text: str) -> list[str | None]:
    """Each line's message as the analyser reads it (after its frame and header; ``None`` for a blank
    line): what the header detection is scored on."""
    lines = [_clean(line) for line in split_lines(text)]
    if not lines:
        return []
    framed = unframe(lines, detect_frame(lines))
    return _read_lines(framed, _learn_parsers(framed)).messages


@dataclass
class _Stream:
    """One source of lines in a file (a compose service, stdout or stderr; the whole file without a
    frame): its header layout, and the trace tracker that follows it across interleaved lines."""

    parser: HeaderParser
    lines: int
    tracker: TraceTracker = field(default_factory=TraceTracker)
    partial_anchor: int | None = None  # the record a partial line left open, continued by the next line


def _learn_parsers(framed: list[Framed]) -> dict[str, _Stream]:
    by_stream: dict[str, list[str]] = {}
    for f in framed:
        by_stream.setdefault(f.stream, []).append(f.text)
    return {stream: _Stream(HeaderParser.learn(texts), len(texts)) for stream, texts in by_stream.items()}


def _read_lines(framed: list[Framed], streams: dict[str, _Stream], progress: Progress | None = None) -> _LineFacts:
    """Split headers, rate severities and attach stack-trace lines to the error that starts them."""
    facts = _LineFacts(texts=[f.text for f in framed])
    for i, f in enumerate(framed):
        if progress is not None and i % PROGRESS_EVERY == 0 and i:
            progress("headers", i, len(framed))
        text, stream = f.text, streams[f.stream]
        if not text.strip():
            facts.messages.append(None)
            facts.severity.append("")
            facts.in_trace.append(False)
            continue  # blank lines neither count nor end a trace (chained Python tracebacks have them)
        parsed = stream.parser.parse(text)
        severity = ""
        headed = bool(parsed.header) or parsed.has_timestamp
        if stream.partial_anchor is not None:  # the rest of a line the collector split
            anchor = stream.partial_anchor
        elif headed and (not parsed.message or stream.tracker.continues_headed(parsed.message, parsed.level)):
            anchor = stream.tracker.anchor  # a frame, or an empty line, under a header of its own
            if anchor is None:
                facts.messages.append(None)
                facts.severity.append("")
                facts.in_trace.append(False)
                continue
        else:
            severity = line_severity(parsed.level, f"{parsed.message} {parsed.detail}" if parsed.detail
                                     else parsed.message)
            anchor = stream.tracker.feed(i, text, headed, severity, parsed.level)
        stream.partial_anchor = (i if anchor is None else anchor) if f.partial else None
        facts.messages.append(parsed.message)
        facts.in_trace.append(anchor is not None)
        facts.severity.append("" if anchor is not None else severity)
        if parsed.detail:
            facts.details[i] = parsed.detail
        if anchor is not None:
            facts.trace_of.setdefault(anchor, []).append(i)
    # Continuation lines that hold a stack trace make an error of the line they follow (an exception under
    # an INFO or WARN line); other continuation lines (the rest of a multi-line message) change nothing.
    for anchor, trace in facts.trace_of.items():
        traced = is_stack_trace([facts.texts[j] for j in trace]) or (facts.messages[anchor] or "").startswith(
            "Traceback")
        if traced and SEVERITY_RANK[facts.severity[anchor]] < SEVERITY_RANK["error"]:
            facts.severity[anchor] = "error"
    return facts


def _name_records(facts: _LineFacts) -> None:
    """The message a record is mined by, when its first line does not say what happened: a bare Python
    traceback is known by its last line (the exception); a record whose message is one word (.NET's
    "fail: Shop.Api.Orders[13]") or ends with a colon (Rust's "thread 'main' panicked at src/main.rs:4:5:")
    goes on with the message line that follows it; one that is only a location (Node's "/app/server.js:48")
    is known by the exception line of its trace."""
    for anchor, trace in facts.trace_of.items():
        message = facts.messages[anchor] or ""
        if message.startswith("Traceback"):
            last = facts.texts[trace[-1]].strip()
            if _PY_EXCEPTION_LINE.match(last):
                facts.messages[anchor] = last
            continue
        words, first = message.split(), facts.texts[trace[0]]
        indented, frame = first[:1] in (" ", "\t"), is_stack_trace([first])
        exception = next((facts.texts[j].strip() for j in trace if is_exception_line(facts.texts[j])), "")
        if exception and (not words or set(mask(message).split()) <= {MASK}):
            facts.messages[anchor] = exception
        elif (len(words) <= 1 and indented or message.endswith(":") and not indented) and not frame:
            facts.messages[anchor] = f"{message} {first.strip()}".strip()


def _mine_templates(facts: _LineFacts, progress: Progress | None = None
                    ) -> tuple[LogTemplateMiner, dict[int, list[int]]]:
    """Mine every message that is not part of a trace; returns the miner and each group's lines."""
    miner = LogTemplateMiner()
    members: dict[int, list[int]] = {}
    total = len(facts.messages)
    if progress is not None:
        progress("headers", total, total)
    for i, message in enumerate(facts.messages):
        if progress is not None and i % PROGRESS_EVERY == 0 and i:
            progress("templates", i, total)
        if message is not None and not facts.in_trace[i]:
            members.setdefault(miner.add(message), []).append(i)
    if progress is not None:
        progress("templates", total, total)
    # Words that take many values in one place are variables: merge the groups they split.
    merged_into = miner.merge_variable_positions()
    regrouped: dict[int, list[int]] = {}
    for gid, idx in members.items():
        regrouped.setdefault(merged_into.get(gid, gid), []).extend(idx)
    return miner, {gid: sorted(idx) for gid, idx in regrouped.items()}


def _group_errors(lines: list[str], facts: _LineFacts, group_of: dict[int, int], miner: LogTemplateMiner,
                  template_id: dict[int, int]) -> list[ErrorGroup]:
    """Error lines grouped by template and, when they carry a trace, by the exception it ends in;
    worst severity first, then in the order of their first line (the likely root cause first)."""
    exception_of = {anchor: exception_name([facts.texts[j] for j in [anchor, *trace]])
                    for anchor, trace in facts.trace_of.items()}
    for i, detail in facts.details.items():  # an exception a structured record carries in a field
        if i not in exception_of and facts.severity[i]:
            exception_of[i] = exception_name(detail.split("\n"))
    errors: dict[tuple[int, str], list[int]] = {}
    for i, severity in enumerate(facts.severity):
        if severity and i in group_of:
            errors.setdefault((group_of[i], exception_of.get(i, "")), []).append(i)
    # Occurrences logged without a trace join the one exception their template is seen with.
    exceptions: dict[int, set[str]] = {}
    for gid, exception in errors:
        if exception:
            exceptions.setdefault(gid, set()).add(exception)
    for gid, names in exceptions.items():
        if len(names) == 1 and (gid, "") in errors:
            errors[(gid, next(iter(names)))] = sorted(errors[(gid, next(iter(names)))] + errors.pop((gid, "")))
    groups = []
    for (gid, exception), idx in errors.items():
        traced = next((i for i in idx if i in facts.trace_of), None)
        sample_at = traced if traced is not None else idx[0]
        groups.append(ErrorGroup(
            id=0,
            template=miner.template(gid),
            severity=max((facts.severity[i] for i in idx), key=SEVERITY_RANK.__getitem__),
            count=len(idx),
            first_line=idx[0] + 1,
            lines=[i + 1 for i in idx],
            sample=lines[sample_at].strip()[:SAMPLE_CHARS],
            stack_trace=[i + 1 for i in facts.trace_of.get(sample_at, [])],
            template_id=template_id[gid],
            exception=exception,
            sample_line=sample_at + 1,
        ))
    # Within a severity the earliest group comes first: a failure that starts a cascade (a refused
    # connection) precedes the many errors that follow from it, however often those repeat.
    groups.sort(key=lambda g: (-SEVERITY_RANK[g.severity], g.first_line))
    for n, group in enumerate(groups, 1):
        group.id = n
    return groups


def context_excerpt(text: str, line: int, before: int = 10, after: int = 10) -> tuple[str, int]:
    """The lines around 1-based ``line`` (clamped to the text) and the number of the excerpt's first line.
    Lines are cut to :data:`MAX_LINE_CHARS` characters so that one huge line cannot flood a prompt."""
    lines = split_lines(text or "")
    if not lines:
        return "", 1
    try:
        line = int(line)
    except (TypeError, ValueError):
        line = 1
    line = min(max(line, 1), len(lines))
    first = max(1, line - max(0, int(before)))
    last = min(len(lines), line + max(0, int(after)))
    return "\n".join(_clean(x) for x in lines[first - 1:last]), first

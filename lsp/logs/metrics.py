"""Log-parsing metrics: grouping accuracy (GA) and pairwise precision/recall/F1 from the Loghub benchmark,
comparing predicted group labels per line with ground-truth event ids; and the scores of a report against
a hand-annotated log (:func:`parse_annotated`, :func:`score_annotated`), the ground truth of
``tests/data/logformats``."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from lsp.logs.levels import SEVERITY_RANK


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Fraction of lines whose predicted group holds exactly the lines of their true group
    (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted labels")
    if not truth:
        return 1.0
    true_groups: dict[Hashable, set[int]] = defaultdict(set)
    pred_groups: dict[Hashable, set[int]] = defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, predicted)):
        true_groups[t].add(i)
        pred_groups[p].add(i)
    correct = sum(len(lines) for p, lines in pred_groups.items()
                  if true_groups[truth[next(iter(lines))]] == lines)
    return correct / len(truth)


def pairwise_f1(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> tuple[float, float, float]:
    """Precision, recall and F1 over pairs of lines put in the same group (counted, not enumerated)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted labels")

    def pairs(counts: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    both = pairs(Counter(zip(truth, predicted)))
    pred_pairs, true_pairs = pairs(Counter(predicted)), pairs(Counter(truth))
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


# --------------------------------------------------------------------------------------------------
# Annotated logs: small hand-labelled ground truth for formats that Loghub lacks
# --------------------------------------------------------------------------------------------------

ANNOTATED_SEVERITY = {"-": "", "w": "warning", "e": "error", "c": "critical"}
_ESCAPES = {"⇥": "\t", "␛": "\x1b"}
MESSAGE_MARK = "‖"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass
class AnnotatedLog:
    """A log with its truth, line for line (0-based): ``event`` labels each record line (``None`` for
    continuation and blank lines), ``severity`` its expected severity, ``anchor`` gives each continuation
    line the record it belongs to, and ``message`` the expected message after the header where marked."""

    name: str
    text: str
    event: list[str | None] = field(default_factory=list)
    severity: list[str] = field(default_factory=list)
    anchor: list[int | None] = field(default_factory=list)
    message: list[str | None] = field(default_factory=list)


def parse_annotated(source: str, name: str = "") -> AnnotatedLog:
    """Read the annotated format: one log line per annotated line, ``LABEL SEV | raw line``.

    ``LABEL`` names the event of a record line and ``SEV`` is one of ``- w e c`` (none, warning, error,
    critical); ``+ | raw`` is a line that continues the previous record (a stack frame, the rest of a
    multi-line message), ``+^k | raw`` one that continues the k-th last record (interleaved sources);
    ``~ |`` is a blank line. In the raw text ``‖`` marks where the message starts
    (the header before it; the expected message is compared without ANSI colour codes), ``⇥`` stands
    for a tab and ``␛`` for ESC. Lines starting with ``#`` are
    comments; ``#! crlf`` makes the log's line breaks CRLF."""
    log = AnnotatedLog(name, "")
    raw_lines, newline, recent = [], "\n", []
    for n, line in enumerate(source.splitlines(), 1):
        if line.startswith("#!"):
            newline = "\r\n" if "crlf" in line else newline
            continue
        if line.startswith("#") or not line.strip():
            continue
        label, sep, raw = line.partition("|")
        if not sep:
            raise ValueError(f"{name}:{n}: no '|' in annotated line")
        raw = raw.removeprefix(" ")
        for mark, char in _ESCAPES.items():
            raw = raw.replace(mark, char)
        fields = label.split()
        expected = None
        if MESSAGE_MARK in raw:
            head, _, rest = raw.partition(MESSAGE_MARK)
            raw, expected = head + rest, _ANSI.sub("", rest).strip()
        i = len(raw_lines)
        raw_lines.append(raw)
        log.message.append(expected)
        if fields == ["~"] or (len(fields) == 1 and fields[0].startswith("+")):
            back = int(fields[0][2:] or 1) if fields[0].startswith("+^") else 1
            if fields[0] != "~" and len(recent) < back:
                raise ValueError(f"{name}:{n}: a continuation line without its record")
            log.event.append(None)
            log.severity.append("")
            log.anchor.append(recent[-back] if fields[0] != "~" else None)
            continue
        if len(fields) != 2 or fields[1] not in ANNOTATED_SEVERITY:
            raise ValueError(f"{name}:{n}: expected 'LABEL SEV |', '+ |' or '~ |'")
        log.event.append(fields[0])
        log.severity.append(ANNOTATED_SEVERITY[fields[1]])
        log.anchor.append(None)
        recent.append(i)
    log.text = newline.join(raw_lines) + (newline if raw_lines else "")
    return log


def score_annotated(log: AnnotatedLog, report, messages: Sequence[str | None] | None = None) -> dict[str, float]:
    """How a :class:`~lsp.logs.report.LogReport` of ``log.text`` agrees with the truth, each score in [0, 1]:

    * ``grouping``: grouping accuracy over record lines;
    * ``records``: lines rightly told record (in a template) or continuation (folded into a record);
    * ``severity``: record lines with their expected severity (the severity of the error group holding
      them, ``""`` outside error groups);
    * ``error_groups``: F1 of reported against expected error groups, where a group matches when its
      lines and severity are the expected ones and its sample's stack trace holds exactly the lines that
      continue the sample;
    * ``header``: marked lines whose message (``messages``, as the analyser split it) is the expected one.
    """
    n = len(log.event)
    template_of: dict[int, object] = {}
    for t in report.templates:
        for line in t.lines:
            template_of[line - 1] = t.id
    records = [i for i in range(n) if log.event[i] is not None]
    blank = {i for i in range(n) if log.event[i] is None and log.anchor[i] is None}
    scores = {"grouping": grouping_accuracy([log.event[i] for i in records],
                                            [template_of.get(i, ("none", i)) for i in records])}
    scored = [i for i in range(n) if i not in blank]
    scores["records"] = sum((i in template_of) == (log.event[i] is not None) for i in scored) / max(1, len(scored))
    severity_of = {line - 1: g.severity for g in report.error_groups for line in g.lines}
    scores["severity"] = sum(severity_of.get(i, "") == log.severity[i] for i in records) / max(1, len(records))
    continuation: dict[int, list[int]] = defaultdict(list)
    for i, a in enumerate(log.anchor):
        if a is not None:
            continuation[a].append(i + 1)
    expected: dict[str, list[int]] = defaultdict(list)
    for i in records:
        if log.severity[i]:
            expected[log.event[i]].append(i)
    wanted = {(tuple(i + 1 for i in idx), max((log.severity[i] for i in idx), key=SEVERITY_RANK.__getitem__))
              for idx in expected.values()}
    matched = sum((tuple(g.lines), g.severity) in wanted and g.stack_trace == continuation.get(g.sample_line - 1, [])
                  for g in report.error_groups)
    precision = matched / len(report.error_groups) if report.error_groups else 1.0
    recall = matched / len(wanted) if wanted else 1.0
    scores["error_groups"] = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    if messages is not None:
        marked = [i for i in range(n) if log.message[i] is not None]
        scores["header"] = sum(messages[i] == log.message[i] for i in marked) / len(marked) if marked else 1.0
    return scores



def flagged_counts(failure: Sequence[bool], report, min_severity: str = "warning") -> tuple[int, int, int]:
    """Lines a report's error groups flag (at ``min_severity`` or worse), how many of them are failures,
    and how many failures there are, against hand labels: ``failure[i]`` says whether line ``i + 1``
    reports a failure."""
    floor = SEVERITY_RANK[min_severity]
    flagged = {line - 1 for g in report.error_groups if SEVERITY_RANK[g.severity] >= floor for line in g.lines}
    failed = {i for i, f in enumerate(failure) if f}
    return len(flagged), len(flagged & failed), len(failed)


def flagged_precision_recall(failure: Sequence[bool], report, min_severity: str = "warning") -> tuple[float, float]:
    """Precision and recall of the flagged lines (see :func:`flagged_counts`); precision is 1.0 when nothing
    is flagged, recall 1.0 when nothing failed."""
    flagged, hits, failed = flagged_counts(failure, report, min_severity)
    return (hits / flagged if flagged else 1.0), (hits / failed if failed else 1.0)

"""The one definition of Aletheia's three assistant tasks: their prompts and their answer formats.

The language server builds its requests with these functions, training builds its examples with them,
and evaluation parses answers with them, so the model is trained on exactly what the editor sends.
Standard library only: this module is imported by every package, including the light LSP install.

Tasks
-----
* ``QuestionTask``  - a free question, optionally about a selection of code or a file, optionally with
  passages retrieved from the knowledge base (the retrieved-context form: ``retrieved_context``, numbered
  ``[n]`` passages under ``GROUNDING_INSTRUCTIONS``; the answer cites them as ``[n]``, see ``parse_citations``).
* ``ConfigReviewTask`` - review of a config file (Dockerfile, Kubernetes, compose, nginx, systemd, ...),
  given its text and the static analyser's findings. Answer: one ``Finding`` per defect.
* ``LogAnalysisTask`` - analysis of a log excerpt around an error. Answer: root cause, evidence lines, fix.

Answer formats are plain markdown that a human reads happily and a parser reads reliably:

Config review::

    - line 12: [no-root-user] The container runs as root. Fix: add `USER app` before CMD.
    - line 3: The base image uses the mutable `latest` tag. Fix: pin a version, e.g. `python:3.12-slim`.

    Summary: ...

Log analysis::

    Root cause: The NameNode ran out of heap while replaying the edit log.
    Evidence: lines 14, 15, 22
    Fix: Raise HADOOP_NAMENODE_OPTS -Xmx or trim the edit log with a checkpoint.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

SYSTEM_PROMPT = (
    "You are Aletheia, an assistant for systems and backend engineers. "
    "Answer precisely and concisely, name concrete commands, options and line numbers, "
    "and say so when you are not sure."
)

ConfigKind = Literal["dockerfile", "kubernetes", "compose", "nginx", "systemd", "yaml", "json", "toml", "other"]

CONFIG_KIND_NAMES: dict[str, str] = {
    "dockerfile": "Dockerfile",
    "kubernetes": "Kubernetes manifest",
    "compose": "docker-compose file",
    "nginx": "nginx configuration",
    "systemd": "systemd unit",
    "yaml": "YAML file",
    "json": "JSON file",
    "toml": "TOML file",
    "other": "configuration file",
}

# Code-fence languages for each config kind (what an editor would highlight).
_FENCE_LANG = {
    "dockerfile": "dockerfile",
    "kubernetes": "yaml",
    "compose": "yaml",
    "nginx": "nginx",
    "systemd": "ini",
    "yaml": "yaml",
    "json": "json",
    "toml": "toml",
    "other": "",
}

Message = dict[str, str]


def number_lines(text: str, start: int = 1) -> str:
    """Prefix each line with its 1-based number, the way the model is asked to cite lines."""
    lines = text.splitlines()
    width = len(str(start + max(len(lines) - 1, 0)))
    return "\n".join(f"{i:>{width}} | {line}" for i, line in enumerate(lines, start))


# --------------------------------------------------------------------------------------------------
# Question answering
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passage:
    """A retrieved passage the answer may use: its text and where it comes from (for the citation)."""

    text: str
    source: str  # e.g. "proc(5)" or "docs/deploy.md"
    line_start: int = 0
    line_end: int = 0
    title: str = ""  # heading path, e.g. "Deploying > Rollback"

    def header(self) -> str:
        lines = ""
        if self.line_start:
            lines = f", line {self.line_start}" if self.line_end in (0, self.line_start) \
                else f", lines {self.line_start}-{self.line_end}"
        title = f" ({self.title})" if self.title else ""
        return f"{self.source}{lines}{title}"


GROUNDING_INSTRUCTIONS = (
    "Answer only from the numbered passages below. After each claim, cite the passage it comes from by its "
    "number in brackets, like [1]. If the passages do not contain the answer, say that they do not contain it "
    "instead of guessing."
)


def retrieved_context(passages: Iterable[Passage]) -> str:
    """The retrieved-context form: numbered passages, each under a header naming its source and lines."""
    return "\n\n".join(f"[{i}] {p.header()}\n{p.text.strip()}" for i, p in enumerate(passages, 1))


_CITATION_RE = re.compile(r"\[(\d{1,3})\]")


def parse_citations(answer: str) -> list[tuple[int, int, int]]:
    """``[n]`` markers in an answer: (passage number, start index, end index) each."""
    return [(int(m.group(1)), m.start(), m.end()) for m in _CITATION_RE.finditer(answer)]


@dataclass(frozen=True)
class QuestionTask:
    question: str
    context: str = ""  # selected code or text, optional
    path: str = ""  # file the context came from, optional
    language: str = ""  # fence language for the context, optional
    passages: tuple[Passage, ...] = ()  # retrieved from the knowledge base, optional

    def user_prompt(self) -> str:
        parts = [self.question.strip()]
        if self.context.strip():
            where = f" from `{self.path}`" if self.path else ""
            parts.append(f"Context{where}:\n```{self.language}\n{self.context.rstrip()}\n```")
        if self.passages:
            parts.append(f"{GROUNDING_INSTRUCTIONS}\n\n{retrieved_context(self.passages)}")
        return "\n\n".join(parts)

    def messages(self, answer: str | None = None) -> list[Message]:
        return _messages(self.user_prompt(), answer)


# --------------------------------------------------------------------------------------------------
# Config review
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One defect in a config file. ``line`` is 1-based; ``rule`` is a static rule id when one applies."""

    line: int
    message: str
    fix: str = ""
    rule: str = ""

    def render(self) -> str:
        rule = f"[{self.rule}] " if self.rule else ""
        message = self.message.strip()
        if message and message[-1] not in ".!?":
            message += "."
        fix = f" Fix: {self.fix.strip()}" if self.fix.strip() else ""
        return f"- line {self.line}: {rule}{message}{fix}"


@dataclass(frozen=True)
class ConfigReviewTask:
    kind: str  # one of ConfigKind
    content: str
    path: str = ""
    static_findings: tuple[Finding, ...] = ()

    def user_prompt(self) -> str:
        name = CONFIG_KIND_NAMES.get(self.kind, CONFIG_KIND_NAMES["other"])
        where = f" `{self.path}`" if self.path else ""
        lines = [
            f"Review this {name}{where} for bugs, security and reliability problems.",
            "Answer with one line per defect in the form `- line N: problem. Fix: change.`, "
            "then a one-sentence summary. If it has no defects, say `No defects found.`",
            "",
            f"```{_FENCE_LANG.get(self.kind, '')}",
            number_lines(self.content),
            "```",
        ]
        if self.static_findings:
            lines += ["", "Static analysis already reported:"]
            lines += [f.render() for f in self.static_findings]
        return "\n".join(lines)

    def messages(self, answer: str | None = None) -> list[Message]:
        return _messages(self.user_prompt(), answer)


def format_config_review_answer(findings: Iterable[Finding], summary: str = "") -> str:
    findings = sorted(findings, key=lambda f: f.line)
    if not findings:
        return "No defects found." + (f"\n\nSummary: {summary.strip()}" if summary.strip() else "")
    body = "\n".join(f.render() for f in findings)
    return body + (f"\n\nSummary: {summary.strip()}" if summary.strip() else "")


_FINDING_RE = re.compile(
    r"^\s*[-*]\s*(?:\*\*)?line\s+(?P<line>\d+)(?:\*\*)?\s*[:.)-]\s*(?:\[(?P<rule>[\w.\-/]+)\]\s*)?(?P<rest>.*)$",
    re.IGNORECASE,
)


def parse_config_review_answer(text: str) -> list[Finding]:
    """Findings named in a review answer. Tolerant of bold markers and missing fixes."""
    findings = []
    for raw in text.splitlines():
        m = _FINDING_RE.match(raw)
        if not m:
            continue
        rest = m.group("rest").strip()
        message, _, fix = rest.partition("Fix:")
        findings.append(
            Finding(line=int(m.group("line")), message=message.strip(), fix=fix.strip(), rule=m.group("rule") or "")
        )
    return findings


# --------------------------------------------------------------------------------------------------
# Log analysis
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogAnalysisTask:
    """A log excerpt to explain. ``first_line`` is the 1-based line number of the excerpt's first line
    in its file, so the answer's evidence lines are the file's own line numbers."""

    excerpt: str
    source: str = ""  # system or file name, e.g. "HDFS" or "/var/log/nginx/error.log"
    first_line: int = 1
    error_summary: str = ""  # e.g. the error group's template and count, from the log analyser
    focus_lines: tuple[int, ...] = field(default_factory=tuple)

    def user_prompt(self) -> str:
        src = f" from {self.source}" if self.source else ""
        lines = [
            f"Explain the error in this log excerpt{src}.",
            "Answer in three lines: `Root cause: ...`, `Evidence: lines N, M` and `Fix: ...`.",
        ]
        if self.error_summary.strip():
            lines.append(f"The error group: {self.error_summary.strip()}")
        if self.focus_lines:
            lines.append("Look first at lines " + ", ".join(map(str, self.focus_lines)) + ".")
        lines += ["", "```", number_lines(self.excerpt, self.first_line), "```"]
        return "\n".join(lines)

    def messages(self, answer: str | None = None) -> list[Message]:
        return _messages(self.user_prompt(), answer)


@dataclass(frozen=True)
class LogAnswer:
    root_cause: str
    evidence_lines: tuple[int, ...] = ()
    fix: str = ""

    def render(self) -> str:
        ev = ", ".join(map(str, self.evidence_lines)) or "none"
        out = f"Root cause: {self.root_cause.strip()}\nEvidence: lines {ev}"
        if self.fix.strip():
            out += f"\nFix: {self.fix.strip()}"
        return out


def format_log_answer(answer: LogAnswer) -> str:
    return answer.render()


_FIELD_RE = re.compile(r"^\s*(?:[-*]\s*)?(?:\*\*)?(root cause|evidence|fix)(?:\*\*)?\s*:\s*(?:\*\*)?\s*(.*)$", re.IGNORECASE)


def parse_log_answer(text: str) -> LogAnswer:
    fields: dict[str, str] = {}
    for raw in text.splitlines():
        m = _FIELD_RE.match(raw)
        if m and m.group(1).lower() not in fields:
            fields[m.group(1).lower()] = m.group(2).strip()
    evidence = tuple(int(n) for n in re.findall(r"\d+", fields.get("evidence", "")))
    return LogAnswer(root_cause=fields.get("root cause", ""), evidence_lines=evidence, fix=fields.get("fix", ""))


# --------------------------------------------------------------------------------------------------


def _messages(user: str, answer: str | None) -> list[Message]:
    msgs: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]
    if answer is not None:
        msgs.append({"role": "assistant", "content": answer})
    return msgs

"""Static config analysis: detect what a file is, run that kind's rules, never raise.

    from lsp.analysers import analyse
    result = analyse(text, path="k8s/deploy.yaml")   # -> Analysis(kind, findings, analysed_lines, ...)

Pure functions with no LSP dependency: the language server, the CLI (`python -m lsp check`) and the
benchmark all call ``analyse``. Rules live one module per kind; the catalogue is ``RULES`` (lsp/RULES.md).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field, replace

from . import compose, dockerfile, kubernetes, nginx, syntax, systemd, templates
from .findings import RULES, SEVERITY_ORDER, Fix, Lines, Rule, Span, StaticFinding, TextEdit, finding, rule
from .yaml_nodes import YamlSyntaxError, compose_documents

__all__ = [
    "RULES",
    "Analysis",
    "Fix",
    "Rule",
    "Span",
    "StaticFinding",
    "TextEdit",
    "analyse",
    "analyse_bytes",
    "decode",
    "detect_kind",
]

R_TRUNCATED = rule(
    "GEN001",
    "general/truncated",
    "info",
    "The file is larger than the analysis limit; only its start was checked.",
)
R_BINARY = rule("GEN002", "general/binary", "info", "The file looks binary; it was not analysed.")
R_ENCODING = rule(
    "GEN003", "general/not-utf8", "warning", "The file is not valid UTF-8; invalid bytes were replaced."
)
R_INTERNAL = rule(
    "GEN004", "general/analyser-error", "info", "An analyser failed on this input (a bug: please report it)."
)

MAX_BYTES = 2_000_000
MAX_LINES = 50_000
_BOM = "\ufeff"

_YAML_EXT = (".yaml", ".yml")
_COMPOSE_NAME = re.compile(r"^(?:docker-)?compose(?:[.\-_][\w.\-]+)?\.ya?ml$")
_DOCKERFILE_START = re.compile(r"\A(?:\s*(?:#[^\n]*)?\n)*\s*(?:FROM|ARG)\s+\S", re.IGNORECASE)


@dataclass
class Analysis:
    kind: str
    findings: list[StaticFinding] = field(default_factory=list)
    analysed_lines: int = 0
    total_lines: int = 0
    truncated: bool = False

    @property
    def has_errors(self) -> bool:
        return any(f.severity == "error" for f in self.findings)

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "truncated": self.truncated,
            "analysed_lines": self.analysed_lines,
            "total_lines": self.total_lines,
            "findings": [f.to_dict() for f in self.findings],
        }


def decode(data: bytes) -> tuple[str, bool]:
    """Text of ``data`` and whether it was valid UTF-8 (invalid bytes become U+FFFD)."""
    try:
        return data.decode("utf-8-sig"), True
    except UnicodeDecodeError:
        return data.decode("utf-8", errors="replace"), False


def looks_binary(text: str) -> bool:
    sample = text[:8192]
    if "\x00" in sample:
        return True
    if not sample:
        return False
    control = sum(1 for ch in sample if ord(ch) < 32 and ch not in "\t\n\r\f\v")
    replaced = sample.count("\ufffd")  # invalid UTF-8 bytes: a few in text files, most of a binary file
    return control / len(sample) > 0.10 or replaced / len(sample) > 0.30


def detect_kind(path: str = "", text: str = "", language_id: str = "") -> str:
    """One of dockerfile, kubernetes, compose, nginx, systemd, yaml, json, toml, log, other."""
    text = text.removeprefix(_BOM)
    name = posixpath.basename(path.replace("\\", "/")).lower()
    lang = (language_id or "").lower()
    lowered_path = path.replace("\\", "/").lower()
    if (
        lang == "dockerfile"
        or name in ("dockerfile", "containerfile")
        or name.startswith(("dockerfile.", "dockerfile-", "containerfile.", "containerfile-"))
        or name.endswith((".dockerfile", ".containerfile"))
    ):
        return "dockerfile"
    if lang == "log" or name.endswith(".log") or re.search(r"\.log\.\d+$", name):
        return "log"
    if (
        lang in ("systemd", "systemd-unit-file")
        or name.endswith(systemd.UNIT_SUFFIXES + tuple(s + ".in" for s in systemd.UNIT_SUFFIXES))
        or systemd.is_drop_in(path)
    ):
        return "systemd"
    if (
        lang == "nginx"
        or name == "nginx.conf"
        or re.search(r"(?:^|/)sites-(?:available|enabled)/", lowered_path)
        or name.endswith(".nginx")
        or (re.search(r"(?:^|/)nginx/", lowered_path) and name.endswith((".conf", ".conf.template")))
    ):
        return "nginx"
    if lang == "json" or name.endswith(".json"):
        return "json"
    if lang == "toml" or name.endswith(".toml"):
        return "toml"
    if _COMPOSE_NAME.match(name):
        return "compose"
    if lang in ("yaml", "dockercompose") or name.endswith(_YAML_EXT):
        return "yaml"  # refined to kubernetes/compose by content in analyse()
    if name.endswith((".conf", ".conf.template")) and nginx.looks_like_nginx(text):
        return "nginx"
    # No telling name: sniff the content.
    if _DOCKERFILE_START.match(text):
        return "dockerfile"
    if systemd.looks_like_systemd(text):
        return "systemd"
    if nginx.looks_like_nginx(text):
        return "nginx"
    if re.search(r"^apiVersion:\s*\S+", text, re.MULTILINE) and re.search(
        r"^kind:\s*\S+", text, re.MULTILINE
    ):
        return "yaml"
    return "other"


def _cap(text: str) -> tuple[str, bool, int]:
    total = text.count("\n") + 1
    if len(text) <= MAX_BYTES and total <= MAX_LINES:
        return text, False, total
    cut = text[:MAX_BYTES]
    parts = cut.split("\n")[:MAX_LINES]
    if len(cut) == MAX_BYTES and len(parts) > 1:
        parts = parts[:-1]  # drop the partial last line
    return "\n".join(parts), True, total


def analyse(text: str, path: str = "", language_id: str = "", *, kind: str | None = None) -> Analysis:
    """All static findings for one document. Never raises; bad input becomes findings."""
    if text.startswith(_BOM):
        # A byte-order mark is no part of the first instruction, key or section header: analyse without it
        # and report columns of the document as given (the BOM is its first character).
        result = analyse(text[1:], path, language_id, kind=kind)
        result.findings = [_shift_first_line(f) for f in result.findings]
        return result
    kind = kind or detect_kind(path, text, language_id)
    body, truncated, total = _cap(text)
    result = Analysis(kind=kind, total_lines=total, analysed_lines=body.count("\n") + 1, truncated=truncated)
    if looks_binary(body):
        result.findings.append(
            finding(
                R_BINARY,
                "This file looks binary (NUL or control bytes); it was not analysed.",
                Span(0, 0, 0, 0),
            )
        )
        return result
    if truncated:
        result.findings.append(
            finding(
                R_TRUNCATED,
                f"Only the first {result.analysed_lines:,} of {total:,} lines "
                f"(at most {MAX_BYTES:,} characters) were analysed.",
                Span(0, 0, 0, 0),
            )
        )
    try:
        result.kind, found = _run_rules(kind, body, path)
        result.findings.extend(found)
    except Exception as e:  # noqa: BLE001 - a safety net: an analyser bug must not take the editor's server down
        result.findings.append(
            finding(R_INTERNAL, f"The {kind} analyser failed: {type(e).__name__}: {e}", Span(0, 0, 0, 0))
        )
    result.findings.sort(key=lambda f: (f.span.line, f.span.col, SEVERITY_ORDER[f.severity], f.rule))
    return result


def _shift_first_line(f: StaticFinding) -> StaticFinding:
    """``f`` with its first-line columns moved one to the right (past a BOM); file-level spans stay."""

    def shift(span: Span) -> Span:
        if span == Span(0, 0, 0, 0):
            return span
        return Span(
            span.line, span.col + (span.line == 0), span.end_line, span.end_col + (span.end_line == 0)
        )

    fix = f.fix and Fix(f.fix.title, tuple(TextEdit(shift(e.span), e.new_text) for e in f.fix.edits))
    return replace(f, span=shift(f.span), fix=fix)


def analyse_bytes(data: bytes, path: str = "", language_id: str = "") -> Analysis:
    text, valid = decode(data)
    result = analyse(text, path, language_id)
    if not valid and not any(f.rule == R_BINARY.id for f in result.findings):
        result.findings.insert(
            0,
            finding(
                R_ENCODING,
                "The file is not valid UTF-8: invalid bytes were replaced with U+FFFD before analysis.",
                Span(0, 0, 0, 0),
            ),
        )
    return result


def _run_rules(kind: str, text: str, path: str) -> tuple[str, list[StaticFinding]]:
    if kind == "dockerfile":
        return kind, dockerfile.analyse_dockerfile(text)
    if kind == "systemd":
        return kind, systemd.analyse_unit(text, path)
    if kind == "nginx":
        return kind, nginx.analyse_nginx(text)
    if kind == "json":
        return kind, syntax.analyse_json(text)
    if kind == "toml":
        return kind, syntax.analyse_toml(text)
    if kind in ("yaml", "kubernetes", "compose"):
        return _analyse_yaml(kind, text)
    return kind, []


def _analyse_yaml(kind: str, text: str) -> tuple[str, list[StaticFinding]]:
    lines = Lines(text)
    try:
        docs = compose_documents(text)
    except YamlSyntaxError as e:
        if templates.has_actions(text):
            return _analyse_template(kind, text)
        return kind, [syntax.yaml_error(lines, e.message, e.line, e.col)]
    if templates.has_control_lines(text):
        return _analyse_template(kind, text)
    if kind != "compose" and any(kubernetes.is_manifest(d) for d in docs):
        return "kubernetes", kubernetes.analyse_manifests(docs)
    if kind == "compose" or (len(docs) == 1 and compose.is_compose(docs[0])):
        return "compose", [f for d in docs for f in compose.analyse_compose(d)]
    return kind, []


def _analyse_template(kind: str, text: str) -> tuple[str, list[StaticFinding]]:
    """A Helm/Go-templated manifest is not YAML until it is rendered: blank its actions out and judge
    only what the text itself sets; if even that does not parse, say nothing rather than guess."""
    try:
        docs = compose_documents(templates.neutralise(text))
    except YamlSyntaxError:
        return ("kubernetes" if templates.looks_like_manifest(text) else kind), []
    if any(kubernetes.is_manifest(d) for d in docs):
        return "kubernetes", kubernetes.analyse_manifests(docs, template=True)
    return kind, []

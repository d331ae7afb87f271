"""Turning analyser output into LSP objects: diagnostics, quick-fix code actions, log error-group diagnostics."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument

from .analysers import Analysis, Span, StaticFinding
from .analysers.findings import split_lines

SOURCE = "aletheia"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "critical": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
LOG_GROUP_CODE = "log/error-group"


class RangeConverter:
    """Spans in code points -> LSP ranges in the client's encoding (UTF-16 unless negotiated otherwise).

    Splits the document once (pygls re-splits it on every conversion) and skips ASCII lines."""

    def __init__(self, doc: TextDocument):
        self.doc = doc
        self.codec = doc.position_codec
        self.lines = split_lines(doc.source)

    def _char(self, line: int, col: int) -> int:
        text = self.lines[line] if 0 <= line < len(self.lines) else ""
        if text.isascii() or self.codec.encoding == types.PositionEncodingKind.Utf32:
            return col
        return self.codec.client_num_units(text[:col])

    def __call__(self, span: Span) -> types.Range:
        return types.Range(
            types.Position(span.line, self._char(span.line, span.col)),
            types.Position(span.end_line, self._char(span.end_line, span.end_col)),
        )


def to_diagnostic(conv: RangeConverter, f: StaticFinding) -> types.Diagnostic:
    return types.Diagnostic(
        range=conv(f.span),
        message=f.message,
        severity=_SEVERITY[f.severity],
        code=f.rule,
        source=SOURCE,
        data={"rule": f.rule, "name": f.name, **({"fix": f.fix.title} if f.fix else {})},
    )


def config_diagnostics(doc: TextDocument, analysis: Analysis) -> list[types.Diagnostic]:
    conv = RangeConverter(doc)
    return [to_diagnostic(conv, f) for f in analysis.findings]


def log_diagnostics(doc: TextDocument, report) -> list[types.Diagnostic]:
    out = []
    conv = RangeConverter(doc)
    for g in report.error_groups:
        line = max(g.first_line - 1, 0)
        text = conv.lines[line] if line < len(conv.lines) else ""
        span = Span.on_line(line, 0, len(text))
        trace = f" (stack trace on lines {g.stack_trace[0]}-{g.stack_trace[-1]})" if g.stack_trace else ""
        plural = "occurrence" if g.count == 1 else "occurrences"
        out.append(
            types.Diagnostic(
                range=conv(span),
                message=f"{g.count} {plural} of: {g.template}{trace}",
                severity=_SEVERITY.get(g.severity, types.DiagnosticSeverity.Warning),
                code=LOG_GROUP_CODE,
                source=SOURCE,
                data={"groupId": g.id, "lines": g.lines[:50]},
            )
        )
    if report.partial:
        out.append(
            types.Diagnostic(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                message=f"First {report.analysed_lines:,} lines analysed; the rest of the log is being analysed.",
                severity=types.DiagnosticSeverity.Information,
                code="log/partial",
                source=SOURCE,
            )
        )
    elif report.truncated:
        out.append(
            types.Diagnostic(
                range=types.Range(types.Position(0, 0), types.Position(0, 0)),
                message=f"Only the first {report.analysed_lines:,} of {report.total_lines:,} lines were analysed.",
                severity=types.DiagnosticSeverity.Information,
                code="log/truncated",
                source=SOURCE,
            )
        )
    return out


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and (
        b.start.line,
        b.start.character,
    ) <= (a.end.line, a.end.character)


def quick_fixes(doc: TextDocument, analysis: Analysis, rng: types.Range) -> list[types.CodeAction]:
    actions = []
    conv = RangeConverter(doc)
    for f in analysis.findings:
        if f.fix is None:
            continue
        diag = to_diagnostic(conv, f)
        if not _overlaps(diag.range, rng):
            continue
        edits = [types.TextEdit(range=conv(e.span), new_text=e.new_text) for e in f.fix.edits]
        actions.append(
            types.CodeAction(
                title=f"{f.fix.title} ({f.rule})",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[diag],
                edit=types.WorkspaceEdit(changes={doc.uri: edits}),
                is_preferred=True,
            )
        )
    return actions

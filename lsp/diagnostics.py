"""Turning analyser output into LSP objects: diagnostics, quick-fix code actions, log error-group diagnostics."""

from __future__ import annotations

from lsprotocol import types
from pygls.workspace import TextDocument

from .analysers import Analysis, Span, StaticFinding

SOURCE = "aletheia"
_SEVERITY = {
    "error": types.DiagnosticSeverity.Error,
    "critical": types.DiagnosticSeverity.Error,
    "warning": types.DiagnosticSeverity.Warning,
    "info": types.DiagnosticSeverity.Information,
    "hint": types.DiagnosticSeverity.Hint,
}
LOG_GROUP_CODE = "log/error-group"


def lsp_range(doc: TextDocument, span: Span) -> types.Range:
    """A span in code points, converted to the client's position encoding (UTF-16 unless negotiated)."""
    rng = types.Range(types.Position(span.line, span.col), types.Position(span.end_line, span.end_col))
    try:
        return doc.range_to_client_units(rng)
    except (IndexError, ValueError):
        return rng


def to_diagnostic(doc: TextDocument, f: StaticFinding) -> types.Diagnostic:
    return types.Diagnostic(
        range=lsp_range(doc, f.span),
        message=f.message,
        severity=_SEVERITY[f.severity],
        code=f.rule,
        source=SOURCE,
        data={"rule": f.rule, "name": f.name, **({"fix": f.fix.title} if f.fix else {})},
    )


def config_diagnostics(doc: TextDocument, analysis: Analysis) -> list[types.Diagnostic]:
    return [to_diagnostic(doc, f) for f in analysis.findings]


def log_diagnostics(doc: TextDocument, report) -> list[types.Diagnostic]:
    out = []
    for g in report.error_groups:
        line = max(g.first_line - 1, 0)
        text = doc.lines[line] if line < len(doc.lines) else ""
        span = Span.on_line(line, 0, len(text.rstrip("\r\n")))
        trace = f" (stack trace on lines {g.stack_trace[0]}-{g.stack_trace[-1]})" if g.stack_trace else ""
        plural = "occurrence" if g.count == 1 else "occurrences"
        out.append(types.Diagnostic(
            range=lsp_range(doc, span),
            message=f"{g.count} {plural} of: {g.template}{trace}",
            severity=_SEVERITY.get(g.severity, types.DiagnosticSeverity.Warning),
            code=LOG_GROUP_CODE,
            source=SOURCE,
            data={"groupId": g.id, "lines": g.lines[:50]},
        ))
    if report.truncated:
        out.append(types.Diagnostic(
            range=types.Range(types.Position(0, 0), types.Position(0, 0)),
            message=f"Only the first {report.analysed_lines:,} of {report.total_lines:,} lines were analysed.",
            severity=types.DiagnosticSeverity.Information, code="log/truncated", source=SOURCE))
    return out


def _overlaps(a: types.Range, b: types.Range) -> bool:
    return (a.start.line, a.start.character) <= (b.end.line, b.end.character) and \
        (b.start.line, b.start.character) <= (a.end.line, a.end.character)


def quick_fixes(doc: TextDocument, analysis: Analysis, rng: types.Range) -> list[types.CodeAction]:
    actions = []
    for f in analysis.findings:
        if f.fix is None:
            continue
        diag = to_diagnostic(doc, f)
        if not _overlaps(diag.range, rng):
            continue
        edits = [types.TextEdit(range=lsp_range(doc, e.span), new_text=e.new_text) for e in f.fix.edits]
        actions.append(types.CodeAction(
            title=f"{f.fix.title} ({f.rule})",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[diag],
            edit=types.WorkspaceEdit(changes={doc.uri: edits}),
            is_preferred=True,
        ))
    return actions

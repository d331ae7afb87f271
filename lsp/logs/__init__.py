"""Log analysis for the language server: header stripping, variable masking, template mining (Drain),
error grouping with stack traces, and excerpts for the model. Standard library + ``drain3`` only.

    from lsp.logs import analyse_log, context_excerpt
    report = analyse_log(text, source="app.log")
    for group in report.error_groups: ...
"""

from lsp.logs.report import ErrorGroup, LogReport, TemplateGroup, analyse_log, context_excerpt, split_lines

__all__ = ["ErrorGroup", "LogReport", "TemplateGroup", "analyse_log", "context_excerpt", "split_lines"]

"""Log analysis for the language server: header stripping, variable masking, template mining (Drain),
error grouping with stack traces, and excerpts for the model. Standard library + ``drain3`` only.

    from lsp.logs import analyse_log, context_excerpt
    report = analyse_log(text, source="app.log")        # never raises; report.failure says if it broke
    for group in report.error_groups:                   # worst severity first, then earliest (root cause first)
        excerpt, first_line = context_excerpt(text, group.sample_line)

Modules: ``framing`` (ANSI codes, the prefixes and wrappers of log collectors), ``headers`` (header layouts
per stream), ``columns`` (header columns learned from the file), ``structured`` (JSON lines, logfmt),
``levels`` (level words and numbers), ``masking`` (variables to ``<*>``), ``mining`` (Drain and the merge
of variable positions), ``errors`` (severity, stack traces), ``report`` (the pipeline and its result
types), ``passes`` (a quick pass on a big log's first lines), ``metrics`` (Loghub grouping accuracy and the
scores of annotated logs, used by tests and ``benchmarks/loghub_grouping.py``).
"""

from lsp.logs.report import ErrorGroup, LogReport, TemplateGroup, analyse_log, context_excerpt, split_lines

__all__ = ["ErrorGroup", "LogReport", "TemplateGroup", "analyse_log", "context_excerpt", "split_lines"]

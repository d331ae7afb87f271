"""Big logs in two passes: a quick report on the first lines, so that an editor shows the first error
groups within seconds, then the report on the whole text.

    for report in analyse_in_passes(text, source="app.log"):   # one report, or a partial one first
        publish(report)
"""

from __future__ import annotations

from collections.abc import Iterator

from lsp.logs.report import LogReport, analyse_log

QUICK_PASS_LINES = 20_000  # lines of the quick pass (a few seconds of analysis)


def _end_of_line(text: str, n: int) -> int | None:
    """The offset just past the ``n``-th line break of ``text``, or ``None`` when no text follows it."""
    pos = 0
    for _ in range(n):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return None
    return pos if pos < len(text) else None


def analyse_in_passes(text: str, *, source: str = "", quick_lines: int = QUICK_PASS_LINES,
                      max_lines: int = 200_000) -> Iterator[LogReport]:
    """Yield, when ``text`` has more than ``quick_lines`` lines (and ``max_lines`` allows more), the
    report of its first ``quick_lines`` lines marked ``partial``; then the report of the whole text (up
    to ``max_lines``)."""
    cut = _end_of_line(text, quick_lines) if 0 < quick_lines < max_lines else None
    if cut is not None:
        quick = analyse_log(text[:cut], source=source, max_lines=quick_lines)
        quick.partial = True
        yield quick
    yield analyse_log(text, source=source, max_lines=max_lines)

"""Chunking by structure: heading paths, line spans, the window never exceeded, nothing dropped; man pages
one chunk per entry."""

from __future__ import annotations

import re
import shutil

import pytest

from server.kb import manpages
from server.kb.chunking import chunk_document


def count(text: str) -> int:
    """A stand-in for the word-piece count ([CLS] and [SEP] included): one per word or punctuation mark."""
    return len(re.findall(r"\w+|[^\w\s]", text)) + 2


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


MARKDOWN = """\
# Runbook

Intro line.

## Deploying

Run `make deploy`.

```bash
# not a heading: a comment in a fence
make deploy ENV=prod
```

### Rollback

Use `kubectl rollout undo deployment/api`.

Other
-----

Setext section body.
"""


def test_markdown_sections_keep_their_heading_path_and_lines():
    chunks = chunk_document(MARKDOWN, ".md", "runbook.md", count, 256)
    titles = [c.title for c in chunks]
    assert titles == ["runbook.md > Runbook", "runbook.md > Runbook > Deploying",
                      "runbook.md > Runbook > Deploying > Rollback", "runbook.md > Runbook > Other"]
    deploying = chunks[1]
    assert "# not a heading" in deploying.body  # the fence's comment stays in the body
    lines = MARKDOWN.splitlines()
    assert lines[deploying.line_start - 1] == "Run `make deploy`."
    assert lines[deploying.line_end - 1] == "```"
    rollback = chunks[2]
    assert rollback.line_start == rollback.line_end == 16
    assert chunks[3].body == "Setext section body."


def test_rst_titles_nest_by_adornment_order():
    text = "Guide\n=====\n\nIntro.\n\nInstall\n-------\n\nRun pip.\n\nUpgrade\n-------\n\nRun pip -U.\n"
    chunks = chunk_document(text, ".rst", "guide.rst", count, 256)
    assert [c.title for c in chunks] == ["guide.rst > Guide", "guide.rst > Guide > Install",
                                         "guide.rst > Guide > Upgrade"]
    assert chunks[2].body == "Run pip -U." and chunks[2].line_start == 14


def test_html_headings_and_no_scripts():
    html = ("<html><head><style>p {}</style><script>var x = 1;</script></head><body>\n<h1>Ops</h1>\n"
            "<p>Check the disk.</p>\n<h2>Disk full</h2>\n<p>Run <code>df -h</code> first.</p>\n</body></html>")
    chunks = chunk_document(html, ".html", "ops.html", count, 256)
    assert [c.title for c in chunks] == ["ops.html > Ops", "ops.html > Ops > Disk full"]
    assert chunks[1].body == "Run df -h first." and chunks[1].line_start == 5
    assert "var x" not in " ".join(c.text for c in chunks)


def test_a_long_section_is_split_under_the_window_and_loses_no_word():
    paragraphs = [" ".join(f"word{p}x{i}" for i in range(90)) for p in range(6)]
    one_long_line = " ".join(f"tok{i}" for i in range(700))
    text = "# Big\n\n" + "\n\n".join(paragraphs) + "\n\n" + one_long_line + "\n"
    chunks = chunk_document(text, ".md", "big.md", count, 64)
    assert len(chunks) > 10
    assert all(count(c.text) <= 64 for c in chunks)
    assert [w for c in chunks for w in words(c.body)] == words(text)[1:]  # every word, in order ("Big" is the title)
    assert all(c.title == "big.md > Big" for c in chunks)


ROFF = r""".TH DEMO 5 2024 "demo 1.0" "File Formats"
.SH NAME
demo \- a demonstration page
.SH DESCRIPTION
The demo file holds settings.
.SS Options
.TP
.B port
The TCP port the daemon listens on.
Defaults to 8080.
.TP
.B timeout
Seconds before an idle connection is closed.
.TP
.B fields
The fields, in order:
.RS
.TP
(1) pid
The process ID, the number the kernel gave the process when it was created; it stays the same
until the process exits and may be reused afterwards.
.TP
(2) comm
The command name, the file name of the executable in parentheses, cut to sixteen characters
whether or not the executable is swapped out.
.RE
.SH SEE ALSO
demo(8)
"""


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is not installed (make test installs groff-base)")
def test_man_page_one_chunk_per_entry_with_nested_entries_when_too_large():
    text = manpages.render(ROFF)
    chunks = manpages.chunk_man_page(text, "demo(5)", count, 256)
    by_title = {c.title: c for c in chunks}
    port = by_title["demo(5) > DESCRIPTION > Options > port"]
    assert "TCP port" in port.body and "8080" in port.body and "Seconds" not in port.body
    assert "Seconds before an idle connection" in by_title["demo(5) > DESCRIPTION > Options > timeout"].body
    assert "demo - a demonstration page" in by_title["demo(5) > NAME"].body
    rendered = text.splitlines()
    assert "port" in rendered[port.line_start - 1]  # lines are the rendered page's
    # with a tiny window, the "fields" entry splits at its own nested entries
    small = manpages.chunk_man_page(text, "demo(5)", count, 64)
    nested = [c.title for c in small if c.title.startswith("demo(5) > DESCRIPTION > Options > fields >")]
    assert nested == ["demo(5) > DESCRIPTION > Options > fields > (1) pid",
                      "demo(5) > DESCRIPTION > Options > fields > (2) comm"]
    assert all(count(c.text) <= 64 for c in small)


def test_man_page_helpers():
    from pathlib import Path

    assert manpages.is_man_page(Path("/usr/share/man/man5/proc.5.gz"))
    assert not manpages.is_man_page(Path("/usr/share/man/de/man5/proc.5.gz"))  # translations are left out
    assert not manpages.is_man_page(Path("/usr/share/man/man5/notes.txt"))
    assert manpages.page_title(Path("proc.5.gz")) == "proc(5)"
    assert manpages.alias_target('.so man5/other.5\n') == "man5/other.5"
    with pytest.raises(manpages.ManPageError, match="gzip"):
        manpages.read_roff_bytes(b"not gzip at all", "broken.5.gz")

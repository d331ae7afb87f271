"""Man pages: found under a man tree, rendered to plain text by groff, chunked one entry per item.

``groff -man -Tutf8`` lays a page out by indentation: section titles (``.SH``) at column 0, subsections
(``.SS``) at 3, paragraphs at 7, and a tagged item (``.TP``, ``.IP``) as its tag at the paragraph indent
with its body deeper. Each item becomes one chunk titled ``page(section) > SECTION > tag``; an item larger
than the embedder's window is split at its own nested items (proc(5)'s ``/proc/pid/stat`` fields), and only
then at paragraphs. Lines are those of the rendered page, as ``man`` shows it.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
from pathlib import Path

from .chunking import Chunk, CountTokens, Line, fit

_PAGE = re.compile(r"^(?P<name>.+)\.(?P<section>\d\w*)(?:\.gz)?$")
_SECTION_DIR = re.compile(r"^man\d\w*$")
_LOCALE = re.compile(r"^[a-z]{2,3}(_[A-Za-z]{2})?([.@].*)?$")
RENDER_WIDTH = 100
TP_INDENT = 7  # groff's default indent of a tagged paragraph's body
DEFAULT_MAN_ROOT = Path("/usr/share/man")
NO_MAN_PAGES_HINT = (
    "no man pages are installed under {root} (slim container images strip them: on Debian/Ubuntu remove the "
    "'path-exclude=/usr/share/man/*' line from /etc/dpkg/dpkg.cfg.d/excludes, then "
    "'apt-get install --reinstall man-db manpages')"
)


class ManPageError(ValueError):
    pass


def is_man_page(path: Path) -> bool:
    """A page file in a section folder (``man5/proc.5.gz``); translations (``man/de/man5``) are left out."""
    translated = _LOCALE.match(path.parent.parent.name) and path.parent.parent.parent.name == "man"
    return bool(_SECTION_DIR.match(path.parent.name) and _PAGE.match(path.name) and not translated)


def page_title(path: Path) -> str:
    m = _PAGE.match(path.name)
    return f"{m.group('name')}({m.group('section')})" if m else path.name


def find_man_pages(root: Path, sections: set[str] | None = None) -> list[Path]:
    """Pages directly under ``root/manN`` (English), optionally only some sections (``{"5", "7", "8"}``)."""
    if not root.is_dir():
        return []
    pages = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and _SECTION_DIR.match(p.name)):
        if sections and folder.name[3:] not in sections and folder.name[3:4] not in sections:
            continue
        pages += sorted(p for p in folder.iterdir() if p.is_file() and _PAGE.match(p.name))
    return pages


def read_roff_bytes(data: bytes, filename: str) -> str:
    """A page's roff source from its file's bytes (gunzipped when the name ends in .gz)."""
    if filename.endswith(".gz"):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ManPageError(f"not a valid gzip file ({exc})") from None
    if b"\0" in data[:4096]:
        raise ManPageError("binary content, not roff")
    return data.decode("utf-8", "replace")


def alias_target(roff: str) -> str | None:
    """``.so man5/other.5``: the page is an alias; indexing the target covers it."""
    first = next((ln for ln in roff.splitlines() if ln.strip() and not ln.startswith(('.\\"', "'\\\""))), "")
    return first[4:].strip() if first.startswith(".so ") else None


def render(roff: str) -> str:
    """Plain text as ``man`` shows it: no bold, underline or colour, left-adjusted, no hyphenation."""
    groff = shutil.which("groff")
    if groff is None:
        raise ManPageError("groff is not installed (apt-get install groff-base)")
    proc = subprocess.run(
        [groff, "-k", "-t", "-man", "-Tutf8", "-P-cbou", f"-rLL={RENDER_WIDTH}n", "-rHY=0", "-dAD=l"],
        input=roff.encode(), capture_output=True, timeout=60, check=False,
    )
    if proc.returncode != 0 or not proc.stdout.strip():
        raise ManPageError(f"groff failed: {proc.stderr.decode(errors='replace').strip()[:200]}")
    return proc.stdout.decode("utf-8", "replace")


def _indent(text: str) -> int:
    return len(text) - len(text.lstrip(" "))


def chunk_man_page(text: str, title: str, count: CountTokens, limit: int) -> list[Chunk]:
    lines: list[Line] = list(enumerate(text.splitlines(), 1))
    content = [i for i, (_, t) in enumerate(lines) if t.strip()]
    if len(content) > 2:  # drop the running header and footer
        lines = lines[content[0] + 1:content[-1]]
    chunks: list[Chunk] = []
    section: list[str] = []
    body: list[Line] = []

    def flush() -> None:
        if body:
            chunks.extend(_items([title, *section], body, count, limit))
            body.clear()

    for n, t in lines:
        ind = _indent(t) if t.strip() else None
        if ind == 0:
            flush()
            section = [t.strip()]
        elif ind is not None and ind <= 4 and section:
            flush()
            section = [section[0], t.strip()]
        else:
            body.append((n, t))
    flush()
    return chunks


def _items(path: list[str], lines: list[Line], count: CountTokens, limit: int) -> list[Chunk]:
    """Split ``lines`` into tagged items (a line at the base indent followed by deeper lines) and prose runs
    (lines at the base indent); prose runs are packed together, each item is its own chunk."""
    nonblank = [(n, t) for n, t in lines if t.strip()]
    if not nonblank:
        return []
    base = min(_indent(t) for _, t in nonblank)
    blocks: list[tuple[str | None, list[Line]]] = []  # (tag or None for prose, lines)
    for i, (n, t) in enumerate(lines):
        if not t.strip():
            if blocks:
                blocks[-1][1].append((n, t))
            continue
        if _indent(t) == base:
            # an item: its tag starts a paragraph and its body follows at once, deeper
            nxt = lines[i + 1][1] if i + 1 < len(lines) else ""
            starts = i == 0 or not lines[i - 1][1].strip()
            tag = _tag(t, base, nxt) if starts else None
            if tag:
                blocks.append((tag, [(n, t)]))
            elif blocks and blocks[-1][0] is None:
                blocks[-1][1].append((n, t))
            else:
                blocks.append((None, [(n, t)]))
        elif blocks:
            blocks[-1][1].append((n, t))
        else:
            blocks.append((None, [(n, t)]))
    out: list[Chunk] = []
    prose: list[Line] = []
    for tag, block in blocks:
        if tag is None:
            prose += block
            continue
        if prose:
            out += fit(path, _dedent(prose), count, limit)
            prose = []
        item_path = [*path, tag[:80]]
        pieces = fit(item_path, _dedent(block), count, limit)
        nested = _items(item_path, block[1:], count, limit) if len(pieces) > 1 and len(block) > 2 else []
        out += nested or pieces  # too large for one chunk: split at its own nested items (the tag is the title)
    if prose:
        out += fit(path, _dedent(prose), count, limit)
    return out


def _tag(line: str, base: int, nxt: str) -> str | None:
    """The tag of an item starting at ``line``, or None for prose. A tag longer than the item indent sits
    alone on its line, the body below it, deeper; a short one shares its line with the body, which starts at
    the item indent (``.TP``'s default, 7) and wraps there."""
    if nxt.strip() and _indent(nxt) > base:
        col = _indent(nxt)
        if len(line.rstrip()) > col and line[col - 1] == " " and line[col] != " ":
            return line[base:col].strip() or None
        return line.strip()
    col = base + TP_INDENT
    if len(line.rstrip()) > col and line[col - 1] == " " and line[col] != " " and (not nxt.strip() or
                                                                                  _indent(nxt) == col):
        tag = line[base:col].strip()
        return tag if tag and " " not in tag else None
    return None


def _dedent(lines: list[Line]) -> list[Line]:
    nonblank = [t for _, t in lines if t.strip()]
    cut = min((_indent(t) for t in nonblank), default=0)
    return [(n, t[cut:] if t.strip() else "") for n, t in lines]

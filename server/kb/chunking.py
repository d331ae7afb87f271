"""Documents split by their structure into chunks that fit the embedder's window.

Markdown by headings (ATX and setext; fenced code is never a heading), reStructuredText by its adorned
titles, HTML by ``h1``-``h6``, plain text by paragraphs. Each chunk keeps its heading path as its title and
the 1-based lines it spans; a section longer than the window is split at paragraphs, then lines, then words,
so nothing is ever cut off.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser

Line = tuple[int, str]  # (1-based line number in the source, text)
CountTokens = Callable[[str], int]

TITLE_SEPARATOR = " > "


@dataclass(frozen=True)
class Chunk:
    title: str  # heading path, e.g. "Deploying > Rollback"
    body: str
    line_start: int
    line_end: int

    @property
    def text(self) -> str:
        """What is embedded and searched: the heading path, then the body."""
        return f"{self.title}\n{self.body}" if self.title else self.body


@dataclass
class Section:
    path: list[str]
    lines: list[Line]


def fit(path: list[str], lines: list[Line], count: CountTokens, limit: int) -> list[Chunk]:
    """Pack ``lines`` into chunks of at most ``limit`` tokens (title included): whole paragraphs when they fit,
    else lines, else words."""
    lines = _trim(lines)
    if not lines:
        return []
    title = _fit_title([p for p in path if p], count, limit // 2)
    budget = limit - (count(title + "\n") if title else 0) + 2  # count() includes [CLS]/[SEP] each time
    whole = "\n".join(t for _, t in lines)
    if count(whole) <= budget:
        return [Chunk(title, whole, lines[0][0], lines[-1][0])]
    units: list[list[Line]] = []
    for para in _paragraphs(lines):
        if count("\n".join(t for _, t in para)) <= budget:
            units.append(para)
            continue
        for n, text in para:
            if count(text) <= budget:
                units.append([(n, text)])
            else:
                units.extend([(n, piece)] for piece in _split_words(text, count, budget))
    chunks: list[Chunk] = []
    current: list[Line] = []
    for unit in units:
        candidate = current + ([(unit[0][0], "")] if current else []) + unit
        if current and count("\n".join(t for _, t in candidate)) > budget:
            chunks.append(_chunk(title, current))
            current = list(unit)
        else:
            current = candidate
    if current:
        chunks.append(_chunk(title, current))
    return chunks


def _fit_title(parts: list[str], count: CountTokens, limit: int) -> str:
    """The heading path, its middle parts dropped (then its words cut) until it takes at most ``limit``."""
    title = TITLE_SEPARATOR.join(parts)
    while count(title) > limit and len(parts) > 2:
        parts = [parts[0], "...", *parts[3:]] if parts[1] == "..." else [parts[0], "...", *parts[2:]]
        title = TITLE_SEPARATOR.join(parts)
    words = title.split()
    while count(" ".join(words)) > limit and len(words) > 1:
        words = words[:-1]
    return " ".join(words)


def _chunk(title: str, lines: list[Line]) -> Chunk:
    lines = _trim(lines)
    return Chunk(title, "\n".join(t for _, t in lines), lines[0][0], lines[-1][0])


def _trim(lines: list[Line]) -> list[Line]:
    start, end = 0, len(lines)
    while start < end and not lines[start][1].strip():
        start += 1
    while end > start and not lines[end - 1][1].strip():
        end -= 1
    return [(n, t.rstrip()) for n, t in lines[start:end]]


def _paragraphs(lines: list[Line]) -> list[list[Line]]:
    out: list[list[Line]] = [[]]
    for n, text in lines:
        if text.strip():
            out[-1].append((n, text))
        elif out[-1]:
            out.append([])
    return [p for p in out if p]


def _split_words(text: str, count: CountTokens, budget: int) -> list[str]:
    pieces, current = [], ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if current and count(candidate) > budget:
            pieces.append(current)
            current = word
        else:
            current = candidate
        while count(current) > budget and len(current) > 1:  # a "word" longer than the window (a hash, a blob)
            cut = max(1, len(current) // 2)
            pieces.append(current[:cut])
            current = current[cut:]
    if current:
        pieces.append(current)
    return pieces


def sections_to_chunks(sections: list[Section], count: CountTokens, limit: int) -> list[Chunk]:
    return [c for s in sections for c in fit(s.path, s.lines, count, limit)]


# -- Markdown --------------------------------------------------------------------------------------

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")


def markdown_sections(text: str, doc_title: str = "") -> list[Section]:
    raw = text.splitlines()
    sections = [Section([doc_title], [])]
    stack: list[tuple[int, str]] = []
    fence = ""
    i = 0
    while i < len(raw):
        line = raw[i]
        m = _FENCE.match(line)
        if m:
            marker = m.group(1)
            if not fence:
                fence = marker[0] * 3
            elif marker.startswith(fence):
                fence = ""
        heading = None
        if not fence and not m:
            atx = _ATX.match(line)
            if atx:
                heading = (len(atx.group(1)), atx.group(2))
            elif (line.strip() and i + 1 < len(raw) and _SETEXT.match(raw[i + 1])
                  and not line.lstrip().startswith(("-", "*", "|", ">"))):
                heading = (1 if raw[i + 1].strip().startswith("=") else 2, line.strip())
                i += 1
        if heading:
            level, name = heading
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, name)]
            sections.append(Section([doc_title, *(t for _, t in stack)], []))
        else:
            sections[-1].lines.append((i + 1, line))
        i += 1
    return sections


# -- reStructuredText ------------------------------------------------------------------------------

_ADORNMENT = re.compile(r"""^([=\-`:'"~^_*+#<>.])\1{2,}\s*$""")


def rst_sections(text: str, doc_title: str = "") -> list[Section]:
    raw = text.splitlines()
    styles: list[tuple[str, bool]] = []  # adornment styles in order of first use = heading levels
    sections = [Section([doc_title], [])]
    stack: list[tuple[int, str]] = []
    i = 0
    while i < len(raw):
        line = raw[i]
        heading = None
        over = bool(_ADORNMENT.match(line)) and i + 2 < len(raw) and raw[i + 1].strip() \
            and _ADORNMENT.match(raw[i + 2]) and raw[i + 2].strip()[0] == line.strip()[0]
        if over:
            heading, style, skip = raw[i + 1].strip(), (line.strip()[0], True), 3
        elif (line.strip() and not _ADORNMENT.match(line) and i + 1 < len(raw) and _ADORNMENT.match(raw[i + 1])
              and len(raw[i + 1].rstrip()) >= len(line.rstrip())):
            heading, style, skip = line.strip(), (raw[i + 1].strip()[0], False), 2
        if heading:
            if style not in styles:
                styles.append(style)
            level = styles.index(style) + 1
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, heading)]
            sections.append(Section([doc_title, *(t for _, t in stack)], []))
            i += skip
            continue
        sections[-1].lines.append((i + 1, line))
        i += 1
    return sections


# -- HTML ------------------------------------------------------------------------------------------


class _HTMLText(HTMLParser):
    """Text of an HTML page as (line, text) blocks, headings marked with their level; scripts and styles
    dropped."""

    _BLOCK = frozenset({"p", "div", "li", "tr", "br", "pre", "section", "article", "dd", "dt", "table", "ul", "ol", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[int, int, str]] = []  # (line, heading level or 0, text)
        self._skip = 0
        self._heading = 0
        self._buf: list[str] = []
        self._line = 1

    def _flush(self) -> None:
        text = " ".join("".join(self._buf).split())
        if text:
            self.items.append((self._line, self._heading, text))
        self._buf = []

    def handle_starttag(self, tag, attrs) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = int(tag[1])
        elif tag in self._BLOCK:
            self._flush()

    def handle_endtag(self, tag) -> None:
        if tag in ("script", "style", "noscript"):
            self._skip = max(0, self._skip - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._heading = 0
        elif tag in self._BLOCK:
            self._flush()

    def handle_data(self, data) -> None:
        if self._skip:
            return
        if not self._buf:
            self._line = self.getpos()[0]
        self._buf.append(data)


def html_sections(text: str, doc_title: str = "") -> list[Section]:
    parser = _HTMLText()
    parser.feed(text)
    parser.close()
    parser._flush()
    sections = [Section([doc_title], [])]
    stack: list[tuple[int, str]] = []
    for line, level, content in parser.items:
        if level:
            stack = [(lv, t) for lv, t in stack if lv < level] + [(level, content)]
            sections.append(Section([doc_title, *(t for _, t in stack)], []))
        else:
            sections[-1].lines += [(line, content), (line, "")]
    return sections


def text_sections(text: str, doc_title: str = "") -> list[Section]:
    return [Section([doc_title], list(enumerate(text.splitlines(), 1)))]


SECTIONERS: dict[str, Callable[[str, str], list[Section]]] = {
    ".md": markdown_sections, ".markdown": markdown_sections, ".mdx": markdown_sections,
    ".rst": rst_sections, ".rest": rst_sections,
    ".html": html_sections, ".htm": html_sections,
    ".txt": text_sections, ".text": text_sections, "": text_sections,
}


def chunk_document(text: str, suffix: str, doc_title: str, count: CountTokens, limit: int) -> list[Chunk]:
    sectioner = SECTIONERS.get(suffix.lower(), text_sections)
    return sections_to_chunks(sectioner(text, doc_title), count, limit)

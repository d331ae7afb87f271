"""Header columns learned from the file itself: the fields a file's lines open with, told by how each
column of tokens behaves across the file, not by a list of known layouts.

:mod:`lsp.logs.headers` reads the header fields it knows (timestamps, levels, ``prog[pid]:``...). What it
leaves of a line may still open with fields of a layout it does not know: a record number and a node id
(``134681 node-246 unix.hw state_change.unavailable 1077804742 1 ...``), a label and two timestamps before
a location (``- 1117838570 2005.06.03 R02-M1-N0-C:J12-U11 ...``), a level in title case and a padded
component (``, Info                  CBS    Loaded ...``), fields joined by ``|``. A header is the same on
every line of a file while messages differ, so each leading column is profiled over a sample of lines:

* ``digits``: the column holds a digit on nearly every line (ids, times, dates, pids, numbered hosts);
* ``level``: a level word (in any case) on most lines;
* ``sep``: a separator (``-``, ``|``, ``,``, ``:``) on nearly every line;
* ``bracket``: a bracketed group (``[req-1 user tenant - - -]``) on nearly every line;
* ``closing``: a word ending in ``:`` on nearly every line (a component closing the header);
* ``padded``: followed by two or more spaces on most lines (columns aligned by padding).

The header is every column up to the last of these "strong" columns, where at most
:data:`MAX_GAP` other columns (a component, a category: ``RAS KERNEL``) may lie between two strong ones,
and no further than a ``closing`` column. Columns must be on nearly every sampled line, so a message word
that happens to hold digits on some lines is never taken for a header field. A line whose strong
columns do not hold what they should (a line of another format, a continuation) keeps its text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from lsp.logs.levels import normalise_level

# A token: a bracketed group (one level of nesting, spaces allowed inside), a lone "|", or a run of
# anything else but spaces and "|".
_TOKEN = re.compile(r"[\[(](?:[^\[\]()\n]|\[[^\[\]\n]*\]|\([^()\n]*\)){0,300}[\])][:,;]?(?=[\s|]|$)|\||[^\s|]+")
_DIGIT = re.compile(r"\d")
_SEPARATORS = frozenset({"-", "--", "|", ",", ":", ">", "=", "::", "*"})
_GAP_AFTER = re.compile(r"(?:\s{2,}|\t)")

MAX_COLUMNS = 14  # columns profiled per line
MAX_GAP = 2  # weak columns allowed between two strong ones
MIN_LINES = 20  # fewer sampled lines than this teach nothing
COVERAGE = 0.9  # a header column is on this share of the sampled lines (with a message after it)
STRONG_SHARE = {"digits": 0.9, "sep": 0.9, "bracket": 0.9, "closing": 0.9, "level": 0.8, "padded": 0.8}
EXCEPTION_SHARE = 0.01  # values a strong column holds on this share of lines though of another kind
MAX_CATEGORY_VALUES = 50  # a trailing category column (see ColumnLayout._independent) has at most these values
INDEPENDENCE_MIN_COUNT = 10  # values and next words counted by _independent occur at least this often
INDEPENDENCE_SHARE = 0.5  # share of the common next words each common value is seen with
ANCHORS = frozenset({"digits", "level", "bracket"})
STRONG_ORDER = ("level", "sep", "bracket", "closing", "digits", "padded")


def _is_level(token: str) -> bool:
    word = token.strip("[]<>():")
    return len(word) >= 3 and word.isalpha() and bool(normalise_level(word))


def _conforms(kind: str, token: str) -> bool:
    if kind == "digits":
        return bool(_DIGIT.search(token))
    if kind == "level":
        return _is_level(token)
    if kind == "sep":
        return token in _SEPARATORS
    if kind == "bracket":
        return token[:1] in "[(" and token.rstrip(":,;")[-1:] in "])"
    if kind == "closing":
        return len(token) > 1 and token.endswith(":")
    return True  # "padded" and weak columns: any token


def tokens_of(text: str, limit: int = MAX_COLUMNS + 1) -> list[re.Match[str]]:
    """The first ``limit`` tokens of ``text`` (see :data:`_TOKEN`)."""
    out = []
    for m in _TOKEN.finditer(text):
        out.append(m)
        if len(out) >= limit:
            break
    return out


@dataclass(frozen=True, slots=True)
class ColumnLayout:
    """The header columns learned for a file: the kind of each (``"weak"`` for a column that is header
    only because strong ones surround it), and for strong ones the other values they were seen with."""

    kinds: tuple[str, ...] = ()
    exceptions: tuple[frozenset[str], ...] = ()

    @classmethod
    def learn(cls, texts: Sequence[str], after_known: bool = False) -> ColumnLayout:
        """Profile the leading columns of ``texts`` (lines without the header fields already read;
        ``after_known``: some were). Without known fields before them, the columns must include one that
        only a header has (:data:`ANCHORS`)."""
        rows = [(t, tokens_of(t)) for t in texts if t.strip()]
        n = len(rows)
        if n < MIN_LINES:
            return cls()
        kinds: list[str] = []
        exceptions: list[frozenset[str]] = []
        last_strong, gap = -1, 0
        for j in range(MAX_COLUMNS):
            column = [(text, toks[j]) for text, toks in rows if len(toks) > j + 1]
            if len(column) < COVERAGE * n:
                break
            kind = cls._kind(column)
            if kind == "weak":
                gap += 1
                if gap > MAX_GAP:
                    break
                kinds.append(kind)
                exceptions.append(frozenset())
                continue
            gap = 0
            odd = Counter(m.group(0) for _t, m in column if not _conforms(kind, m.group(0)))
            exceptions.append(frozenset(v for v, c in odd.items() if c >= max(2, EXCEPTION_SHARE * n)))
            kinds.append(kind)
            last_strong = j
            if kind == "closing":
                break
        kinds, exceptions = kinds[:last_strong + 1], exceptions[:last_strong + 1]
        if not after_known and not ANCHORS.intersection(kinds):
            return cls()  # a key before a colon opening every line ("Start-Date: ...") is the event, no header
        if kinds and kinds[-1] != "closing" and cls._independent(rows, len(kinds)):
            kinds, exceptions = [*kinds, "weak"], [*exceptions, frozenset()]
        return cls(tuple(kinds), tuple(exceptions))

    @staticmethod
    def _independent(rows: list[tuple[str, list[re.Match[str]]]], j: int) -> bool:
        """Whether column ``j``, after the strong columns, is one more header field (a component, a
        category): few values, each followed by most of the words that commonly come next. The first word
        of a message is not: it names the event, and so decides the words after it."""
        pairs = [(toks[j].group(0), toks[j + 1].group(0)) for _t, toks in rows if len(toks) > j + 1]
        if len(pairs) < COVERAGE * len(rows):
            return False
        values = Counter(v for v, _w in pairs)
        common_values = [v for v, c in values.items() if c >= INDEPENDENCE_MIN_COUNT]
        if len(values) > MAX_CATEGORY_VALUES or len(common_values) < 2 or (
                sum(values[v] for v in common_values) < COVERAGE * len(pairs)):
            return False
        nexts = Counter(w for _v, w in pairs)
        common_next = {w for w, c in nexts.items() if c >= INDEPENDENCE_MIN_COUNT}
        if len(common_next) < 3:
            return False
        seen: dict[str, set[str]] = {}
        for v, w in pairs:
            if w in common_next:
                seen.setdefault(v, set()).add(w)
        share = sum(len(seen.get(v, ())) for v in common_values) / (len(common_values) * len(common_next))
        return share >= INDEPENDENCE_SHARE

    @staticmethod
    def _kind(column: list[tuple[str, re.Match[str]]]) -> str:
        total = len(column)
        for kind in STRONG_ORDER:
            if kind == "padded":
                hits = sum(bool(_GAP_AFTER.match(text, m.end())) for text, m in column)
            else:
                hits = sum(_conforms(kind, m.group(0)) for _text, m in column)
            if hits >= STRONG_SHARE[kind] * total:
                return kind
        return "weak"

    def split(self, text: str) -> tuple[int, str]:
        """Where the learned header columns end in ``text`` (0 when the line does not follow them), and
        the level a ``level`` column holds."""
        k = len(self.kinds)
        if not k:
            return 0, ""
        toks = tokens_of(text, k + 1)
        if len(toks) <= k:
            return 0, ""
        level = ""
        for kind, exceptions, m in zip(self.kinds, self.exceptions, toks):
            token = m.group(0)
            if kind in ("weak", "padded"):
                continue
            if not _conforms(kind, token) and token not in exceptions:
                return 0, ""
            if kind == "level" and not level:
                level = normalise_level(token.strip("[]<>():"))
        return toks[k - 1].end(), level

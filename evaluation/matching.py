"""Fuzzy matching of expected facts and keywords in free-text answers.

A spec is ``"fact|alias|alias"``: it matches when any alias matches. An alias matches when, after
normalisation (NFKC, lower case, every run of non-alphanumerics turned into one space), it occurs in the
text on word boundaries, or, for aliases of at least ``FUZZY_MIN_CHARS`` characters, when rapidfuzz's
``partial_ratio`` (best-aligned substring similarity, 0-100) reaches ``threshold``. Short aliases
("oom", "tls") are matched exactly only: a fuzzy match of three letters matches almost anything.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from rapidfuzz import fuzz

DEFAULT_THRESHOLD = 90.0
FUZZY_MIN_CHARS = 6

_NON_ALNUM = re.compile(r"[^0-9a-z]+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return _NON_ALNUM.sub(" ", text).strip()


def aliases(spec: str) -> list[str]:
    return [a for a in (normalise(part) for part in spec.split("|")) if a]


def alias_in(alias: str, norm_text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    """``alias`` and ``norm_text`` are already normalised."""
    if not alias or not norm_text:
        return False
    if f" {alias} " in f" {norm_text} ":
        return True
    if len(alias) >= FUZZY_MIN_CHARS:
        return fuzz.partial_ratio(alias, norm_text) >= threshold
    return False


def spec_matches(spec: str, text: str, threshold: float = DEFAULT_THRESHOLD) -> bool:
    norm = normalise(text)
    return any(alias_in(a, norm, threshold) for a in aliases(spec))


def matched_specs(specs: Iterable[str], text: str, threshold: float = DEFAULT_THRESHOLD) -> list[str]:
    norm = normalise(text)
    return [s for s in specs if any(alias_in(a, norm, threshold) for a in aliases(s))]


def coverage(specs: Iterable[str], text: str, threshold: float = DEFAULT_THRESHOLD) -> float:
    """Fraction of specs matched in ``text`` (1.0 when there are no specs: nothing was missed)."""
    specs = list(specs)
    if not specs:
        return 1.0
    return len(matched_specs(specs, text, threshold)) / len(specs)

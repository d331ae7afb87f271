"""Data gates: exact and near duplicates (datasketch MinHash LSH) and contamination with evaluation items.

Each gate takes records and returns ``(kept, dropped)`` where ``dropped`` maps a record id to the reason,
so the data report can count drops by reason.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

from aletheia import tasks

from .schema import Record

_WORD = re.compile(r"\w+", re.UNICODE)


def words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def content_text(rec: Record) -> str:
    """What makes an example itself: the user turns and the answer(s), without the shared system prompt."""
    d = rec.data
    if "messages" in d:
        msgs = d["messages"]
    else:
        msgs = d["prompt"] + d["chosen"] + d["rejected"]
    return "\n".join(m["content"] for m in msgs if m["role"] != "system")


def prompt_text(rec: Record) -> str:
    d = rec.data
    msgs = d["messages"][:-1] if "messages" in d else d["prompt"]
    return "\n".join(m["content"] for m in msgs if m["role"] != "system")


# --------------------------------------------------------------------------------------------------
# Duplicates
# --------------------------------------------------------------------------------------------------


def exact_duplicates(records: list[Record]) -> tuple[list[Record], dict[str, str]]:
    """Drop records whose normalised content (case and whitespace folded) equals an earlier one's."""
    seen: dict[str, str] = {}
    kept, dropped = [], {}
    for rec in records:
        key = hashlib.sha256(" ".join(words(content_text(rec))).encode()).hexdigest()
        if key in seen:
            dropped[rec.id] = f"duplicate of {seen[key]}"
        else:
            seen[key] = rec.id
            kept.append(rec)
    return kept, dropped


def _shingles(text: str, n: int) -> set[bytes]:
    toks = words(text)
    if len(toks) < n:
        return {" ".join(toks).encode()}
    return {" ".join(toks[i : i + n]).encode() for i in range(len(toks) - n + 1)}


def near_duplicates(
    records: list[Record], *, threshold: float, num_perm: int = 128, shingle_words: int = 5, seed: int = 1
) -> tuple[list[Record], dict[str, str]]:
    """Drop records whose word-shingle MinHash is within ``threshold`` Jaccard of a kept earlier record."""
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    kept, dropped = [], {}
    for rec in records:
        mh = MinHash(num_perm=num_perm, seed=seed)
        mh.update_batch(list(_shingles(content_text(rec), shingle_words)))
        hits = lsh.query(mh)
        if hits:
            dropped[rec.id] = f"near duplicate of {sorted(hits)[0]}"
            continue
        lsh.insert(rec.id, mh)
        kept.append(rec)
    return kept, dropped


# --------------------------------------------------------------------------------------------------
# Contamination
# --------------------------------------------------------------------------------------------------


def _strings(obj: Any) -> Iterable[str]:
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _strings(v)


def load_eval_texts(tasks_dir: Path) -> tuple[list[str], list[str]]:
    """Every string field of every record of every ``*.jsonl`` under ``tasks_dir`` (read generically),
    and the files read."""
    texts, files = [], []
    if not tasks_dir.is_dir():
        return texts, files
    for path in sorted(tasks_dir.rglob("*.jsonl")):
        files.append(str(path))
        with path.open(encoding="utf-8") as fh:
            for raw in fh:
                raw = raw.strip()
                if not raw:
                    continue
                try:
                    obj = json.loads(raw)
                except json.JSONDecodeError:
                    continue  # the evaluation package validates its own files; we only look for overlap
                texts.append("\n".join(_strings(obj)))
    return texts, files


def _ngrams(toks: list[str], n: int) -> set[int]:
    return {hash(tuple(toks[i : i + n])) for i in range(len(toks) - n + 1)}


def template_texts() -> list[str]:
    """The fixed wording of the three task prompts, which training and evaluation share by design."""
    out = [tasks.SYSTEM_PROMPT]
    for kind in tasks.CONFIG_KIND_NAMES:
        out.append(tasks.ConfigReviewTask(kind=kind, content="").user_prompt())
    out.append(tasks.LogAnalysisTask(excerpt="").user_prompt())
    return out


class ContaminationIndex:
    """Word n-grams of the evaluation items that are not task boilerplate.

    A training text is contaminated when it shares one ``ngram``-word sequence with an eval item, or when
    at least ``overlap`` of its 8-word sequences occur in eval items. Words covered by boilerplate (the
    task prompt templates, which training and evaluation share by design, and ``common`` 8-grams found in
    many training examples) are masked: an n-gram counts only when at most half of its words are masked.
    """

    SHORT = 8

    def __init__(self, eval_texts: list[str], *, ngram: int = 13, overlap: float = 0.5, common: set | None = None):
        self.n = ngram
        self.overlap = overlap
        self.boiler: set[int] = set(common or ())
        for text in template_texts():
            self.boiler |= _ngrams(words(text), self.SHORT)
        self.long: set[int] = set()
        self.short: set[int] = set()
        for text in eval_texts:
            long, short = self._grams(text)
            self.long |= long
            self.short |= short

    def _grams(self, text: str) -> tuple[set[int], set[int]]:
        toks = words(text)
        masked = [False] * len(toks)
        k = self.SHORT
        for i in range(len(toks) - k + 1):
            if hash(tuple(toks[i : i + k])) in self.boiler:
                masked[i : i + k] = [True] * k
        prefix = [0]
        for m in masked:
            prefix.append(prefix[-1] + m)

        def grams(n: int) -> set[int]:
            return {
                hash(tuple(toks[i : i + n]))
                for i in range(len(toks) - n + 1)
                if prefix[i + n] - prefix[i] <= n // 2
            }

        return grams(self.n), grams(k)

    def __bool__(self) -> bool:
        return bool(self.long or self.short)

    def reason(self, text: str) -> str | None:
        long, short = self._grams(text)
        if self.long & long:
            return f"shares a {self.n}-gram with an evaluation item"
        if short:
            share = len(short & self.short) / len(short)
            if share >= self.overlap:
                return f"{share:.0%} of its 8-grams occur in evaluation items"
        return None


def common_ngrams(records: list[Record], n: int, min_share: float = 0.05, min_count: int = 5) -> set[int]:
    """N-grams that appear in many training examples (generator boilerplate, not a leak)."""
    counts: Counter[int] = Counter()
    for rec in records:
        counts.update(_ngrams(words(content_text(rec)), n))
    cutoff = max(min_count, int(min_share * len(records)))
    return {g for g, c in counts.items() if c >= cutoff}


def contamination(records: list[Record], index: ContaminationIndex) -> tuple[list[Record], dict[str, str]]:
    kept, dropped = [], {}
    for rec in records:
        why = index.reason(content_text(rec)) if index else None
        if why:
            dropped[rec.id] = why
        else:
            kept.append(rec)
    return kept, dropped

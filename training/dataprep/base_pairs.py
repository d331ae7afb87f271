"""Preference pairs from the base model's own answers.

For a seeded subset of SFT prompts, the base GGUF answers greedily through llama.cpp. When its answer
covers the reference's key tokens worse than the reference does (always, by construction) by a margin,
the pair (reference = chosen, base answer = rejected, ``rejected_by: base_model``) teaches the tuned
model away from the base model's own habits.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path

from .schema import Record

_KEY = re.compile(r"[A-Za-z_][\w.\-/]*[\w]|\d+")
_STOP = frozenset(
    "the a an and or of to in on for is are be it this that with as at by from not use your you can if "
    "line lines fix root cause evidence summary".split()
)


def key_tokens(text: str) -> set[str]:
    """Tokens that carry an answer's content: identifiers, options, numbers; not stop words."""
    return {t.lower() for t in _KEY.findall(text) if t.lower() not in _STOP and (len(t) > 2 or t.isdigit())}


def key_overlap(answer: str, reference: str) -> float:
    """F1 of key tokens between an answer and the reference answer."""
    a, r = key_tokens(answer), key_tokens(reference)
    if not a or not r:
        return 0.0
    common = len(a & r)
    if not common:
        return 0.0
    p, rc = common / len(a), common / len(r)
    return 2 * p * rc / (p + rc)


@dataclass
class BasePairStats:
    generated: int = 0
    kept: int = 0
    mean_overlap: float = 0.0


def make_base_pairs(
    sft: list[Record],
    gguf: Path,
    *,
    count: int,
    max_tokens: int,
    seed: int,
    max_overlap: float = 0.6,
    max_seq_len: int = 1024,
) -> tuple[list[dict], BasePairStats]:
    """Generate base-model answers for ``count`` prompts; return DPO records for the ones worse than the
    reference (key-token F1 below ``max_overlap``). ``sft`` records already fit ``max_seq_len`` tokens."""
    from llama_cpp import Llama
    from tqdm.auto import tqdm

    stats = BasePairStats()
    if count <= 0 or not sft:
        return [], stats
    rng = random.Random(seed)
    chosen = rng.sample(sft, min(count, len(sft)))
    llm = Llama(model_path=str(gguf), n_ctx=max_seq_len + max_tokens + 16, seed=seed, verbose=False)
    pairs, overlaps = [], []
    for rec in tqdm(chosen, desc="base-model answers", unit="prompt"):
        prompt, reference = rec.data["messages"][:-1], rec.data["messages"][-1]["content"]
        out = llm.create_chat_completion(messages=prompt, temperature=0.0, max_tokens=max_tokens, seed=seed)
        answer = (out["choices"][0]["message"]["content"] or "").strip()
        stats.generated += 1
        score = key_overlap(answer, reference)
        overlaps.append(score)
        if not answer or answer == reference.strip() or score >= max_overlap:
            continue
        pairs.append(
            {
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": reference}],
                "rejected": [{"role": "assistant", "content": answer}],
                "rejected_by": "base_model",
                "source": rec.data["source"],
                "topic": rec.data["topic"],
                "id": f"{rec.id}-base",
            }
        )
    stats.kept = len(pairs)
    stats.mean_overlap = sum(overlaps) / len(overlaps) if overlaps else 0.0
    return pairs, stats

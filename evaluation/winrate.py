"""Win rate of one model's answers over another's, judged pairwise in both orders.

For each prompt the judge sees (model, baseline) as (A, B) and then (B, A). The model wins when both
verdicts pick it, loses when both pick the baseline, and ties otherwise (verdicts disagree, or a judge
gives no preference). Win rate = (wins + ties / 2) / n.

* 95% CI: percentile bootstrap over prompts (resampling the per-prompt outcomes 1, 0.5, 0).
* Length control, two views, both reported:
  - ``lc_win_rate``: a logistic regression of the outcome (1 / 0.5 / 0, fitted as a fractional
    response) on ``log((len_model + 1) / (len_baseline + 1))`` in characters; the rate it predicts for
    answers of equal length (``sigmoid(intercept)``). A small ridge penalty keeps it finite when every
    outcome is the same.
  - ``similar_length_win_rate``: the plain win rate among pairs whose lengths differ by at most 20%.

Symmetry: swapping model and baseline swaps the two orders of every pair, so each win becomes a loss
(for any deterministic judge); the win rate, its CI (same bootstrap seed) and the length-controlled
rate all turn from p into 1 - p. With the same model on both sides and greedy decoding the answers are
identical, a deterministic judge cannot tell them apart, and every pair ties: exactly 0.5.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from tqdm.auto import tqdm

from .data import OpenQAItem
from .judges import Judge

SIMILAR_LENGTH_RATIO = 0.2


@dataclass(frozen=True)
class PairOutcome:
    id: str
    verdict_model_first: str | None  # judge's verdict with the model's answer as A
    verdict_baseline_first: str | None  # judge's verdict with the baseline's answer as A
    score: float  # 1 win, 0.5 tie, 0 loss (for the model)
    len_model: int
    len_baseline: int


def pair_score(verdict_model_first: str | None, verdict_baseline_first: str | None) -> float:
    if verdict_model_first == "A" and verdict_baseline_first == "B":
        return 1.0
    if verdict_model_first == "B" and verdict_baseline_first == "A":
        return 0.0
    return 0.5


async def judge_pairs(
    judge: Judge,
    items: Sequence[OpenQAItem],
    model_answers: dict[str, str],
    baseline_answers: dict[str, str],
    concurrency: int = 4,
) -> list[PairOutcome]:
    sem = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(items), desc=f"judging ({judge.name})", leave=False)

    async def one(item: OpenQAItem) -> PairOutcome:
        m, b = model_answers[item.id], baseline_answers[item.id]
        async with sem:
            v1 = await judge.judge(item, m, b)
            v2 = await judge.judge(item, b, m)
        bar.update(1)
        return PairOutcome(item.id, v1, v2, pair_score(v1, v2), len(m), len(b))

    try:
        return list(await asyncio.gather(*(one(i) for i in items)))
    finally:
        bar.close()


def bootstrap_ci(
    scores: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    if len(scores) == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(scores), size=(n_boot, len(scores)))
    rates = scores[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(np.quantile(rates, alpha)), float(np.quantile(rates, 1 - alpha))


def fit_logistic(x: np.ndarray, y: np.ndarray, ridge: float = 1e-2, iters: int = 100) -> tuple[float, float]:
    """Intercept and slope of ``P(win) = sigmoid(b0 + b1 x)`` for targets in [0, 1] (Newton's method)."""
    X = np.column_stack([np.ones_like(x), x])
    beta = np.zeros(2)
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(X @ beta)))
        grad = X.T @ (y - p) - ridge * beta
        hess = X.T @ (X * (p * (1 - p))[:, None]) + ridge * np.eye(2)
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(beta[0]), float(beta[1])


def summarise(outcomes: Sequence[PairOutcome], n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    n = len(outcomes)
    if n == 0:
        return {"n": 0}
    s = np.array([o.score for o in outcomes], dtype=float)
    lm = np.array([o.len_model for o in outcomes], dtype=float)
    lb = np.array([o.len_baseline for o in outcomes], dtype=float)
    lo, hi = bootstrap_ci(s, n_boot, seed)
    b0, b1 = fit_logistic(np.log((lm + 1) / (lb + 1)), s)
    similar = np.abs(lm - lb) <= SIMILAR_LENGTH_RATIO * np.maximum(np.maximum(lm, lb), 1)
    return {
        "n": n,
        "wins": int((s == 1).sum()),
        "ties": int((s == 0.5).sum()),
        "losses": int((s == 0).sum()),
        "win_rate": float(s.mean()),
        "ci_low": lo,
        "ci_high": hi,
        "mean_len_model": float(lm.mean()),
        "mean_len_baseline": float(lb.mean()),
        "lc_win_rate": float(1 / (1 + np.exp(-b0))),
        "lc_length_slope": b1,
        "similar_length_n": int(similar.sum()),
        "similar_length_win_rate": float(s[similar].mean()) if similar.any() else float("nan"),
    }


def outcomes_as_dicts(outcomes: Sequence[PairOutcome]) -> list[dict]:
    return [asdict(o) for o in outcomes]

"""Win-rate arithmetic: pair outcomes from two orders, bootstrap CI, length control, symmetry."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from evaluation.data import OpenQAItem
from evaluation.judges import parse_verdict
from evaluation.winrate import PairOutcome, fit_logistic, judge_pairs, pair_score, summarise

ITEMS = [OpenQAItem(id=f"q{i}", question=f"question {i}", reference="", key_facts=()) for i in range(12)]


class LengthJudge:
    """Prefers the longer answer; equal lengths: no preference."""

    name = "longer"

    async def judge(self, item, a, b):
        return None if len(a) == len(b) else ("A" if len(a) > len(b) else "B")


class FirstPositionJudge:
    """Always says A: pure position bias."""

    name = "always-A"

    async def judge(self, item, a, b):
        return "A"


def _answers(lengths):
    return {it.id: "x" * n for it, n in zip(ITEMS, lengths)}


def test_pair_score():
    assert pair_score("A", "B") == 1.0
    assert pair_score("B", "A") == 0.0
    assert pair_score("A", "A") == 0.5  # position bias: the verdicts disagree about the answer
    assert pair_score(None, "B") == 0.5


def test_parse_verdict():
    assert parse_verdict("A") == "A"
    assert parse_verdict("**B**") == "B"
    assert parse_verdict("Answer B is better.") == "B"
    assert parse_verdict("neither") is None


def test_position_bias_cancels_to_ties():
    out = asyncio.run(judge_pairs(FirstPositionJudge(), ITEMS, _answers([5] * 12), _answers([9] * 12)))
    s = summarise(out)
    assert (s["wins"], s["ties"], s["losses"]) == (0, 12, 0) and s["win_rate"] == 0.5


def test_win_rate_ci_and_swap_symmetry():
    model = _answers([10, 10, 10, 10, 10, 10, 10, 10, 3, 3, 5, 5])
    base = _answers([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5])
    fwd = summarise(asyncio.run(judge_pairs(LengthJudge(), ITEMS, model, base)))
    rev = summarise(asyncio.run(judge_pairs(LengthJudge(), ITEMS, base, model)))
    assert (fwd["wins"], fwd["ties"], fwd["losses"]) == (8, 2, 2)
    assert fwd["win_rate"] == pytest.approx((8 + 1) / 12)
    assert fwd["ci_low"] < fwd["win_rate"] < fwd["ci_high"]
    assert rev["win_rate"] == pytest.approx(1 - fwd["win_rate"])
    assert rev["ci_low"] == pytest.approx(1 - fwd["ci_high"]) and rev["ci_high"] == pytest.approx(
        1 - fwd["ci_low"]
    )
    assert rev["lc_win_rate"] == pytest.approx(1 - fwd["lc_win_rate"], abs=1e-6)
    # this judge only rewards length, so controlling for length pulls the rate to ~0.5 (it is a logistic
    # fit, so not exactly); the raw rate is far above it
    assert abs(fwd["lc_win_rate"] - 0.5) < abs(fwd["win_rate"] - 0.5)
    assert fwd["similar_length_n"] == 2 and fwd["similar_length_win_rate"] == 0.5


def test_logistic_fit_recovers_a_known_model():
    rng = np.random.default_rng(0)
    x = rng.normal(size=4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-(0.8 + 1.5 * x)))).astype(float)
    b0, b1 = fit_logistic(x, y, ridge=1e-6)
    assert b0 == pytest.approx(0.8, abs=0.15) and b1 == pytest.approx(1.5, abs=0.2)
    b0, _ = fit_logistic(np.zeros(5), np.ones(5))  # all wins: finite thanks to the ridge
    assert np.isfinite(b0) and b0 > 3


def test_empty():
    assert summarise([]) == {"n": 0}
    assert isinstance(PairOutcome("x", "A", "B", 1.0, 1, 1), PairOutcome)

"""evaluation.perf's load generator, without a server: which prompts it sends, level after level."""

from __future__ import annotations

import asyncio

import pytest

from evaluation import perf


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """The prompts ``profile_server`` sends, in order; every request succeeds at once."""
    prompts: list[str] = []

    async def fake_stream_request(client, model, prompt, max_tokens):
        prompts.append(prompt)
        return perf.RequestRecord(ok=True, ttft=0.01, itl=0.01, e2e=0.1, tokens=max_tokens)

    monkeypatch.setattr(perf, "stream_request", fake_stream_request)
    return prompts


def profile(levels, **kw):
    return asyncio.run(perf.profile_server("x", "http://127.0.0.1:9/v1", "m", levels, **kw))


def test_every_request_asks_its_own_question_across_levels(sent):
    levels = profile([1, 2, 4], requests_per_level=2)
    assert [lv.requests for lv in levels] == [2, 2, 4]
    assert sent[0] == perf.WARM_UP
    assert len(sent[1:]) == 8 and len(set(sent[1:])) == 8, "a later level would find its prompts cached"


def test_given_prompts_cycle_and_continue_from_level_to_level(sent):
    profile([1, 1], requests_per_level=2, prompts=["a", "b", "c"])
    assert sent[1:] == ["a", "b", "c", "a"]

"""The domain suite: one model's answers to the four domain tasks, scored.

Prompts come from ``aletheia.tasks`` (the editor's own prompts); MCQ is scored by log-likelihood of
``" <choice>"`` after ``"Question: <question>\\nAnswer:"`` (the lm-eval ``sysmcq`` task's format).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from openai import AsyncOpenAI
from tqdm.auto import tqdm

from aletheia.tasks import (
    ConfigReviewTask,
    LogAnalysisTask,
    QuestionTask,
    parse_config_review_answer,
    parse_log_answer,
)

from . import scoring
from .client import chat_answers, loglikelihoods
from .data import DomainData, MCQItem, OpenQAItem


def mcq_context(item: MCQItem) -> str:
    return f"Question: {item.question.strip()}\nAnswer:"


def mcq_continuations(item: MCQItem) -> list[str]:
    return [f" {c}" for c in item.choices]


def open_qa_messages(item: OpenQAItem) -> list[dict[str, str]]:
    return QuestionTask(question=item.question, context=item.context).messages()


@dataclass
class DomainResult:
    model: str
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)  # task -> metric -> value
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # task -> per-item records
    open_qa_answers: dict[str, str] = field(default_factory=dict)  # item id -> answer (for the win rate)


async def score_mcq_items(client: AsyncOpenAI, model: str, items: list[MCQItem], concurrency: int = 4):
    sem = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(items), desc=f"{model} mcq", leave=False)

    async def one(item: MCQItem):
        async with sem:
            lls = await loglikelihoods(client, model, mcq_context(item), mcq_continuations(item))
            bar.update(1)
            return scoring.score_mcq(item, lls)

    try:
        return list(await asyncio.gather(*(one(i) for i in items)))
    finally:
        bar.close()


async def run_domain(
    client: AsyncOpenAI,
    model: str,
    data: DomainData,
    *,
    max_tokens: int = 256,
    concurrency: int = 4,
    tasks: tuple[str, ...] = ("mcq", "open_qa", "config_review", "log_analysis"),
) -> DomainResult:
    res = DomainResult(model=model)

    if "mcq" in tasks and data.mcq:
        scores = await score_mcq_items(client, model, data.mcq, concurrency)
        res.metrics["mcq"] = scoring.aggregate_mcq(scores)
        res.items["mcq"] = scoring.as_dicts(scores)

    if "open_qa" in tasks and data.open_qa:
        answers = await chat_answers(
            client,
            model,
            [open_qa_messages(i) for i in data.open_qa],
            max_tokens=max_tokens,
            concurrency=concurrency,
            desc=f"{model} open_qa",
        )
        scores = [scoring.score_open_qa(i, a) for i, a in zip(data.open_qa, answers)]
        res.metrics["open_qa"] = scoring.aggregate_open_qa(scores)
        res.items["open_qa"] = [dict(r, answer=a) for r, a in zip(scoring.as_dicts(scores), answers)]
        res.open_qa_answers = {i.id: a for i, a in zip(data.open_qa, answers)}

    if "config_review" in tasks and data.config_review:
        convs = [
            ConfigReviewTask(kind=i.kind, content=i.content, path=i.path).messages()
            for i in data.config_review
        ]
        answers = await chat_answers(
            client,
            model,
            convs,
            max_tokens=max_tokens,
            concurrency=concurrency,
            desc=f"{model} config_review",
        )
        scores = [
            scoring.score_config_review(i, parse_config_review_answer(a), answer=a)
            for i, a in zip(data.config_review, answers)
        ]
        res.metrics["config_review"] = scoring.aggregate_config_review(scores)
        res.items["config_review"] = [dict(r, answer=a) for r, a in zip(scoring.as_dicts(scores), answers)]

    if "log_analysis" in tasks and data.log_analysis:
        convs = [LogAnalysisTask(excerpt=i.log, source=i.source).messages() for i in data.log_analysis]
        answers = await chat_answers(
            client, model, convs, max_tokens=max_tokens, concurrency=concurrency, desc=f"{model} log_analysis"
        )
        scores = [
            scoring.score_log_analysis(i, parse_log_answer(a)) for i, a in zip(data.log_analysis, answers)
        ]
        res.metrics["log_analysis"] = scoring.aggregate_log_analysis(scores)
        res.items["log_analysis"] = [dict(r, answer=a) for r, a in zip(scoring.as_dicts(scores), answers)]

    return res

"""Talking to an OpenAI-compatible server: greedy chat answers in parallel, and continuation
log-likelihoods from ``/v1/completions`` with ``echo=True, logprobs=1, max_tokens=0``.

The log-likelihood of a continuation is the sum of the log-probabilities of the echoed prompt tokens
that start at or after the end of the context (by ``text_offset``); a token that straddles the boundary
belongs to the continuation. The prompt is sent as one string, so the server tokenises context and
continuation together, as the model sees them in use.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from openai import AsyncOpenAI
from tqdm.auto import tqdm

Messages = list[dict[str, str]]


def make_client(base_url: str, api_key: str = "none", timeout: float = 600.0) -> AsyncOpenAI:
    return AsyncOpenAI(base_url=base_url, api_key=api_key or "none", timeout=timeout, max_retries=1)


async def chat_answer(
    client: AsyncOpenAI, model: str, messages: Messages, *, max_tokens: int = 256, seed: int = 0
) -> str:
    resp = await client.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0.0, seed=seed
    )
    return resp.choices[0].message.content or ""


async def chat_answers(
    client: AsyncOpenAI,
    model: str,
    conversations: Sequence[Messages],
    *,
    max_tokens: int = 256,
    concurrency: int = 4,
    desc: str = "",
) -> list[str]:
    """Greedy answers to each conversation, ``concurrency`` requests in flight, in input order."""
    sem = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(conversations), desc=desc or f"{model} answers", leave=False)

    async def one(msgs: Messages) -> str:
        async with sem:
            out = await chat_answer(client, model, msgs, max_tokens=max_tokens)
            bar.update(1)
            return out

    try:
        return list(await asyncio.gather(*(one(m) for m in conversations)))
    finally:
        bar.close()


def continuation_logprob(logprobs, context_chars: int) -> float:
    """Sum of the token log-probabilities from the token that contains character ``context_chars`` on."""
    offsets, token_lps, tokens = logprobs.text_offset, logprobs.token_logprobs, logprobs.tokens
    total, counted = 0.0, 0
    for off, lp, tok in zip(offsets, token_lps, tokens):
        if off + len(tok) > context_chars:
            if lp is None:
                raise ValueError("the server gave no log-probability for a continuation token")
            total += lp
            counted += 1
    if not counted:
        raise ValueError("no continuation tokens in the echoed prompt")
    return total


async def loglikelihoods(
    client: AsyncOpenAI, model: str, context: str, continuations: Sequence[str]
) -> list[float]:
    """log P(continuation | context) for each continuation, one batched ``/v1/completions`` request."""
    resp = await client.completions.create(
        model=model,
        prompt=[context + c for c in continuations],
        echo=True,
        logprobs=1,
        max_tokens=0,
        temperature=0.0,
    )
    by_index = sorted(resp.choices, key=lambda c: c.index)
    if len(by_index) != len(continuations):
        raise ValueError(f"asked for {len(continuations)} echoes, the server returned {len(by_index)}")
    return [continuation_logprob(ch.logprobs, len(context)) for ch in by_index]

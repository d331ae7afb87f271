"""Continuous batching and prefix reuse, through the real server (8 slots) and the official openai client.

A request's result must not depend on what runs beside it or on what the prefix cache holds. Queue
overflow, disconnects and over-long prompts are in test_system.py and test_errors.py.
"""

from __future__ import annotations

import asyncio
import uuid

import httpx

MODEL = "aletheia-base"
QUESTIONS = [
    "What does the Linux OOM killer do?",
    "How do I list open ports with ss?",
    "What is a Kubernetes liveness probe?",
    "Why use a multi-stage Dockerfile?",
    "What does nginx proxy_pass do?",
    "How do I read systemd journal logs for one unit?",
    "What is PostgreSQL VACUUM for?",
    "What is a TCP TIME_WAIT state?",
]


def user(q: str) -> list[dict]:
    return [{"role": "user", "content": q}]


async def chat(aclient, messages, **kw):
    kw = {"max_tokens": 24, "temperature": 0, **kw}
    return await aclient.chat.completions.create(model=MODEL, messages=messages, **kw)


async def test_greedy_text_is_the_same_alone_and_among_seven_others(aclient):
    nonce = uuid.uuid4().hex[:8]  # nothing cached for these prompts yet: "alone" decodes them from scratch
    prompts = [user(f"[{nonce}] {q}") for q in QUESTIONS]
    alone = [(await chat(aclient, p)).choices[0].message.content for p in prompts[:3]]
    together = await asyncio.gather(*(chat(aclient, p) for p in prompts))
    assert [r.choices[0].message.content for r in together[:3]] == alone


async def test_seeded_sampling_is_reproducible_whatever_runs_beside_it(aclient):
    kw = {"temperature": 0.9, "top_p": 0.95, "seed": 1234, "max_tokens": 32}
    alone = (await chat(aclient, user(QUESTIONS[0]), **kw)).choices[0].message.content
    crowd = [chat(aclient, user(q), temperature=0.8, seed=i, max_tokens=32) for i, q in enumerate(QUESTIONS[1:])]
    results = await asyncio.gather(chat(aclient, user(QUESTIONS[0]), **kw), *crowd)
    assert results[0].choices[0].message.content == alone


async def test_stop_strings_end_each_concurrent_stream(aclient):
    base = await asyncio.gather(*(chat(aclient, user(q), max_tokens=32) for q in QUESTIONS))
    cases = []
    for q, r in zip(QUESTIONS, base, strict=True):
        text = r.choices[0].message.content
        if len(text) > 12:  # stop at a piece of the answer's middle: the text before it must come back
            cases.append((q, text[6:10], text[: text.index(text[6:10])]))
    assert len(cases) >= 4

    async def streamed(q, stop):
        stream = await chat(aclient, user(q), max_tokens=32, stop=[stop], stream=True)
        pieces, finish = [], None
        async for chunk in stream:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
        return "".join(pieces), finish

    results = await asyncio.gather(*(streamed(q, stop) for q, stop, _ in cases))
    for (_, _, expected), (text, finish) in zip(cases, results, strict=True):
        assert text == expected and finish == "stop"


def test_prefix_reuse_is_reported_and_changes_nothing(client, llm_server):
    """A repeated prompt is taken from the prefix cache (usage says how much), with the same output as a
    request that decodes its whole prompt (echo + logprobs always does)."""
    prompt = f"[{uuid.uuid4().hex}] The three most useful flags of `tar` are"
    cold = client.completions.create(model=MODEL, prompt=prompt, max_tokens=16, temperature=0, echo=True,
                                     logprobs=0)
    hot = client.completions.create(model=MODEL, prompt=prompt, max_tokens=16, temperature=0)
    n_prompt = hot.usage.prompt_tokens
    assert cold.usage.prompt_tokens_details.cached_tokens == 0
    assert hot.usage.prompt_tokens_details.cached_tokens == n_prompt - 1  # the last one is decoded for its logits
    assert cold.choices[0].text == prompt + hot.choices[0].text
    metrics = httpx.get(f"{llm_server.url}/metrics").text
    cached = [line for line in metrics.splitlines() if line.startswith("aletheia_prompt_tokens_cached_total{")]
    assert cached and float(cached[0].split()[-1]) >= n_prompt - 1


def test_a_shared_system_prompt_and_earlier_turns_are_not_decoded_again(client):
    system = {"role": "system", "content": f"Session {uuid.uuid4().hex}. You are an on-call assistant for a "
                                           "team that runs PostgreSQL, nginx and Kubernetes. Answer briefly."}
    first = client.chat.completions.create(model=MODEL, messages=[system, *user(QUESTIONS[0])], max_tokens=16,
                                           temperature=0)
    other = client.chat.completions.create(model=MODEL, messages=[system, *user(QUESTIONS[1])], max_tokens=16,
                                           temperature=0)
    assert first.usage.prompt_tokens_details.cached_tokens < 10
    assert other.usage.prompt_tokens_details.cached_tokens >= 30  # the system message is over 30 tokens
    follow_up = [system, *user(QUESTIONS[1]), {"role": "assistant", "content": other.choices[0].message.content},
                 *user("And how do I check it?")]
    turn2 = client.chat.completions.create(model=MODEL, messages=follow_up, max_tokens=8, temperature=0)
    # the whole earlier prompt (and usually part of its answer) comes from the cache
    assert turn2.usage.prompt_tokens_details.cached_tokens >= other.usage.prompt_tokens


async def test_simultaneous_requests_with_a_shared_prefix_all_reuse_it(aclient):
    system = {"role": "system", "content": f"Team {uuid.uuid4().hex}: answer as a senior SRE would, in one "
                                           "sentence, naming the exact command or setting."}
    results = await asyncio.gather(*(chat(aclient, [system, *user(q)], max_tokens=8) for q in QUESTIONS))
    cached = sorted(r.usage.prompt_tokens_details.cached_tokens for r in results)
    # one of them decodes the shared prefix; the others wait for it and reuse it
    assert cached[0] < 10 and all(c >= 20 for c in cached[1:])


def test_common_prefix():
    from server.engines.llama_batched import common_prefix

    a = list(range(100))
    assert common_prefix(a, a, 1000) == 100
    assert common_prefix(a, a, 7) == 7
    assert common_prefix(a, [], 10) == 0
    for k in (0, 1, 37, 99):
        b = a[:k] + [-1] + a[k + 1:]
        assert common_prefix(a, b, 1000) == k
        assert common_prefix(b, a[:50], 1000) == min(k, 50)

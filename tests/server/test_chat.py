"""Chat completions through the official openai client against the real server and bundled model."""

from __future__ import annotations

import asyncio

import openai
import pytest

MODEL = "aletheia-base"
Q = [{"role": "user", "content": "Name three Linux commands to inspect disk usage."}]


def test_basic_completion_shape_and_usage(client):
    r = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=24, temperature=0)
    choice = r.choices[0]
    assert r.object == "chat.completion" and r.id.startswith("chatcmpl-")
    assert choice.message.role == "assistant" and choice.message.content
    assert choice.finish_reason in ("stop", "length")
    assert r.usage.completion_tokens <= 24
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens


def test_max_tokens_and_max_completion_tokens(client):
    a = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=5, temperature=0)
    b = client.chat.completions.create(model=MODEL, messages=Q, max_completion_tokens=5, temperature=0)
    for r in (a, b):
        assert r.usage.completion_tokens == 5 and r.choices[0].finish_reason == "length"
    assert a.choices[0].message.content == b.choices[0].message.content


def test_every_role_and_content_parts(client):
    messages = [
        {"role": "system", "content": [{"type": "text", "text": "You are terse."}]},
        {"role": "user", "content": [{"type": "text", "text": "What is "}, {"type": "text", "text": "DNS?"}]},
        {"role": "assistant", "content": "The Domain Name System.", "tool_calls": None},
        {"role": "developer", "content": "Answer in one sentence."},
        {"role": "user", "content": "And its port?"},
    ]
    r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, temperature=0, user="u-42")
    assert r.choices[0].message.content


def test_tool_role_message_renders(client):
    messages = [
        {"role": "user", "content": "Is port 22 open?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "port_open", "arguments": '{"port": 22}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": '{"open": true}'},
    ]
    r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=8, temperature=0)
    assert r.choices[0].message.content is not None


def test_streaming_shape(client):
    chunks = list(client.chat.completions.create(model=MODEL, messages=Q, max_tokens=12, temperature=0, stream=True))
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finals = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals == ["length"] or finals == ["stop"]
    assert all(c.usage is None for c in chunks), "usage chunk only when asked"
    whole = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=12, temperature=0)
    assert text == whole.choices[0].message.content


def test_stream_include_usage_sends_final_usage_chunk(client):
    chunks = list(client.chat.completions.create(model=MODEL, messages=Q, max_tokens=7, temperature=0, stream=True,
                                                 stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == 7
    assert all(c.usage is None for c in chunks[:-1])


def _text_without_stop(client, **kw):
    return client.chat.completions.create(model=MODEL, messages=Q, max_tokens=40, temperature=0, **kw)


def test_stop_strings_cut_output_and_finish_with_stop(client):
    full = _text_without_stop(client).choices[0].message.content
    assert len(full) > 20
    stop = full[10:14]
    cut = full[: full.index(stop)]
    for stop_arg in (stop, [stop, "zzzz-never"]):
        r = _text_without_stop(client, stop=stop_arg)
        assert r.choices[0].message.content == cut and r.choices[0].finish_reason == "stop"
    streamed = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=40, temperature=0, stop=[stop],
                                              stream=True)
    chunks = list(streamed)
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == cut
    assert chunks[-1].choices[0].finish_reason == "stop"


def test_seed_reproducible_and_seeds_differ(client):
    kw = dict(model=MODEL, messages=Q, max_tokens=24, temperature=1.0, top_p=0.95)
    a = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    b = client.chat.completions.create(seed=7, **kw).choices[0].message.content
    assert a == b
    others = {client.chat.completions.create(seed=s, **kw).choices[0].message.content for s in (8, 9, 10)}
    assert others - {a}, "different seeds should not all reproduce seed 7's text"


def test_n_choices(client):
    r = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=16, temperature=1.0, seed=3, n=3)
    assert [c.index for c in r.choices] == [0, 1, 2]
    assert len({c.message.content for c in r.choices}) > 1, "sampled choices share a seed stream"
    assert 3 <= r.usage.completion_tokens <= 48
    greedy = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=10, temperature=0, n=2)
    alone = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=10, temperature=0)
    assert {c.message.content for c in greedy.choices} == {alone.choices[0].message.content}


def test_n_streaming_interleaves_all_choices(client):
    chunks = list(client.chat.completions.create(model=MODEL, messages=Q, max_tokens=6, temperature=0.7, seed=1, n=2,
                                                 stream=True))
    finished = {c.choices[0].index for c in chunks if c.choices and c.choices[0].finish_reason}
    assert finished == {0, 1}


def test_logprobs_and_top_logprobs(client):
    r = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=8, temperature=0, logprobs=True,
                                       top_logprobs=3)
    content = r.choices[0].logprobs.content
    assert len(content) == r.usage.completion_tokens
    assert "".join(t.token for t in content) == r.choices[0].message.content
    for t in content:
        assert t.logprob <= 0 and len(t.top_logprobs) == 3
        assert t.top_logprobs[0].token == t.token, "greedy picks the most likely token"
        assert t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob
    plain = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=4, temperature=0, logprobs=True)
    assert all(t.top_logprobs == [] for t in plain.choices[0].logprobs.content)


def test_penalties_change_the_output(client):
    """Repeated tokens get penalised: greedy output changes once the penalty bites."""
    kw = dict(model=MODEL, prompt="disk disk disk disk disk disk disk", max_tokens=12, temperature=0)
    base = client.completions.create(**kw).choices[0].text
    freq = client.completions.create(frequency_penalty=2.0, **kw).choices[0].text
    pres = client.completions.create(presence_penalty=2.0, **kw).choices[0].text
    assert freq != base and pres != base
    chat = client.chat.completions.create(model=MODEL, messages=Q, max_tokens=30, temperature=0,
                                          frequency_penalty=1.5, presence_penalty=0.5)
    assert chat.choices[0].message.content


async def test_async_client_streaming(aclient):
    stream = await aclient.chat.completions.create(model=MODEL, messages=Q, max_tokens=6, temperature=0, stream=True)
    pieces = [c.choices[0].delta.content or "" async for c in stream if c.choices]
    assert "".join(pieces)


async def test_concurrent_requests_all_complete(aclient):
    async def one(i):
        r = await aclient.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Give tip number {i} for Kubernetes."}],
            max_tokens=16, temperature=0)
        return r.usage.completion_tokens, r.choices[0].finish_reason

    results = await asyncio.gather(*(one(i) for i in range(12)))  # more than the 8 slots: some queue
    assert all(fin == "length" and n == 16 or fin == "stop" for n, fin in results)


def test_unknown_model_is_404(client):
    with pytest.raises(openai.NotFoundError) as err:
        client.chat.completions.create(model="gpt-17", messages=Q)
    assert err.value.body["code"] == "model_not_found"

"""Legacy completions (echo + prompt logprobs, list and token prompts) and embeddings."""

from __future__ import annotations

import base64
import math

import numpy as np

MODEL = "aletheia-base"


def test_string_prompt(client):
    r = client.completions.create(model=MODEL, prompt="The TCP three-way handshake consists of", max_tokens=10,
                                  temperature=0)
    assert r.object == "text_completion" and r.choices[0].text
    assert r.usage.completion_tokens == 10 and r.choices[0].finish_reason == "length"


def test_list_prompt_gives_a_choice_per_prompt_in_order(client):
    prompts = ["Nginx is", "PostgreSQL is", "Kubernetes is"]
    r = client.completions.create(model=MODEL, prompt=prompts, max_tokens=5, temperature=0)
    assert [c.index for c in r.choices] == [0, 1, 2]
    for p, c in zip(prompts, r.choices):
        alone = client.completions.create(model=MODEL, prompt=p, max_tokens=5, temperature=0)
        assert c.text == alone.choices[0].text


def test_echo_logprobs_score_the_prompt(client):
    prompt = "Question: Which signal cannot be caught?\nAnswer: SIGKILL"
    r = client.completions.create(model=MODEL, prompt=prompt, max_tokens=0, echo=True, logprobs=1, temperature=0)
    lp = r.choices[0].logprobs
    assert r.choices[0].text == prompt
    assert "".join(lp.tokens) == prompt
    assert lp.token_logprobs[0] is None and all(x <= 0 for x in lp.token_logprobs[1:])
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    assert r.usage.completion_tokens == 0 and r.usage.prompt_tokens == len(lp.tokens)
    # a likely continuation scores higher than an unlikely one
    good = client.completions.create(model=MODEL, prompt="The capital of France is Paris", max_tokens=0, echo=True,
                                     logprobs=0)
    bad = client.completions.create(model=MODEL, prompt="The capital of France is banana", max_tokens=0, echo=True,
                                    logprobs=0)
    assert good.choices[0].logprobs.token_logprobs[-1] > bad.choices[0].logprobs.token_logprobs[-1]


def test_echo_with_generation_and_token_prompts(client):
    tokens = client.completions.create(model=MODEL, prompt="ssh", max_tokens=0, echo=True, logprobs=0)
    n = len(tokens.choices[0].logprobs.tokens)
    r = client.completions.create(model=MODEL, prompt=[[19365, 314], [19365]], max_tokens=3, temperature=0, echo=True,
                                  logprobs=2)
    assert len(r.choices) == 2
    for c in r.choices:
        assert len(c.logprobs.tokens) == len(c.logprobs.top_logprobs) and n >= 1
        assert all(len(t) == 2 for t in c.logprobs.top_logprobs[1:])


def test_completion_streaming(client):
    chunks = list(client.completions.create(model=MODEL, prompt="Prometheus scrapes", max_tokens=6, temperature=0,
                                            stream=True))
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    whole = client.completions.create(model=MODEL, prompt="Prometheus scrapes", max_tokens=6, temperature=0)
    assert text == whole.choices[0].text
    assert chunks[-1].choices[0].finish_reason == "length"


def test_embeddings(client):
    texts = ["The disk is full on /var.", "No space left on device in /var.", "I like strawberry ice cream."]
    r = client.embeddings.create(model=MODEL, input=texts)
    vecs = np.array([d.embedding for d in r.data])
    assert vecs.shape[0] == 3 and vecs.shape[1] > 100
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)
    sim = vecs @ vecs.T
    assert sim[0, 1] > sim[0, 2], "related sentences are closer than unrelated ones"
    one = client.embeddings.create(model=MODEL, input=texts[0])
    assert np.allclose(one.data[0].embedding, vecs[0], atol=1e-5)
    assert r.usage.prompt_tokens > 0


def test_embeddings_base64(client):
    r = client.embeddings.create(model=MODEL, input="hello", encoding_format="base64")
    vec = np.frombuffer(base64.b64decode(r.data[0].embedding), dtype=np.float32)
    floats = client.embeddings.create(model=MODEL, input="hello", encoding_format="float").data[0].embedding
    assert np.allclose(vec, floats, atol=1e-6) and math.isfinite(vec[0])

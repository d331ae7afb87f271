"""logit_bias and the sampling extensions clients send beside OpenAI's fields (top_k, min_p,
repetition_penalty, as vLLM and llama.cpp's server take them), on the real server and bundled model."""

from __future__ import annotations

import collections

import pytest

from server.engines.llama_model import LlamaModel
from server.registry import bundled_model_path

MODEL = "aletheia-base"
ASK = [{"role": "user", "content": "Name three Linux commands for checking disk usage."}]


@pytest.fixture(scope="module")
def vocab():
    """The bundled model's tokenizer, to name token ids the way a client of this model would."""
    model = LlamaModel(bundled_model_path())
    yield model
    model.close()


def _one_token(vocab, text: str) -> int:
    ids = vocab.tokenize(text, add_special=False)
    assert len(ids) == 1, (text, ids)
    return ids[0]


def _tokens(client, max_tokens: int = 24, messages=ASK, **kw) -> list[str]:
    r = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=max_tokens, logprobs=True, **kw)
    return [t.token for t in r.choices[0].logprobs.content]


def test_a_banned_token_is_never_written(client, vocab):
    greedy = _tokens(client, temperature=0)
    banned = _tokens(client, temperature=0, logit_bias={str(_one_token(vocab, greedy[0])): -100})
    assert greedy[0] not in banned


def test_a_forced_token_is_written_every_time(client, vocab):
    forced = _tokens(client, max_tokens=5, temperature=0, logit_bias={str(_one_token(vocab, " disk")): 100})
    assert forced == [" disk"] * 5


def test_logit_bias_outside_the_vocabulary_is_a_400_naming_it(client, vocab):
    import openai

    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(model=MODEL, messages=ASK, max_tokens=1, logit_bias={"49152": 5})
    assert err.value.body["param"] == "logit_bias" and "49151" in err.value.body["message"]


@pytest.mark.parametrize("extra", [{"top_k": 1}, {"min_p": 1.0}])
def test_top_k_1_and_min_p_1_sample_the_greedy_answer(client, extra):
    greedy = _tokens(client, temperature=0)
    for seed in (1, 2):
        assert _tokens(client, temperature=1.5, seed=seed, extra_body=extra) == greedy


def test_switched_off_values_change_nothing(client):
    plain = _tokens(client, temperature=0.8, seed=7)
    off = _tokens(client, temperature=0.8, seed=7, extra_body={"top_k": -1, "min_p": 0.0, "repetition_penalty": 1.0})
    assert off == plain


def test_repetition_penalty_breaks_a_loop(client):
    loop = [{"role": "user", "content": "Write the word ping over and over: ping ping ping ping"}]

    def most_repeated(**extra) -> int:
        tokens = _tokens(client, max_tokens=40, messages=loop, temperature=0, extra_body=extra)
        return max(collections.Counter(tokens).values())

    assert most_repeated(repetition_penalty=1.8) < most_repeated()

"""Our numbers rest on the server's echoed log-probabilities: they must match transformers' for the
same weights (the bundled Q4_1 GGUF, dequantised to fp32 by transformers), token for token.

Tolerance: llama.cpp multiplies Q4_1 weights by 8-bit-quantised activations, transformers multiplies
the dequantised weights in fp32, so per-token log-probs differ by quantisation noise: measured here
~0.11 nats mean, ~1 nat at worst on a rare token over these texts. The bounds below (mean 0.25, 90th
percentile 0.5, max 2.0) leave room for that and still catch
the 4-9 nat disagreement llama-cpp-python's own server shows, an off-by-one shift, or a wrong model.
"""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest

from evaluation.client import make_client
from evaluation.perf import bundled_gguf

TEXTS = [
    "Question: Which port does HTTPS use by default?\nAnswer: 443",
    "The kernel OOM killer sent SIGKILL to postgres because the cgroup memory limit was reached.",
    "server {\n    listen 80;\n    location / { proxy_pass http://backend; }\n}",
]


@pytest.fixture(scope="module")
def hf_model():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    g = bundled_gguf()
    tok = AutoTokenizer.from_pretrained(str(g.parent), gguf_file=g.name)
    model = AutoModelForCausalLM.from_pretrained(str(g.parent), gguf_file=g.name, dtype=torch.float32).eval()
    return tok, model


def hf_logprobs(tok, model, text):
    import torch

    ids = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0].double()
    lp = torch.log_softmax(logits, -1)
    return (
        [tok.decode([i]) for i in ids],
        [lp[i - 1, ids[i]].item() for i in range(1, len(ids))],
        lp.argmax(-1).tolist(),
    )


def test_server_logprobs_match_transformers(hf_model, llm_server):
    tok, model = hf_model
    client = make_client(llm_server.base_url)
    resp = asyncio.run(
        client.completions.create(model=llm_server.model, prompt=TEXTS, echo=True, logprobs=1, max_tokens=0)
    )
    diffs, top_agree = [], []
    for text, choice in zip(TEXTS, sorted(resp.choices, key=lambda c: c.index)):
        tokens, ref, argmax = hf_logprobs(tok, model, text)
        lp = choice.logprobs
        assert lp.tokens == tokens  # same tokenisation, token for token
        assert lp.token_logprobs[0] is None and all(x is not None for x in lp.token_logprobs[1:])
        assert "".join(lp.tokens) == text and lp.text_offset[-1] == len(text) - len(lp.tokens[-1])
        diffs += [abs(a - b) for a, b in zip(lp.token_logprobs[1:], ref)]
        # the server's top-1 alternative at each position is transformers' argmax (most of the time:
        # near-ties can flip under quantisation noise)
        top_agree += [next(iter(top)) == tok.decode([argmax[i]]) for i, top in enumerate(lp.top_logprobs[1:])]
    diffs = np.array(diffs)
    print(
        f"per-token |Δ log p|: mean {diffs.mean():.3f}, p90 {np.percentile(diffs, 90):.3f}, "
        f"max {diffs.max():.3f} over {len(diffs)} tokens; "
        f"top-1 agreement {np.mean(top_agree):.2f}"
    )
    assert diffs.mean() < 0.25
    assert np.percentile(diffs, 90) < 0.5
    assert diffs.max() < 2.0
    assert np.mean(top_agree) >= 0.8

"""The lm-eval route: ``local-completions`` on the real ``sysmcq`` task against the real server,
offline, and its log-likelihoods agree with our own scorer's on the same items."""

from __future__ import annotations

import asyncio
import os

import pytest

from evaluation.client import make_client
from evaluation.data import load_mcq
from evaluation.domain import score_mcq_items
from evaluation.lmeval import export_tokenizer, run_lm_eval
from evaluation.perf import bundled_gguf

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return export_tokenizer(bundled_gguf(), tmp_path_factory.mktemp("tok"))


def test_exported_tokenizer_matches_server_tokens(tokenizer_dir, llm_server):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    text = "Question: Which port does HTTPS use?\nAnswer: 443"
    client = make_client(llm_server.base_url)
    resp = asyncio.run(
        client.completions.create(model=llm_server.model, prompt=text, echo=True, logprobs=1, max_tokens=0)
    )
    assert [tok.decode([i]) for i in tok(text, add_special_tokens=False)["input_ids"]] == resp.choices[
        0
    ].logprobs.tokens


def test_lm_eval_sysmcq_matches_our_scorer(tokenizer_dir, llm_server):
    out = run_lm_eval(
        llm_server.base_url,
        llm_server.model,
        limit=5,
        tokenizer_dir=tokenizer_dir,
        batch_size=4,
        log_samples=True,
    )
    res = out["results"]["sysmcq"]
    assert res["sample_len"] == 5
    samples = out["samples"]["sysmcq"]
    ids = [s["doc"]["id"] for s in samples]
    items = [i for i in load_mcq() if i.id in ids]
    assert len(items) == 5
    ours = {
        s.id: s
        for s in asyncio.run(score_mcq_items(make_client(llm_server.base_url), llm_server.model, items))
    }
    assert res["acc,none"] == pytest.approx(sum(s.correct for s in ours.values()) / 5)
    assert res["acc_norm,none"] == pytest.approx(sum(s.correct_norm for s in ours.values()) / 5)
    for sample in samples:
        lm_eval_lls = [r[0] for r in sample["filtered_resps"]]
        assert lm_eval_lls == pytest.approx(list(ours[sample["doc"]["id"]].loglikelihoods), abs=1e-3)

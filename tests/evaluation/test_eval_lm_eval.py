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


def test_lm_eval_hf_route_agrees_with_the_server(tokenizer_dir, llm_server):
    """``--model hf`` in-process on the bundled weights (dequantised to an fp32 checkpoint) against
    ``local-completions`` on the server's Q4_1 GGUF: the same items, choice log-likelihoods within
    quantisation noise (measured: mean |diff| 0.29 nats per choice, at most 0.74, the same argmax on 8 of 8).
    A wrong model, a shifted context or a dropped token costs several nats."""
    from pathlib import Path

    from evaluation.lmeval import run_lm_eval_hf
    from training.base_model import prepare_base

    root = Path(__file__).resolve().parents[2]
    checkpoint = prepare_base("bundled", root / "artifacts" / "base", root)
    hf = run_lm_eval_hf(checkpoint, limit=8, batch_size=4, log_samples=True)
    served = run_lm_eval(llm_server.base_url, llm_server.model, limit=8, tokenizer_dir=tokenizer_dir, batch_size=4,
                         log_samples=True)
    by_id = {s["doc"]["id"]: [r[0] for r in s["filtered_resps"]] for s in served["samples"]["sysmcq"]}
    diffs, same_argmax = [], 0
    for sample in hf["samples"]["sysmcq"]:
        ours, theirs = [r[0] for r in sample["filtered_resps"]], by_id[sample["doc"]["id"]]
        diffs += [abs(a - b) for a, b in zip(ours, theirs, strict=True)]
        same_argmax += max(range(len(ours)), key=ours.__getitem__) == max(range(len(theirs)), key=theirs.__getitem__)
    assert len(by_id) == 8 and hf["results"]["sysmcq"]["sample_len"] == 8
    assert max(diffs) < 1.5 and sum(diffs) / len(diffs) < 0.5, diffs
    assert same_argmax >= 6

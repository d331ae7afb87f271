"""The lm-eval route: ``local-completions`` on ``sysmcq`` against the real server, offline, and its
log-likelihoods agree with our own scorer's for the same items."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from evaluation.client import make_client
from evaluation.data import TASKS_DIR, load_mcq
from evaluation.domain import score_mcq_items
from evaluation.lmeval import export_tokenizer, run_lm_eval
from evaluation.perf import bundled_gguf

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

FIXTURE_YAML = """task: sysmcq
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "Question: {{{{question}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: answer
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""


@pytest.fixture(scope="module")
def tokenizer_dir(tmp_path_factory):
    return export_tokenizer(bundled_gguf(), tmp_path_factory.mktemp("tok"))


def test_exported_tokenizer_matches_server_tokens(tokenizer_dir, llm_server):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    text = "Question: Which port does HTTPS use?\nAnswer: 443"
    client = make_client(llm_server.base_url)
    resp = asyncio.run(client.completions.create(model=llm_server.model, prompt=text, echo=True, logprobs=1, max_tokens=0))
    assert [tok.decode([i]) for i in tok(text, add_special_tokens=False)["input_ids"]] == resp.choices[0].logprobs.tokens


def test_lm_eval_local_completions_on_fixture_matches_our_scorer(tmp_path, tokenizer_dir, llm_server, fixture_tasks_dir):
    data = fixture_tasks_dir / "sysmcq" / "sysmcq.jsonl"
    (tmp_path / "sysmcq").mkdir()
    (tmp_path / "sysmcq" / "sysmcq.yaml").write_text(FIXTURE_YAML.format(data=data))
    out = run_lm_eval(
        llm_server.base_url, llm_server.model, limit=5, tokenizer_dir=tokenizer_dir, include_path=tmp_path,
        batch_size=4, log_samples=True,
    )
    res = out["results"]["sysmcq"]
    ours = asyncio.run(score_mcq_items(make_client(llm_server.base_url), llm_server.model, load_mcq(data)))
    assert res["acc,none"] == pytest.approx(sum(s.correct for s in ours) / 5)
    assert res["acc_norm,none"] == pytest.approx(sum(s.correct_norm for s in ours) / 5)
    by_id = {s.id: s for s in ours}
    for sample in out["samples"]["sysmcq"]:
        lm_eval_lls = [r[0] for r in sample["filtered_resps"]]
        assert lm_eval_lls == pytest.approx(list(by_id[sample["doc"]["id"]].loglikelihoods), abs=1e-3)


@pytest.mark.skipif(not (TASKS_DIR / "sysmcq" / "sysmcq.yaml").exists(), reason="evaluation/tasks/sysmcq/sysmcq.yaml not written yet")
def test_lm_eval_on_the_real_sysmcq_task(tokenizer_dir, llm_server):
    res = run_lm_eval(llm_server.base_url, llm_server.model, limit=5, tokenizer_dir=tokenizer_dir, batch_size=4)
    assert res["sysmcq"]["sample_len"] == 5
    assert 0.0 <= res["sysmcq"]["acc,none"] <= 1.0 and 0.0 <= res["sysmcq"]["acc_norm,none"] <= 1.0
    assert Path(tokenizer_dir).exists()

"""Every data gate on small fixtures: bad lines (file:line), duplicates, near duplicates, contamination,
over-long examples, and config validation (unknown key, missing file)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from aletheia.tasks import ConfigReviewTask
from training.config import ConfigError, load_config, parse_stages
from training.dataprep import filters
from training.dataprep.schema import DataError, Record, check_dpo, check_sft, read_jsonl

from .conftest import ROOT, run_training, write_jsonl


def records(rows):
    return [Record(r, "mem.jsonl", i) for i, r in enumerate(rows, 1)]


# ---- schema: file:line errors ----------------------------------------------------------------------


def test_valid_fixtures_load(sft_rows, dpo_rows, tmp_path):
    assert len(read_jsonl(write_jsonl(tmp_path / "s.jsonl", sft_rows), check_sft)) == len(sft_rows)
    assert len(read_jsonl(write_jsonl(tmp_path / "d.jsonl", dpo_rows), check_dpo)) == len(dpo_rows)


def test_bad_json_line_names_file_and_line(sft_rows, tmp_path):
    path = write_jsonl(tmp_path / "sft.jsonl", sft_rows[:3])
    lines = path.read_text().splitlines()
    lines.insert(2, '{"messages": [oops')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError) as e:
        read_jsonl(path, check_sft)
    assert f"{path}:3: not valid JSON" in str(e.value)


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda r: r["messages"].pop(), "the last message must be the assistant's answer"),
        (lambda r: r.__setitem__("source", "poetry"), "`source` must be one of"),
        (lambda r: r["messages"][1].__setitem__("role", "robot"), "`messages[1].role` must be one of"),
        (lambda r: r["messages"][2].__setitem__("content", "  "), "`messages[2].content` must be a non-empty string"),
        (lambda r: r.pop("topic"), "missing key(s) ['topic']"),
        (lambda r: r.__setitem__("extra", 1), "unknown key(s) ['extra']"),
    ],
)
def test_schema_violation_names_line_and_problem(sft_rows, tmp_path, mutate, problem):
    rows = copy.deepcopy(sft_rows[:4])
    mutate(rows[3])
    path = write_jsonl(tmp_path / "sft.jsonl", rows)
    with pytest.raises(DataError) as e:
        read_jsonl(path, check_sft)
    assert f"{path}:4: " in str(e.value) and problem in str(e.value)


def test_dpo_schema(dpo_rows, tmp_path):
    rows = copy.deepcopy(dpo_rows[:3])
    rows[1]["rejected"] = rows[1]["chosen"]
    rows[2]["rejected_by"] = "vibes"
    with pytest.raises(DataError) as e:
        read_jsonl(write_jsonl(tmp_path / "dpo.jsonl", rows), check_dpo)
    msg = str(e.value)
    assert "dpo.jsonl:2: `chosen` and `rejected` are the same answer" in msg
    assert "dpo.jsonl:3: `rejected_by` must be" in msg


def test_duplicate_id_is_an_error(sft_rows, tmp_path):
    rows = copy.deepcopy(sft_rows[:3])
    rows[2]["id"] = rows[0]["id"]
    with pytest.raises(DataError, match=r"sft.jsonl:3: duplicate id .* \(first on line 1\)"):
        read_jsonl(write_jsonl(tmp_path / "sft.jsonl", rows), check_sft)


def test_bad_line_stops_the_cli_before_any_work(sft_rows, make_config, tmp_path):
    rows = copy.deepcopy(sft_rows)
    rows[5]["messages"] = []
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    cfg = make_config(sft=bad)
    proc = run_training(["--config", str(cfg)], tmp_path, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert f"{bad}:6: `messages` must be a non-empty list" in proc.stderr
    assert not (tmp_path / "runs").exists()  # nothing was started


# ---- duplicates --------------------------------------------------------------------------------------


def test_exact_duplicates_ignore_case_and_whitespace(sft_rows):
    dup = copy.deepcopy(sft_rows[0])
    dup["id"] = "copy"
    dup["messages"][-1]["content"] = "  " + dup["messages"][-1]["content"].upper().replace(" ", "   ")
    kept, dropped = filters.exact_duplicates(records(sft_rows + [dup]))
    assert len(kept) == len(sft_rows)
    assert dropped == {"copy": f"duplicate of {sft_rows[0]['id']}"}


def test_near_duplicates_are_dropped_but_distinct_examples_kept(sft_rows):
    near = copy.deepcopy(sft_rows[12])  # a config review: long enough for shingles to be meaningful
    near["id"] = "near"
    near["messages"][-1]["content"] = near["messages"][-1]["content"].replace("Pin", "Please pin")
    kept, dropped = filters.near_duplicates(records(sft_rows + [near]), threshold=0.8)
    assert list(dropped) == ["near"] and dropped["near"].startswith("near duplicate of ")
    assert len(kept) == len(sft_rows)  # none of the real, different examples is caught


# ---- contamination -----------------------------------------------------------------------------------


def test_contamination_drops_leaked_examples_only(sft_rows, tmp_path):
    tasks = tmp_path / "tasks" / "bench"
    tasks.mkdir(parents=True)
    leaked_answer = sft_rows[5]["messages"][-1]["content"]  # the postgres slow-query answer
    items = [
        {"id": "x1", "question": "Unrelated question about DNS caching?", "meta": {"ref": leaked_answer}},
        # the task boilerplate appears in every eval item by design and must not count as a leak
        {"id": "x2", "prompt": ConfigReviewTask(kind="dockerfile", content="FROM alpine:3.19\nRUN apk add curl\n")
         .user_prompt(), "answer": "- line 1: fine."},
    ]
    (tasks / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    texts, files = filters.load_eval_texts(tmp_path / "tasks")
    assert files == [str(tasks / "items.jsonl")] and len(texts) == 2
    index = filters.ContaminationIndex(texts, ngram=13, overlap=0.5)
    kept, dropped = filters.contamination(records(sft_rows), index)
    assert list(dropped) == [sft_rows[5]["id"]]
    assert "13-gram" in dropped[sft_rows[5]["id"]]
    assert len(kept) == len(sft_rows) - 1


def test_contamination_by_overlap_share(sft_rows):
    rec = records(sft_rows[12:13])[0]  # a config review
    toks = filters.words(filters.content_text(rec))
    # reworded with a word inserted after every 10th: no 13-gram survives, about 3 in 10 8-grams do
    reworded = " ".join(w + (" indeed" if i % 10 == 9 else "") for i, w in enumerate(toks))
    assert filters.ContaminationIndex([reworded], ngram=13, overlap=0.5).reason(filters.content_text(rec)) is None
    reason = filters.ContaminationIndex([reworded], ngram=13, overlap=0.25).reason(filters.content_text(rec))
    assert reason is not None and "8-grams occur in evaluation items" in reason


# ---- length and template gates (real tokenizer) ------------------------------------------------------


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    from training.base_model import prepare_base

    base = prepare_base("bundled", ROOT / "artifacts" / "base", ROOT)
    return AutoTokenizer.from_pretrained(base)


def test_over_long_examples_are_dropped(sft_rows, tokenizer):
    from training.dataprep.stage import length_filter

    long = copy.deepcopy(sft_rows[0])
    long["id"] = "long"
    long["messages"][1]["content"] += " please" * 600
    kept, dropped, lengths = length_filter(records(sft_rows + [long]), tokenizer, max_len=512)
    assert list(dropped) == ["long"] and dropped["long"].startswith("too_long: ")
    assert len(kept) == len(sft_rows) and all(0 < n <= 512 for n in lengths.values())


def test_data_stage_report(make_config, sft_rows, tmp_path, tokenizer):
    from training.dataprep.stage import run_data_stage

    rows = copy.deepcopy(sft_rows)
    dup = copy.deepcopy(rows[1])
    dup["id"] = "dup"
    rows.append(dup)
    cfg = load_config(make_config({"data.base_pairs": 0, "data.max_sft_examples": None},
                                  sft=write_jsonl(tmp_path / "sft.jsonl", rows), tasks_dir=tmp_path / "no-tasks"))
    out = tmp_path / "data"
    report = run_data_stage(cfg, out, tokenizer, ROOT, None)
    assert report["drops"]["sft"] == {"exact_duplicate": 1}
    assert report["output"]["sft_train"] + report["output"]["sft_eval"] == len(sft_rows)
    assert sum(report["sft_by_source"].values()) == report["output"]["sft_train"]
    assert report["drop_examples"]["sft"]["exact_duplicate"][0].startswith(f"{tmp_path / 'sft.jsonl'}:{len(rows)} dup")
    md = (out / "report.md").read_text()
    assert "| sft | exact_duplicate | 1 |" in md
    train = [json.loads(x) for x in (out / "sft_train.jsonl").read_text().splitlines()]
    assert {r["source"] for r in train} == {"qa", "config_review", "log_analysis"}


# ---- config ------------------------------------------------------------------------------------------


def test_unknown_config_key_is_named(make_config):
    path = make_config({"sft.learning_rat": 0.1})
    with pytest.raises(ConfigError) as e:
        load_config(path)
    assert str(path) in str(e.value) and "unknown key `sft.learning_rat`" in str(e.value)


def test_wrong_type_and_missing_file_are_named(make_config, tmp_path):
    with pytest.raises(ConfigError, match=r"`sft.max_steps` must be an integer"):
        load_config(make_config({"sft.max_steps": "ten"}))
    with pytest.raises(ConfigError, match=r"`data.sft_path` names a file that does not exist"):
        load_config(make_config(sft=tmp_path / "nope.jsonl"))
    with pytest.raises(ConfigError, match=r"`export.outtype` must be one of"):
        load_config(make_config({"export.outtype": "q2_k"}))


def test_unknown_key_stops_the_cli(make_config, tmp_path):
    proc = run_training(["--config", str(make_config({"dpo.bta": 0.2}))], tmp_path, timeout=60)
    assert proc.returncode == 2 and "unknown key `dpo.bta`" in proc.stderr


@pytest.mark.parametrize("name", ["quick.yaml", "default.yaml", "gpu.yaml"])
def test_shipped_configs_validate(name):
    overrides = {"data.sft_path": str(ROOT / "tests/training/data/sft.jsonl"),
                 "data.dpo_path": str(ROOT / "tests/training/data/dpo.jsonl")}
    if name == "gpu.yaml":  # its base model is a directory provided on the GPU machine
        overrides["base_model"] = "bundled"
    cfg = load_config(ROOT / "training/configs" / name, overrides=overrides)
    assert cfg.name and cfg.sft.lora.r > 0


def test_stage_list_is_checked():
    assert parse_stages("export,data,sft") == ["data", "sft", "export"]
    with pytest.raises(ConfigError, match="unknown stage"):
        parse_stages("data,train")

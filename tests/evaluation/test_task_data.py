"""The held-out benchmark data in ``evaluation/tasks``: schemas, unique ids, the MCQ quality rules,
exact line numbers in config-review and log-analysis items, and the lm-eval YAML loading."""

from __future__ import annotations

import collections
import json
import os
import re
from pathlib import Path

import pytest
import yaml

from evaluation import matching

TASKS = Path(__file__).resolve().parents[2] / "evaluation" / "tasks"
TOPICS = {
    "linux",
    "networking",
    "databases",
    "kubernetes",
    "containers",
    "web_servers",
    "observability",
    "distributed_systems",
    "performance",
    "security",
}
CONFIG_KINDS = {"dockerfile", "kubernetes", "compose", "nginx", "systemd"}


def rows(task: str) -> list[dict]:
    path = TASKS / task / f"{task}.jsonl"
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        assert line.strip(), f"{path}:{n}: blank line"
        out.append(json.loads(line))
    return out


def aliases(keyword: str) -> list[str]:
    parts = [a.strip() for a in keyword.split("|")]
    assert all(parts), f"empty alias in {keyword!r}"
    return parts


@pytest.mark.parametrize("task", ["sysmcq", "open_qa", "config_review", "log_analysis"])
def test_ids_unique_and_prefixed(task):
    items = rows(task)
    ids = [r["id"] for r in items]
    assert len(ids) == len(set(ids))
    prefix = {"sysmcq": "mcq-", "open_qa": "oqa-", "config_review": "cfg-", "log_analysis": "log-"}[task]
    assert all(isinstance(i, str) and i.startswith(prefix) for i in ids)


# ---------------------------------------------------------------------------------------------- MCQ


def test_mcq_schema_and_counts():
    items = rows("sysmcq")
    assert len(items) >= 160
    per_topic = collections.Counter(r["topic"] for r in items)
    assert set(per_topic) == TOPICS
    assert min(per_topic.values()) >= 16
    for r in items:
        assert set(r) == {"id", "topic", "question", "choices", "answer"}, r["id"]
        q = r["question"]
        assert isinstance(q, str) and (q.strip().endswith("?") or ":" in q), r["id"]
        assert isinstance(r["choices"], list) and len(r["choices"]) == 4, r["id"]
        assert all(isinstance(c, str) and c.strip() for c in r["choices"]), r["id"]
        assert len({c.strip().lower() for c in r["choices"]}) == 4, f"{r['id']}: duplicate choices"
        assert isinstance(r["answer"], int) and 0 <= r["answer"] < 4, r["id"]
        joined = " ".join(r["choices"]).lower()
        assert "all of the above" not in joined and "none of the above" not in joined, r["id"]


def _longest_answer_fraction(items) -> float:
    hits = sum(len(r["choices"][r["answer"]]) >= max(len(c) for c in r["choices"]) for r in items)
    return hits / len(items)


def test_mcq_correct_answer_is_not_usually_the_longest():
    items = rows("sysmcq")
    frac = _longest_answer_fraction(items)
    print(f"sysmcq: correct choice is (one of) the longest in {frac:.1%} of {len(items)} items")
    assert 0.15 <= frac <= 0.40
    shortest = sum(len(r["choices"][r["answer"]]) <= min(len(c) for c in r["choices"]) for r in items) / len(
        items
    )
    assert shortest <= 0.40, f"correct choice is the shortest in {shortest:.1%} of items"


def test_mcq_answer_positions_are_spread():
    items = rows("sysmcq")
    counts = collections.Counter(r["answer"] for r in items)
    print("sysmcq answer positions:", dict(sorted(counts.items())))
    assert set(counts) == {0, 1, 2, 3}
    expected = len(items) / 4
    assert all(abs(c - expected) <= 0.15 * expected for c in counts.values()), counts


# ------------------------------------------------------------------------------------------ open QA


def test_open_qa_schema_and_key_facts_found_in_reference():
    items = rows("open_qa")
    assert len(items) >= 110
    per_topic = collections.Counter(r["topic"] for r in items)
    assert set(per_topic) == TOPICS and min(per_topic.values()) >= 10
    for r in items:
        assert set(r) == {"id", "topic", "question", "reference", "key_facts", "context"}, r["id"]
        assert r["question"].strip() and r["context"] == ""
        sentences = [s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z`])", r["reference"].strip()) if s]
        assert 2 <= len(sentences) <= 6, (r["id"], len(sentences))
        assert 2 <= len(r["key_facts"]) <= 5, r["id"]
        for fact in r["key_facts"]:
            # every key fact is short, survives the scorer's normalisation, and the reference answer
            # itself mentions it (so a perfect answer gets full coverage from the real matcher)
            assert all(len(a) <= 40 for a in aliases(fact)), (r["id"], fact)
            assert len(matching.aliases(fact)) == len(aliases(fact)), (
                r["id"],
                fact,
                "alias lost in normalisation",
            )
            assert matching.spec_matches(fact, r["reference"]), (r["id"], fact)


# ------------------------------------------------------------------------------------ config review


def _line_tokens(defect: dict) -> list[str]:
    tokens = [a for kw in defect["keywords"] for a in aliases(kw)]
    tokens += re.findall(r"`([^`]+)`", defect["description"])
    return [t for t in tokens if len(t) >= 2]


def test_config_review_schema_and_exact_lines():
    items = rows("config_review")
    assert len(items) >= 40
    kinds = collections.Counter(r["kind"] for r in items)
    assert set(kinds) == CONFIG_KINDS and min(kinds.values()) >= 6
    clean = sum(not r["defects"] for r in items)
    assert 3 <= clean <= len(items) // 4
    for r in items:
        assert set(r) == {"id", "kind", "path", "content", "defects"}, r["id"]
        assert r["path"] and r["content"].endswith("\n")
        lines = r["content"].splitlines()
        assert 0 <= len(r["defects"]) <= 4, r["id"]
        seen = set()
        for d in r["defects"]:
            assert set(d) == {"line", "keywords", "description"}, r["id"]
            assert isinstance(d["line"], int) and 1 <= d["line"] <= len(lines), (r["id"], d["line"])
            assert d["line"] not in seen, (r["id"], d["line"])
            seen.add(d["line"])
            assert 1 <= len(d["keywords"]) <= 4 and d["description"].strip()
            text = lines[d["line"] - 1].lower()
            assert text.strip(), (r["id"], d["line"], "blank line")
            assert any(t.lower() in text for t in _line_tokens(d)), (r["id"], d["line"], lines[d["line"] - 1])


def test_config_review_keywords_match_their_own_defect_only():
    """The scorer also credits a finding on another line whose text matches a defect's keywords, so
    each defect's keywords match its own description and no other defect's description in the file."""
    for r in rows("config_review"):
        for d in r["defects"]:
            assert all(matching.spec_matches(k, d["description"]) for k in d["keywords"]), (
                r["id"],
                d["line"],
            )
            for other in r["defects"]:
                if other is not d:
                    hits = [k for k in d["keywords"] if matching.spec_matches(k, other["description"])]
                    assert not hits, (r["id"], d["line"], other["line"], hits)


@pytest.mark.parametrize("kind", ["kubernetes", "compose"])
def test_config_review_yaml_files_parse(kind):
    for r in rows("config_review"):
        if r["kind"] == kind:
            docs = [d for d in yaml.safe_load_all(r["content"]) if d is not None]
            assert docs and all(isinstance(d, dict) for d in docs), r["id"]


def test_config_review_contents_are_varied():
    contents = [r["content"] for r in rows("config_review")]
    assert len(set(contents)) == len(contents)


# ------------------------------------------------------------------------------------- log analysis


def test_log_analysis_schema_and_evidence_lines():
    items = rows("log_analysis")
    assert len(items) >= 30
    assert len({r["source"] for r in items}) >= 10
    for r in items:
        assert set(r) == {"id", "source", "log", "root_cause_keywords", "evidence_lines", "description"}, r[
            "id"
        ]
        lines = r["log"].splitlines()
        assert 15 <= len(lines) <= 60, (r["id"], len(lines))
        assert 1 <= len(r["root_cause_keywords"]) <= 5 and all(aliases(k) for k in r["root_cause_keywords"])
        ev = r["evidence_lines"]
        assert ev and ev == sorted(set(ev)), r["id"]
        assert all(isinstance(n, int) and 1 <= n <= len(lines) and lines[n - 1].strip() for n in ev), r["id"]
        assert r["description"].strip().endswith(".")


def test_log_analysis_root_cause_keywords_match_the_description():
    for r in rows("log_analysis"):
        # the true root cause, written as an answer, gets full keyword coverage from the scorer
        assert matching.coverage(r["root_cause_keywords"], r["description"]) == 1.0, r["id"]


def test_task_formats_render_the_items():
    """The shared task definitions accept every item (numbered lines are the ones the answers cite)."""
    from aletheia.tasks import ConfigReviewTask, LogAnalysisTask, QuestionTask

    for r in rows("config_review"):
        prompt = ConfigReviewTask(kind=r["kind"], content=r["content"], path=r["path"]).user_prompt()
        for d in r["defects"]:
            line = r["content"].splitlines()[d["line"] - 1]
            assert re.search(rf"^\s*{d['line']} \| {re.escape(line)}$", prompt, re.MULTILINE), (
                r["id"],
                d["line"],
            )
    for r in rows("log_analysis"):
        prompt = LogAnalysisTask(excerpt=r["log"], source=r["source"]).user_prompt()
        for n in r["evidence_lines"]:
            line = r["log"].splitlines()[n - 1]
            assert re.search(rf"^\s*{n} \| {re.escape(line)}$", prompt, re.MULTILINE), (r["id"], n)
    for r in rows("open_qa"):
        assert (
            QuestionTask(question=r["question"], context=r["context"]).user_prompt() == r["question"].strip()
        )


# ---------------------------------------------------------------------------------------- lm-eval YAML


def test_sysmcq_yaml_fields():
    text = (TASKS / "sysmcq" / "sysmcq.yaml").read_text()
    cfg = yaml.load(text, Loader=_FunctionTagLoader)
    assert cfg["task"] == "sysmcq" and cfg["dataset_path"] == "json"
    assert cfg["dataset_kwargs"]["data_files"]["test"] == "evaluation/tasks/sysmcq/sysmcq.jsonl"
    assert cfg["output_type"] == "multiple_choice" and cfg["test_split"] == "test"
    assert cfg["doc_to_text"] == "Question: {{question}}\nAnswer:"
    assert cfg["doc_to_choice"] == "{{choices}}" and cfg["doc_to_target"] == "answer"
    assert {m["metric"] for m in cfg["metric_list"]} == {"acc", "acc_norm"}


class _FunctionTagLoader(yaml.SafeLoader):
    pass


_FunctionTagLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


def test_sysmcq_yaml_loads_in_lm_eval_from_any_directory(tmp_path, monkeypatch):
    pytest.importorskip("lm_eval")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    from lm_eval.tasks import TaskManager

    monkeypatch.chdir(tmp_path)  # not the repository root: the custom loader still finds the data
    manager = TaskManager(include_path=str(TASKS))
    if hasattr(manager, "load"):  # lm-eval >= 0.4.10
        task = manager.load(["sysmcq"])["tasks"]["sysmcq"]
    else:
        task = manager.load_task_or_group(["sysmcq"])["sysmcq"]
    docs = list(task.test_docs())
    expected = rows("sysmcq")
    assert len(docs) == len(expected)
    doc, ref = docs[0], expected[0]
    assert task.doc_to_text(doc) == f"Question: {ref['question']}\nAnswer:"
    assert task.doc_to_choice(doc) == ref["choices"]
    assert task.doc_to_target(doc) == ref["answer"]

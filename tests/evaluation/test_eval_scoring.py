"""The pure scorers: fuzzy matching, MCQ from log-likelihoods, key facts, config review, log analysis."""

from __future__ import annotations

import pytest

from aletheia.tasks import (
    Finding,
    LogAnswer,
    format_config_review_answer,
    parse_config_review_answer,
    parse_log_answer,
)
from evaluation import matching, scoring
from evaluation.client import continuation_logprob
from evaluation.data import DomainData, load_config_review, load_log_analysis, load_mcq, load_open_qa, select


def test_fixture_tasks_load(fixture_tasks_dir):
    data = DomainData.load(fixture_tasks_dir)
    assert [len(data.mcq), len(data.open_qa), len(data.config_review), len(data.log_analysis)] == [5, 3, 2, 2]
    assert data.config_review[0].defects[1].line == 4
    assert len(DomainData.load(fixture_tasks_dir, limit=2, seed=1).mcq) == 2


def test_select_is_seeded_and_limited():
    items = list(range(50))
    assert select(items, 5) == [0, 1, 2, 3, 4]
    assert select(items, 5, seed=3) == select(items, 5, seed=3)
    assert select(items, 5, seed=3) != select(items, 5, seed=4)
    assert select(items, None) == items


def test_real_task_files_parse_when_present():
    # the benchmark data another helper writes; every row must load into the typed records
    from evaluation.data import task_path

    loaders = {
        "sysmcq": load_mcq,
        "open_qa": load_open_qa,
        "config_review": load_config_review,
        "log_analysis": load_log_analysis,
    }
    for task, load in loaders.items():
        assert task_path(task).exists(), task
        assert load(), task


@pytest.mark.parametrize(
    "spec,text,expected",
    [
        ("SIGKILL|kill -9", "The kernel sent SIGKILL to the process.", True),
        ("SIGKILL|kill -9", "run `kill -9 1234`", True),
        ("oom", "the room was empty", False),  # short aliases only on word boundaries
        ("oom|out of memory", "The process ran Out-Of-Memory.", True),
        ("max_connections", "raise max connections in postgresql.conf", True),
        ("readinessProbe", "add a readinesProbe to the pod", True),  # fuzzy: one letter missing
        ("readinessProbe", "add a liveness probe", False),
        ("restartPolicy", "", False),
    ],
)
def test_spec_matching(spec, text, expected):
    assert matching.spec_matches(spec, text) is expected


def test_coverage_counts_each_fact_once():
    facts = ["ss -tlnp|lsof -i", "pid|process id"]
    assert matching.coverage(facts, "use ss -tlnp, it shows the PID") == 1.0
    assert matching.coverage(facts, "use ss -tlnp") == 0.5
    assert matching.coverage(facts, "no idea") == 0.0
    assert matching.coverage([], "anything") == 1.0


def test_mcq_acc_and_acc_norm_differ_by_length(fixture_tasks_dir):
    item = load_mcq(fixture_tasks_dir / "sysmcq" / "sysmcq.jsonl")[0]  # answer 1: SIGKILL (7 bytes)
    # raw sum prefers SIGHUP (-5.0); per byte SIGKILL wins (-5.6/7 = -0.8 > -5.0/6 = -0.83)
    s = scoring.score_mcq(item, [-9.0, -5.6, -5.0, -8.0])
    assert (s.pred, s.pred_norm, s.correct, s.correct_norm) == (2, 1, False, True)
    agg = scoring.aggregate_mcq([s, scoring.score_mcq(item, [-9.0, -1.0, -5.0, -8.0])])
    assert agg == {"acc": 0.5, "acc_norm": 1.0, "n": 2}
    with pytest.raises(ValueError):
        scoring.score_mcq(item, [-1.0, -2.0])


class _LP:
    def __init__(self, tokens, lps):
        self.tokens = tokens
        self.token_logprobs = lps
        self.text_offset = []
        off = 0
        for t in tokens:
            self.text_offset.append(off)
            off += len(t)


def test_continuation_logprob_uses_tokens_after_context():
    ctx = "Question: x\nAnswer:"
    lp = _LP(
        ["Question", ":", " x", "\n", "Answer", ":", " SIG", "KILL"], [None, -1, -2, -3, -4, -5, -0.5, -0.25]
    )
    assert continuation_logprob(lp, len(ctx)) == pytest.approx(-0.75)
    # a token straddling the boundary (":" + " S" merged) belongs to the continuation
    lp2 = _LP(["Question: x\nAnswer", ": S", "IG"], [None, -1.0, -2.0])
    assert continuation_logprob(lp2, len(ctx)) == pytest.approx(-3.0)
    with pytest.raises(ValueError):
        continuation_logprob(_LP(["abc"], [None]), 3)


def test_open_qa_score(fixture_tasks_dir):
    item = load_open_qa(fixture_tasks_dir / "open_qa" / "open_qa.jsonl")[1]
    good = scoring.score_open_qa(item, "The kubelet restarts the container according to the restart policy.")
    half = scoring.score_open_qa(item, "It gets restarted.")
    assert good.coverage == 1.0
    assert half.coverage == pytest.approx(1 / 3)
    agg = scoring.aggregate_open_qa([good, half])
    assert agg["key_fact_coverage"] == pytest.approx(2 / 3)
    assert agg["all_facts_rate"] == 0.5


def test_config_review_precision_recall(fixture_tasks_dir):
    item = load_config_review(fixture_tasks_dir / "config_review" / "config_review.jsonl")[0]
    answer = format_config_review_answer(
        [
            Finding(
                2, "The image tag latest is unpinned", "pin python:3.12-slim"
            ),  # line off by one -> matches line 1
            Finding(9, "Runs as root", "add USER app"),  # wrong line, but keyword matches defect 2
            Finding(3, "pip cache is kept in the image"),  # line 3: within 1 of line 4 -> counts
        ]
    )
    findings = parse_config_review_answer(answer)
    s = scoring.score_config_review(item, findings)
    assert (s.n_defects, s.n_found, s.n_findings, s.n_correct_findings) == (2, 2, 3, 3)
    # a finding far from every defect with no keyword is a false positive
    fp = scoring.score_config_review(item, [Finding(30, "Weird spacing")])
    assert (fp.n_found, fp.n_correct_findings) == (0, 0)
    strict = scoring.score_config_review(item, [Finding(3, "pip cache")], line_tolerance=0)
    assert strict.n_found == 0
    agg = scoring.aggregate_config_review([s, fp])
    assert agg["recall"] == pytest.approx(2 / 4)
    assert agg["precision"] == pytest.approx(3 / 4)
    assert agg["f1"] == pytest.approx(2 * 0.5 * 0.75 / 1.25)


def test_config_review_no_defects_no_findings_is_perfect():
    from evaluation.data import ConfigReviewItem

    clean = ConfigReviewItem("c", "nginx", "server {}\n", ())
    s = scoring.score_config_review(clean, parse_config_review_answer("No defects found."))
    agg = scoring.aggregate_config_review([s])
    assert (agg["precision"], agg["recall"]) == (1.0, 1.0)


def test_log_analysis_score(fixture_tasks_dir):
    item = load_log_analysis(fixture_tasks_dir / "log_analysis" / "log_analysis.jsonl")[0]
    right = parse_log_answer(
        "Root cause: The kernel OOM killer ran out of memory and killed app.\nEvidence: lines 2, 3\nFix: raise memory"
    )
    s = scoring.score_log_analysis(item, right)
    assert s.root_cause_found and s.evidence_recall == 1.0 and s.evidence_precision == 1.0
    partial = scoring.score_log_analysis(item, parse_log_answer("Root cause: the OOM killer fired"))
    assert not partial.root_cause_found and partial.keyword_coverage == 0.5  # "memory" is missing
    wrong = parse_log_answer("Root cause: a network partition\nEvidence: lines 1, 2")
    w = scoring.score_log_analysis(item, wrong)
    assert not w.root_cause_found and w.evidence_recall == 0.5 and w.evidence_precision == 0.5
    # the keywords are in the answer but not on a Root cause line: the format was not followed
    unformatted = scoring.score_log_analysis(item, parse_log_answer("It ran out of memory (OOM)."))
    assert not unformatted.root_cause_found and not unformatted.in_format
    agg = scoring.aggregate_log_analysis([s, w, unformatted])
    assert agg["root_cause_acc"] == pytest.approx(1 / 3)
    assert agg["answered_in_format"] == pytest.approx(2 / 3)
    assert isinstance(LogAnswer("x"), LogAnswer)


def test_config_review_format_flag():
    from evaluation.data import ConfigReviewItem

    item = ConfigReviewItem("c", "nginx", "a\nb\n", (scoring.Defect(1, ("a",)),))
    said_none = scoring.score_config_review(item, [], answer="No defects found.")
    rambled = scoring.score_config_review(item, [], answer="This config looks interesting.")
    assert said_none.in_format and not rambled.in_format
    assert said_none.n_found == 0

"""The training data sources: committed files equal a fresh build, every record is well formed and
renders with aletheia.tasks, planted config defects and log evidence sit on the lines the answers name,
and every preference pair's rejected answer is wrong in the way its ``rejected_by`` says."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from aletheia.tasks import (
    SYSTEM_PROMPT,
    QuestionTask,
    parse_config_review_answer,
    parse_log_answer,
)
from training.data import build, corruptions
from training.data.configs.generate import KINDS, STATIC_RULES, static_analysis
from training.data.configs.generate import generate as generate_config
from training.data.logs.generate import SCENARIOS
from training.data.logs.generate import generate as generate_log
from training.data.qa import load_all

CONFIG_SEEDS = range(60)
LOG_SEEDS = range(20)


@pytest.fixture(scope="module")
def built() -> tuple[list[dict], list[dict]]:
    return build.build()


@pytest.fixture(scope="module")
def committed() -> tuple[list[dict], list[dict]]:
    def read(path):
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]

    return read(build.SFT_PATH), read(build.DPO_PATH)


# ------------------------------------------------------------------------------------------- the files


def test_committed_files_equal_a_fresh_build(built):
    sft, dpo = built
    assert build.SFT_PATH.read_text(encoding="utf-8") == build.dumps(sft), "run python -m training.data.build"
    assert build.DPO_PATH.read_text(encoding="utf-8") == build.dumps(dpo), "run python -m training.data.build"


def test_readme_counts_are_current(built):
    sft, dpo = built
    readme = build.README_PATH.read_text(encoding="utf-8")
    table = build.counts_table(sft, dpo)
    assert build.readme_with_counts(readme, table) == readme, "run python -m training.data.build"


def test_build_is_deterministic(built):
    assert build.build() == built


def test_counts_leave_margin_for_deduplication(committed):
    sft, dpo = committed
    assert len(sft) >= 1500
    assert len(dpo) >= 800
    sources = Counter(r["source"] for r in sft)
    assert set(sources) == {"qa", "config_review", "log_analysis"}
    assert min(sources.values()) >= 350
    kinds = Counter(r["rejected_by"] for r in dpo)
    for kind in (
        "wrong_fact",
        "vague",
        "missed_defect",
        "wrong_line",
        "invented_defect",
        "wrong_root_cause",
        "noise_as_cause",
        "wrong_evidence",
    ):
        assert kinds[f"corruption:{kind}"] >= 40, kind


def test_sft_records_are_well_formed(committed):
    sft, _ = committed
    ids = [r["id"] for r in sft]
    assert len(ids) == len(set(ids))
    contents = set()
    for r in sft:
        assert set(r) == {"messages", "source", "topic", "id"}
        assert [m["role"] for m in r["messages"]] == ["system", "user", "assistant"]
        assert r["messages"][0]["content"] == SYSTEM_PROMPT
        assert all(isinstance(m["content"], str) and m["content"].strip() for m in r["messages"])
        assert r["topic"] and r["source"] in ("qa", "config_review", "log_analysis")
        text = " ".join(" ".join(m["content"].split()) for m in r["messages"][1:]).lower()
        assert text not in contents, f"exact duplicate: {r['id']}"
        contents.add(text)


def test_dpo_records_are_well_formed(committed):
    sft, dpo = committed
    ids = [r["id"] for r in dpo]
    assert len(ids) == len(set(ids))
    sft_by_id = {r["id"]: r for r in sft}
    for r in dpo:
        assert set(r) == {"prompt", "chosen", "rejected", "rejected_by", "source", "topic", "id"}
        assert [m["role"] for m in r["prompt"]] == ["system", "user"]
        assert [m["role"] for m in r["chosen"]] == ["assistant"] == [m["role"] for m in r["rejected"]]
        assert (
            r["rejected"][0]["content"].strip() and r["rejected"][0]["content"] != r["chosen"][0]["content"]
        )
        assert r["rejected_by"].startswith("corruption:")
        # every pair's prompt and chosen answer is one of the SFT examples
        base = sft_by_id[r["id"].rsplit("-", 1)[0]]
        assert base["messages"][:2] == r["prompt"] and base["messages"][2] == r["chosen"][0]


def test_answers_parse_with_the_task_formats(committed):
    sft, _ = committed
    for r in sft:
        user, answer = r["messages"][1]["content"], r["messages"][2]["content"]
        if r["source"] == "config_review":
            findings = parse_config_review_answer(answer)
            n_lines = user.split("```")[1].count("\n") - 1
            assert findings or answer.startswith("No defects found.")
            assert all(1 <= f.line <= n_lines for f in findings), r["id"]
            assert all(f.fix for f in findings)
        elif r["source"] == "log_analysis":
            parsed = parse_log_answer(answer)
            assert parsed.root_cause and parsed.fix and parsed.evidence_lines, r["id"]
            numbered = {int(line.split("|", 1)[0]) for line in user.split("```")[1].strip().splitlines()}
            assert set(parsed.evidence_lines) <= numbered, r["id"]


# ----------------------------------------------------------------------------------------------- Q&A


def test_qa_covers_the_topics_with_distinct_questions():
    items = load_all()
    per_topic = Counter(i.topic for i in items)
    assert len(per_topic) >= 10 and min(per_topic.values()) >= 30, per_topic
    for required in (
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
    ):
        assert per_topic[required] >= 30
    questions = [i.question.lower() for i in items]
    assert len(questions) == len(set(questions))
    assert sum(bool(i.wrong_answer) for i in items) >= 100
    assert sum(bool(i.context) for i in items) >= 20
    for i in items:
        assert i.wrong_answer != i.answer
        assert 1 <= i.answer.count(".") + i.answer.count("\n- ")  # at least one sentence


def test_qa_examples_render_with_question_task(committed):
    sft, _ = committed
    rendered = {tuple((m["role"], m["content"]) for m in r["messages"]) for r in sft if r["source"] == "qa"}
    for item in load_all():
        task = QuestionTask(
            question=item.question, context=item.context, path=item.path, language=item.language
        )
        assert tuple((m["role"], m["content"]) for m in task.messages(item.answer)) in rendered


# --------------------------------------------------------------------------------------- config review


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_config_findings_name_the_lines_that_carry_the_defects(kind):
    clean = with_static = 0
    for seed in CONFIG_SEEDS:
        sample = generate_config(kind, seed)
        lines = sample.content.splitlines()
        by_line = {f.line: f for f in sample.findings}
        assert len(by_line) == len(sample.findings) or len(sample.defects) > len(by_line)
        for defect in sample.defects:
            number = sample.doc.number(defect.line)
            assert defect.token in lines[number - 1], (kind, seed, defect.rule)
            assert number in by_line
        if sample.static:  # exactly what the editor's analyser reports, and every tag is one it sent
            analysed = static_analysis(sample.content, sample.path)
            assert [(f.line, f.rule, f.message) for f in sample.static] == [
                (f.line, f.rule, f.message) for f in analysed
            ]
            sent = {(f.line, f.rule) for f in sample.static}
            assert all((f.line, f.rule) in sent for f in sample.findings if f.rule)
        else:
            assert not any(f.rule for f in sample.findings)
        clean += not sample.findings
        with_static += bool(sample.static)
        answer = sample.answer()
        assert [f.line for f in parse_config_review_answer(answer)] == [f.line for f in sample.findings]
        if not sample.findings:
            assert answer.startswith("No defects found.")
    assert 2 <= clean <= 15, clean
    assert 8 <= with_static <= 40, with_static


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_static_analyser_warnings_are_planted_defects(kind):
    """Every warning or error the editor's analyser raises on a generated file is one of the planted defects,
    so a reference answer never ignores a real static finding (informational notes aside)."""
    for seed in CONFIG_SEEDS:
        sample = generate_config(kind, seed)
        planted = {
            (sample.doc.number(d.line), r) for d in sample.defects for r in STATIC_RULES.get(d.rule, ())
        }
        explained = {r for d in sample.defects for r in STATIC_RULES.get(d.rule, ())}
        for f in static_analysis(sample.content, sample.path):
            if f.severity in ("warning", "error"):
                assert (f.line, f.rule) in planted or f.rule in explained, (kind, seed, f)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_clean_bases_carry_none_of_the_defect_tokens(kind):
    for seed in CONFIG_SEEDS:
        sample = generate_config(kind, seed)
        if sample.defects:
            continue
        text = sample.content
        for token in (
            ":latest",
            "privileged: true",
            "autoindex on",
            "server_tokens on",
            "runAsUser: 0",
            "hostPath",
            "KillMode=none",
            "RestartSec=0",
            "chmod -R 777",
            "TLSv1 ",
        ):
            assert token not in text, (kind, seed, token)


def test_config_corruptions_are_wrong_in_the_named_way():
    seen = Counter()
    for kind in sorted(KINDS):
        for seed in CONFIG_SEEDS:
            sample = generate_config(kind, seed)
            ref = [(f.line, f.message) for f in parse_config_review_answer(sample.answer())]
            rng = random.Random(seed)
            for name, corrupt in corruptions.CONFIG_CORRUPTIONS.items():
                text = corrupt(sample, rng)
                if text is None:
                    continue
                seen[name] += 1
                got = [(f.line, f.message) for f in parse_config_review_answer(text)]
                assert got != ref
                if name == "missed_defect":
                    assert len(got) == len(ref) - 1 and set(got) < set(ref)
                elif name == "wrong_line":
                    assert sorted(m for _, m in got) == sorted(m for _, m in ref)
                    moved = set(got) - set(ref)
                    assert len(moved) == 1
                    ((line, message),) = moved
                    defect = next(d for d in sample.defects if d.message.rstrip(".") == message.rstrip("."))
                    assert defect.token not in sample.content.splitlines()[line - 1]
                elif name == "invented_defect":
                    assert len(got) == len(ref) + 1 and set(ref) < set(got)
    assert min(seen.values()) > 50, seen


# ---------------------------------------------------------------------------------------- log analysis


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_log_evidence_points_at_the_planted_lines(name):
    for seed in LOG_SEEDS:
        sample = generate_log(name, seed)
        task, ref = sample.task, sample.reference
        n = len(task.excerpt.splitlines())
        noise = set(sample.noise_lines)
        assert ref.evidence_lines and len(set(ref.evidence_lines)) == len(ref.evidence_lines)
        for line in ref.evidence_lines:
            assert task.first_line <= line < task.first_line + n
            assert line not in noise, (name, seed, line)
        assert len(noise) + len(ref.evidence_lines) <= n
        assert parse_log_answer(sample.answer()) == ref
        assert all(f in ref.evidence_lines for f in task.focus_lines)


def test_log_generation_varies_across_seeds():
    for name in sorted(SCENARIOS):
        excerpts = {generate_log(name, seed).task.excerpt for seed in LOG_SEEDS}
        offsets = {generate_log(name, seed).task.first_line for seed in LOG_SEEDS}
        assert len(excerpts) == len(LOG_SEEDS) and len(offsets) > len(LOG_SEEDS) // 2


def test_log_corruptions_are_wrong_in_the_named_way():
    for name in sorted(SCENARIOS):
        for seed in LOG_SEEDS:
            sample = generate_log(name, seed)
            ref = sample.reference
            rng = random.Random(seed)
            wrong_cause = parse_log_answer(corruptions.wrong_root_cause(sample, rng))
            assert (
                wrong_cause.root_cause != ref.root_cause and wrong_cause.evidence_lines == ref.evidence_lines
            )
            noise = parse_log_answer(corruptions.noise_as_cause(sample, rng))
            assert set(noise.evidence_lines) <= set(sample.noise_lines)
            text = corruptions.wrong_evidence(sample, rng)
            if text is not None:
                wrong = parse_log_answer(text)
                assert wrong.root_cause == ref.root_cause and wrong.evidence_lines != ref.evidence_lines


# ------------------------------------------------------------------------------------------ lengths


def test_examples_stay_within_the_character_budgets(committed):
    """A character proxy for the 1024-token context (measured: ~1.9 chars/token for logs, ~2.6 for configs)."""
    from training.data.configs.generate import DEFAULT_MAX_CHARS, MAX_CHARS
    from training.data.logs.common import MIN_NOISE
    from training.data.logs.generate import EXCERPT_CHARS

    for kind in sorted(KINDS):
        for seed in CONFIG_SEEDS:
            sample = generate_config(kind, seed)
            size = len(sample.task().user_prompt()) + len(sample.answer())
            assert size <= MAX_CHARS.get(kind, DEFAULT_MAX_CHARS)
    for name in sorted(SCENARIOS):
        for seed in LOG_SEEDS:
            sample = generate_log(name, seed)
            assert len(sample.task.excerpt) <= EXCERPT_CHARS[1] or len(sample.noise_lines) == MIN_NOISE
            assert len(sample.noise_lines) >= MIN_NOISE

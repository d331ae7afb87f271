"""The suites against the real server on the bundled model: domain scoring, judges and win-rate
sanity properties, load profile (ours and llama_cpp.server), the report, the CLI and quick_evaluate."""

from __future__ import annotations

import asyncio
import json

import pytest

from evaluation.client import chat_answers, make_client
from evaluation.data import DomainData, OpenQAItem
from evaluation.domain import open_qa_messages, run_domain
from evaluation.judges import LLMJudge, ReferenceJudge
from evaluation.winrate import judge_pairs, summarise

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def reference_judge():
    return ReferenceJudge()


@pytest.fixture(scope="module")
def fixture_data(fixture_tasks_dir):
    return DomainData.load(fixture_tasks_dir)


@pytest.fixture(scope="module")
def answers(llm_server, fixture_data):
    """Two answer sets from the real model: long (32 tokens) and short (8 tokens), as two 'models'."""

    async def both():
        client = make_client(llm_server.base_url)
        convs = [open_qa_messages(i) for i in fixture_data.open_qa]
        long = await chat_answers(client, llm_server.model, convs, max_tokens=32)
        short = await chat_answers(client, llm_server.model, convs, max_tokens=8)
        return long, short

    long, short = asyncio.run(both())
    ids = [i.id for i in fixture_data.open_qa]
    return dict(zip(ids, long)), dict(zip(ids, short))


def test_domain_suite_on_fixtures(llm_server, fixture_data):
    data = DomainData(
        fixture_data.mcq[:2],
        fixture_data.open_qa[:1],
        fixture_data.config_review[:1],
        fixture_data.log_analysis[:1],
    )
    res = asyncio.run(run_domain(make_client(llm_server.base_url), llm_server.model, data, max_tokens=24))
    assert set(res.metrics) == {"mcq", "open_qa", "config_review", "log_analysis"}
    assert res.metrics["mcq"]["n"] == 2
    for rec in res.items["mcq"]:
        assert len(rec["loglikelihoods"]) == 4 and all(ll < 0 for ll in rec["loglikelihoods"])
    for task, metrics in res.metrics.items():
        for k, v in metrics.items():
            if k not in ("n", "mean_answer_chars"):
                assert 0.0 <= v <= 1.0, (task, k, v)
    assert res.items["config_review"][0]["answer"].strip()
    assert list(res.open_qa_answers) == [fixture_data.open_qa[0].id]


def test_reference_judge_prefers_the_grounded_answer(reference_judge, fixture_data):
    item = fixture_data.open_qa[1]  # liveness probe
    good = "When the liveness probe fails, the kubelet kills the container and restarts it per the restartPolicy."
    bad = "Liveness probes configure the CPU governor of the node."
    assert asyncio.run(reference_judge.judge(item, good, bad)) == "A"
    assert asyncio.run(reference_judge.judge(item, bad, good)) == "B"
    assert asyncio.run(reference_judge.judge(item, good, good)) is None
    assert reference_judge.similarity(good, item.reference) > reference_judge.similarity(bad, item.reference)


def test_base_vs_base_is_exactly_half(reference_judge, fixture_data, answers):
    long, _ = answers
    s = summarise(asyncio.run(judge_pairs(reference_judge, fixture_data.open_qa, long, dict(long))))
    assert s["win_rate"] == 0.5 and s["ties"] == s["n"] == len(fixture_data.open_qa)
    assert s["lc_win_rate"] == pytest.approx(0.5)


def test_swapping_models_turns_p_into_one_minus_p(reference_judge, fixture_data, answers):
    long, short = answers
    assert long != short
    fwd = summarise(asyncio.run(judge_pairs(reference_judge, fixture_data.open_qa, long, short)))
    rev = summarise(asyncio.run(judge_pairs(reference_judge, fixture_data.open_qa, short, long)))
    assert fwd["win_rate"] == pytest.approx(1 - rev["win_rate"])
    assert (fwd["wins"], fwd["losses"]) == (rev["losses"], rev["wins"])
    assert fwd["lc_win_rate"] == pytest.approx(1 - rev["lc_win_rate"], abs=1e-6)


def test_llm_judge_through_the_server(llm_server, fixture_data, answers):
    long, short = answers
    item: OpenQAItem = fixture_data.open_qa[0]

    async def go():
        judge = LLMJudge(llm_server.base_url, llm_server.model)
        verdict = await judge.judge(item, long[item.id], short[item.id])
        outcomes = await judge_pairs(judge, fixture_data.open_qa[:2], long, short)
        await judge.client.close()
        return verdict, outcomes

    verdict, outcomes = asyncio.run(go())
    assert verdict in ("A", "B", None)
    assert [o.id for o in outcomes] == [i.id for i in fixture_data.open_qa[:2]]
    s = summarise(outcomes)
    assert s["wins"] + s["ties"] + s["losses"] == 2


def test_load_profile_of_our_server(llm_server, tmp_path):
    from evaluation.perf import main

    rc = main(
        [
            "--base-url",
            llm_server.base_url,
            "--compare-base-url",
            llm_server.base_url,
            "--concurrency",
            "1,2",
            "--max-tokens",
            "4",
            "--requests-per-level",
            "2",
            "--out",
            str(tmp_path),
        ]
    )
    assert rc == 0
    levels = json.loads((tmp_path / "perf.json").read_text())["levels"]
    assert [(lv["server"], lv["concurrency"]) for lv in levels] == [
        ("aletheia", 1),
        ("aletheia", 2),
        ("compare", 1),
        ("compare", 2),
    ]
    for lv in levels:
        assert lv["errors"] == 0 and lv["requests"] == 2 and lv["output_tokens"] > 0
        assert 0 < lv["ttft_p50"] <= lv["e2e_p50"] and lv["tokens_per_s"] > 0
    assert (tmp_path / "perf.png").read_bytes()[:8] == PNG
    assert "| aletheia | 2 |" in (tmp_path / "perf.md").read_text()


def test_load_profile_of_llama_cpp_server():
    from evaluation.perf import llama_cpp_server, profile_server

    with llama_cpp_server() as srv:  # two concurrent streams: queued, not interrupted
        levels = asyncio.run(
            profile_server(
                "llama_cpp.server", srv.base_url, "aletheia-base", [2], max_tokens=4, requests_per_level=2
            )
        )
    assert levels[0].errors == 0, levels[0].error_messages
    assert levels[0].requests == 2 and levels[0].output_tokens > 0


def test_run_cli_end_to_end(llm_server, tmp_path, fixture_tasks_dir):
    from evaluation.run import main

    out = tmp_path / "run"
    rc = main(
        [
            "--model",
            llm_server.model,
            "--baseline",
            llm_server.model,
            "--base-url",
            llm_server.base_url,
            "--suite",
            "domain,winrate",
            "--tasks-dir",
            str(fixture_tasks_dir),
            "--limit",
            "1",
            "--max-tokens",
            "32",
            "--out",
            str(out),
        ]
    )
    assert rc == 0
    for name in ("report.md", "results.json", "domain.png", "winrate.png", "pairs.jsonl"):
        assert (out / name).exists(), name
    assert (out / "domain.png").read_bytes()[:8] == PNG
    results = json.loads((out / "results.json").read_text())
    assert results["winrate"]["win_rate"] == 0.5 and results["winrate"]["n"] == 1
    assert results["domain"][llm_server.model]["mcq"]["n"] == 1
    assert "## Win rate" in (out / "report.md").read_text()


def test_run_cli_refuses_unknown_models(llm_server, tmp_path):
    from evaluation.run import main

    with pytest.raises(SystemExit, match="not served"):
        main(
            [
                "--model",
                "no-such-model",
                "--base-url",
                llm_server.base_url,
                "--suite",
                "domain",
                "--out",
                str(tmp_path),
            ]
        )


def test_quick_evaluate_two_names_for_the_same_weights(fixture_tasks_dir):
    from evaluation.perf import bundled_gguf
    from evaluation.quick import quick_evaluate

    g = str(bundled_gguf())
    out = quick_evaluate({"first": g, "second": g}, limit=1, max_tokens=24, tasks_dir=fixture_tasks_dir)
    assert set(out) == {"first", "second"}
    assert {
        "mcq/acc",
        "mcq/acc_norm",
        "open_qa/key_fact_coverage",
        "config_review/f1",
        "log_analysis/root_cause_acc",
    } <= set(out["first"])
    assert out["first"] == out["second"]  # same weights, greedy decoding


@pytest.mark.parametrize("suffix, expected", [("", r"answered HTTP 404 .*ends in /v1"), ("/v1/nope", "HTTP 404")])
def test_run_cli_says_what_is_wrong_with_the_base_url(llm_server, tmp_path, suffix, expected):
    """`--base-url http://host:port` without /v1: a sentence naming the fix, not a urllib traceback."""
    from evaluation.run import main

    with pytest.raises(SystemExit, match=expected):
        main(["--model", "aletheia-base", "--base-url", llm_server.url + suffix, "--suite", "domain", "--out", str(tmp_path)])


def test_run_cli_says_when_nothing_listens(tmp_path):
    from evaluation.run import main
    from server.process import free_port

    with pytest.raises(SystemExit, match="cannot reach"):
        main(["--model", "aletheia-base", "--base-url", f"http://127.0.0.1:{free_port()}/v1", "--suite", "domain", "--out", str(tmp_path)])

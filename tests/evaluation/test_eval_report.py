"""The report renders every section with its plots from a results structure."""

from __future__ import annotations

import json

from evaluation.report import write_report

PNG = b"\x89PNG\r\n\x1a\n"


def _level(server, c):
    return {
        "server": server,
        "concurrency": c,
        "requests": 4,
        "errors": 0,
        "wall_s": 2.0,
        "output_tokens": 100,
        "tokens_per_s": 50.0 * c,
        "ttft_p50": 0.1 * c,
        "ttft_p95": 0.2 * c,
        "itl_p50": 0.01,
        "itl_p95": 0.02,
        "e2e_p50": 1.0,
        "e2e_p95": 1.5,
        "error_messages": [],
    }


RESULTS = {
    "run": {"model": "tuned", "baseline": "base", "suites": "domain,winrate,standard,perf"},
    "domain": {
        "tuned": {
            "mcq": {"acc": 0.6, "acc_norm": 0.7, "n": 10},
            "config_review": {"precision": 0.5, "recall": 0.4, "f1": 0.44, "n": 3},
        },
        "base": {
            "mcq": {"acc": 0.3, "acc_norm": 0.4, "n": 10},
            "config_review": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "n": 3},
        },
    },
    "winrate": {
        "n": 10,
        "wins": 6,
        "ties": 2,
        "losses": 2,
        "win_rate": 0.7,
        "ci_low": 0.45,
        "ci_high": 0.9,
        "lc_win_rate": 0.62,
        "lc_length_slope": 0.3,
        "similar_length_n": 4,
        "similar_length_win_rate": 0.5,
        "mean_len_model": 420.0,
        "mean_len_baseline": 380.0,
        "judge": "test",
        "model": "tuned",
        "baseline": "base",
    },
    "standard": {"tuned": {"pass@1": 0.1, "n": 10}, "base": {"pass@1": 0.0, "n": 10}},
    "sandbox": "test",
    "perf": [_level("ours", 1), _level("ours", 2), _level("other", 1), _level("other", 2)],
}


def test_report_renders_all_sections(tmp_path):
    path = write_report(RESULTS, tmp_path)
    md = path.read_text()
    for section in ("## Domain suite", "### mcq", "## Win rate", "## Standard suite", "## Load profile"):
        assert section in md
    assert "| acc | 0.600 | 0.300 |" in md
    assert "[0.450, 0.900]" in md
    for png in ("domain.png", "winrate.png", "standard.png", "perf.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG, png
        assert f"]({png})" in md
    assert json.loads((tmp_path / "results.json").read_text())["winrate"]["wins"] == 6


def test_report_without_suites_has_no_plots(tmp_path):
    write_report({"run": {"model": "m", "baseline": "b"}}, tmp_path)
    assert not list(tmp_path.glob("*.png"))

"""Template grouping of lsp.logs on real logs: Loghub excerpts (tests/data/loghub) scored against their
ground-truth event ids, compared with Drain3's defaults computed in the same test."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from drain3 import TemplateMiner
from drain3.template_miner_config import TemplateMinerConfig

from lsp.logs import analyse_log
from lsp.logs.headers import HeaderParser
from lsp.logs.metrics import grouping_accuracy, pairwise_f1

DATA = Path(__file__).resolve().parents[1] / "data" / "loghub"

# Floors for our grouping accuracy on the 300-line excerpts. Measured when written: Android 0.950,
# Hadoop 0.970, Linux 0.803 (Drain3 defaults on the same messages: 0.497, 0.863, 0.797). The floors sit
# about 0.02 under the measurements: a regression guard that tolerates a small change of masking rules
# but not a lost feature (measured: without masking, Android 0.71, Hadoop 0.68, Linux 0.71; without
# header detection, Android 0.80, Hadoop 0.88, Linux 0.66).
GA_FLOOR = {"Android": 0.92, "Hadoop": 0.95, "Linux": 0.78}


def load(system: str) -> tuple[str, list[str], list[str]]:
    text = (DATA / f"{system}_300.log").read_text(encoding="utf-8")
    with open(DATA / f"{system}_300.log_structured.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return text, [r["Content"] for r in rows], [r["EventId"] for r in rows]


def labels_from_report(text: str, n: int) -> list[object]:
    report = analyse_log(text)
    labels: list[object] = [("unassigned", i) for i in range(n)]
    for group in report.templates:
        for line in group.lines:
            labels[line - 1] = group.id
    return labels


def drain3_defaults(messages: list[str]) -> list[int]:
    miner = TemplateMiner(config=TemplateMinerConfig())
    return [miner.add_log_message(m)["cluster_id"] for m in messages]


@pytest.mark.parametrize("system", sorted(GA_FLOOR))
def test_grouping_accuracy_beats_drain3_defaults(system):
    text, _content, truth = load(system)
    lines = text.splitlines()
    assert len(lines) == len(truth) == 300
    parser = HeaderParser.learn(lines)
    baseline = grouping_accuracy(truth, drain3_defaults([parser.parse(line).message for line in lines]))
    ours = grouping_accuracy(truth, labels_from_report(text, len(truth)))
    assert ours >= baseline, f"{system}: ours {ours:.3f} < Drain3 defaults {baseline:.3f}"
    assert ours >= GA_FLOOR[system], f"{system}: GA {ours:.3f} under the floor {GA_FLOOR[system]}"


def test_mean_gain_over_drain3_is_substantial():
    gains = []
    for system in GA_FLOOR:
        text, _content, truth = load(system)
        lines = text.splitlines()
        parser = HeaderParser.learn(lines)
        baseline = grouping_accuracy(truth, drain3_defaults([parser.parse(line).message for line in lines]))
        gains.append(grouping_accuracy(truth, labels_from_report(text, len(truth))) - baseline)
    assert sum(gains) / len(gains) >= 0.12, gains  # measured +0.188


@pytest.mark.parametrize("system", sorted(GA_FLOOR))
def test_header_detection_recovers_loghub_content(system):
    """Our generic header detection should leave the same message as Loghub's per-system regexes."""
    text, content, _truth = load(system)
    lines = text.splitlines()
    parser = HeaderParser.learn(lines)
    agree = sum(parser.parse(line).message == c.strip() for line, c in zip(lines, content))
    assert agree / len(lines) >= 0.97, f"{system}: {agree}/{len(lines)} messages agree with Loghub's Content"


@pytest.mark.parametrize("system", sorted(GA_FLOOR))
def test_pairwise_f1_high(system):
    text, _content, truth = load(system)
    _p, _r, f1 = pairwise_f1(truth, labels_from_report(text, len(truth)))
    assert f1 >= 0.9


def test_metrics_on_known_cases():
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 2]) == 1.0
    assert grouping_accuracy(["a", "a", "b"], [1, 1, 1]) == 0.0
    assert grouping_accuracy(["a", "a", "b", "c"], [1, 2, 3, 4]) == 0.5  # "a" split; "b", "c" right
    assert pairwise_f1(["a", "a", "b"], [1, 1, 2])[2] == 1.0
    with pytest.raises(ValueError):
        grouping_accuracy(["a"], [1, 2])

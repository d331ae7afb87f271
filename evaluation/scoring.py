"""Pure scorers for the four domain tasks: no model, no network, one function per task plus aggregation.

* MCQ: ``acc`` picks the choice with the highest summed log-likelihood; ``acc_norm`` divides each by
  the choice's length in UTF-8 bytes first (lm-eval's ``acc_norm``, which divides by ``len(choice)``;
  the same for ASCII text).
* Open questions: key-fact coverage (``evaluation.matching``) of the answer.
* Config review: a finding matches a defect when its line is within ``line_tolerance`` of the defect
  line or one of the defect's keywords matches the finding's text. Recall = defects matched by some
  finding; precision = findings that match some defect. Micro-averaged over items.
* Log analysis: the root cause is found when every root-cause keyword group (``a|b`` aliases) matches
  the parsed ``Root cause:`` text; ``root_cause_keyword_coverage`` gives partial credit. An answer
  without that line finds nothing: following the format is part of the task.
  evidence recall/precision compare the cited line numbers with the expected ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import fmean as mean

from aletheia.tasks import Finding, LogAnswer

from . import matching
from .data import ConfigReviewItem, Defect, LogAnalysisItem, MCQItem, OpenQAItem

# ---------------------------------------------------------------------------------------------- MCQ


@dataclass(frozen=True)
class MCQScore:
    id: str
    loglikelihoods: tuple[float, ...]
    pred: int
    pred_norm: int
    correct: bool
    correct_norm: bool


def _argmax(values: Sequence[float]) -> int:
    return max(range(len(values)), key=lambda i: values[i])


def score_mcq(item: MCQItem, loglikelihoods: Sequence[float]) -> MCQScore:
    if len(loglikelihoods) != len(item.choices):
        raise ValueError(f"{item.id}: {len(loglikelihoods)} log-likelihoods for {len(item.choices)} choices")
    normed = [ll / max(len(c.encode("utf-8")), 1) for ll, c in zip(loglikelihoods, item.choices)]
    pred, pred_norm = _argmax(loglikelihoods), _argmax(normed)
    return MCQScore(
        item.id, tuple(loglikelihoods), pred, pred_norm, pred == item.answer, pred_norm == item.answer
    )


def aggregate_mcq(scores: Sequence[MCQScore]) -> dict[str, float]:
    if not scores:
        return {}
    return {
        "acc": mean(s.correct for s in scores),
        "acc_norm": mean(s.correct_norm for s in scores),
        "n": len(scores),
    }


# ---------------------------------------------------------------------------------------------- open QA


@dataclass(frozen=True)
class OpenQAScore:
    id: str
    coverage: float
    matched: tuple[str, ...]
    answer_chars: int


def score_open_qa(item: OpenQAItem, answer: str) -> OpenQAScore:
    matched = matching.matched_specs(item.key_facts, answer)
    cov = len(matched) / len(item.key_facts) if item.key_facts else 1.0
    return OpenQAScore(item.id, cov, tuple(matched), len(answer))


def aggregate_open_qa(scores: Sequence[OpenQAScore]) -> dict[str, float]:
    if not scores:
        return {}
    return {
        "key_fact_coverage": mean(s.coverage for s in scores),
        "all_facts_rate": mean(s.coverage == 1.0 for s in scores),
        "mean_answer_chars": mean(s.answer_chars for s in scores),
        "n": len(scores),
    }


# ---------------------------------------------------------------------------------------------- config review


def finding_matches_defect(finding: Finding, defect: Defect, line_tolerance: int = 1) -> bool:
    if abs(finding.line - defect.line) <= line_tolerance:
        return True
    text = f"{finding.rule} {finding.message} {finding.fix}"
    return any(matching.spec_matches(k, text) for k in defect.keywords)


@dataclass(frozen=True)
class ConfigReviewScore:
    id: str
    n_defects: int
    n_found: int  # defects matched by at least one finding
    n_findings: int
    n_correct_findings: int  # findings that match at least one defect
    in_format: bool  # the answer listed findings or said "No defects found."


def score_config_review(
    item: ConfigReviewItem, findings: Sequence[Finding], line_tolerance: int = 1, answer: str | None = None
) -> ConfigReviewScore:
    """``answer`` (the raw text) only decides ``in_format``: findings, or an explicit "No defects found."."""
    found = sum(any(finding_matches_defect(f, d, line_tolerance) for f in findings) for d in item.defects)
    correct = sum(any(finding_matches_defect(f, d, line_tolerance) for d in item.defects) for f in findings)
    in_format = bool(findings) or (answer is not None and "no defects found" in answer.lower())
    return ConfigReviewScore(item.id, len(item.defects), found, len(findings), correct, in_format)


def _prf(tp_recall: int, n_gold: int, tp_precision: int, n_pred: int) -> tuple[float, float, float]:
    recall = tp_recall / n_gold if n_gold else 1.0
    precision = tp_precision / n_pred if n_pred else (1.0 if n_gold == 0 else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def aggregate_config_review(scores: Sequence[ConfigReviewScore]) -> dict[str, float]:
    if not scores:
        return {}
    p, r, f1 = _prf(
        sum(s.n_found for s in scores),
        sum(s.n_defects for s in scores),
        sum(s.n_correct_findings for s in scores),
        sum(s.n_findings for s in scores),
    )
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "answered_in_format": mean(s.in_format for s in scores),
        "n": len(scores),
    }


# ---------------------------------------------------------------------------------------------- log analysis


@dataclass(frozen=True)
class LogAnalysisScore:
    id: str
    root_cause_found: bool
    keyword_coverage: float
    evidence_recall: float
    evidence_precision: float
    in_format: bool


def score_log_analysis(item: LogAnalysisItem, answer: LogAnswer, line_tolerance: int = 0) -> LogAnalysisScore:
    cov = matching.coverage(item.root_cause_keywords, answer.root_cause) if answer.root_cause else 0.0
    found = bool(answer.root_cause) and cov == 1.0
    gold, cited = set(item.evidence_lines), set(answer.evidence_lines)

    def near(n: int, pool: set[int]) -> bool:
        return any(abs(n - m) <= line_tolerance for m in pool)

    recall = sum(near(g, cited) for g in gold) / len(gold) if gold else 1.0
    precision = sum(near(c, gold) for c in cited) / len(cited) if cited else 0.0
    return LogAnalysisScore(item.id, found, cov, recall, precision, bool(answer.root_cause))


def aggregate_log_analysis(scores: Sequence[LogAnalysisScore]) -> dict[str, float]:
    if not scores:
        return {}
    return {
        "root_cause_acc": mean(s.root_cause_found for s in scores),
        "root_cause_keyword_coverage": mean(s.keyword_coverage for s in scores),
        "evidence_recall": mean(s.evidence_recall for s in scores),
        "evidence_precision": mean(s.evidence_precision for s in scores),
        "answered_in_format": mean(s.in_format for s in scores),
        "n": len(scores),
    }


def as_dicts(scores) -> list[dict]:
    return [asdict(s) for s in scores]

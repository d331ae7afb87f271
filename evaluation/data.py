"""The benchmark items: typed records for the four domain tasks and their JSONL loaders.

The data lives in ``evaluation/tasks/<task>/<task>.jsonl`` (the same files the lm-eval YAML tasks read);
every loader takes an explicit path too, so tests run on small fixtures.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

TASKS_DIR = Path(__file__).resolve().parent / "tasks"

T = TypeVar("T")


@dataclass(frozen=True)
class MCQItem:
    id: str
    question: str
    choices: tuple[str, ...]
    answer: int
    topic: str = ""


@dataclass(frozen=True)
class OpenQAItem:
    id: str
    question: str
    reference: str
    key_facts: tuple[str, ...]  # each "fact|alias|alias"
    context: str = ""
    topic: str = ""


@dataclass(frozen=True)
class Defect:
    line: int
    keywords: tuple[str, ...]  # each "word|alias"
    description: str = ""


@dataclass(frozen=True)
class ConfigReviewItem:
    id: str
    kind: str
    content: str
    defects: tuple[Defect, ...]
    path: str = ""


@dataclass(frozen=True)
class LogAnalysisItem:
    id: str
    log: str
    root_cause_keywords: tuple[str, ...]  # each "word|alias"
    evidence_lines: tuple[int, ...]
    source: str = ""
    description: str = ""


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON: {exc}") from exc
    return rows


def select(items: list[T], limit: int | None = None, seed: int | None = None) -> list[T]:
    """The first ``limit`` items, or a seeded random sample of ``limit`` items when ``seed`` is given."""
    if limit is None or limit >= len(items):
        return list(items)
    if seed is None:
        return list(items[:limit])
    return random.Random(seed).sample(list(items), limit)


def task_path(task: str) -> Path:
    return TASKS_DIR / task / f"{task}.jsonl"


def _load(task: str, build: Callable[[dict], T], path, limit, seed) -> list[T]:
    rows = read_jsonl(path or task_path(task))
    return select([build(r) for r in rows], limit, seed)


def _mcq(r: dict) -> MCQItem:
    choices = tuple(str(c) for c in r["choices"])
    answer = int(r["answer"])
    if not 0 <= answer < len(choices):
        raise ValueError(f"MCQ {r.get('id')}: answer {answer} out of range for {len(choices)} choices")
    return MCQItem(
        id=str(r["id"]), question=r["question"], choices=choices, answer=answer, topic=r.get("topic", "")
    )


def _open_qa(r: dict) -> OpenQAItem:
    return OpenQAItem(
        id=str(r["id"]),
        question=r["question"],
        reference=r.get("reference", ""),
        key_facts=tuple(r.get("key_facts", ())),
        context=r.get("context") or "",
        topic=r.get("topic", ""),
    )


def _config(r: dict) -> ConfigReviewItem:
    defects = tuple(
        Defect(
            line=int(d["line"]), keywords=tuple(d.get("keywords", ())), description=d.get("description", "")
        )
        for d in r.get("defects", ())
    )
    return ConfigReviewItem(
        id=str(r["id"]), kind=r["kind"], content=r["content"], defects=defects, path=r.get("path", "")
    )


def _log(r: dict) -> LogAnalysisItem:
    return LogAnalysisItem(
        id=str(r["id"]),
        log=r["log"],
        root_cause_keywords=tuple(r.get("root_cause_keywords", ())),
        evidence_lines=tuple(int(n) for n in r.get("evidence_lines", ())),
        source=r.get("source", ""),
        description=r.get("description", ""),
    )


def load_mcq(path=None, limit=None, seed=None) -> list[MCQItem]:
    return _load("sysmcq", _mcq, path, limit, seed)


def load_open_qa(path=None, limit=None, seed=None) -> list[OpenQAItem]:
    return _load("open_qa", _open_qa, path, limit, seed)


def load_config_review(path=None, limit=None, seed=None) -> list[ConfigReviewItem]:
    return _load("config_review", _config, path, limit, seed)


def load_log_analysis(path=None, limit=None, seed=None) -> list[LogAnalysisItem]:
    return _load("log_analysis", _log, path, limit, seed)


@dataclass
class DomainData:
    """All four tasks' items, each possibly empty (a suite skips a task that has no items)."""

    mcq: list[MCQItem] = field(default_factory=list)
    open_qa: list[OpenQAItem] = field(default_factory=list)
    config_review: list[ConfigReviewItem] = field(default_factory=list)
    log_analysis: list[LogAnalysisItem] = field(default_factory=list)

    @classmethod
    def load(cls, tasks_dir: str | Path | None = None, limit: int | None = None, seed: int | None = None):
        base = Path(tasks_dir) if tasks_dir else TASKS_DIR

        def p(task: str) -> Path:
            return base / task / f"{task}.jsonl"

        def maybe(loader, task):
            return loader(p(task), limit, seed) if p(task).exists() else []

        return cls(
            mcq=maybe(load_mcq, "sysmcq"),
            open_qa=maybe(load_open_qa, "open_qa"),
            config_review=maybe(load_config_review, "config_review"),
            log_analysis=maybe(load_log_analysis, "log_analysis"),
        )

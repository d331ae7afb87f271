"""Hand-written expert Q&A, one YAML file per topic: a list of {question, answer, optional context,
path, language, wrong_answer}. ``wrong_answer`` is a subtly wrong variant kept for preference pairs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

QA_DIR = Path(__file__).parent
_FIELDS = {"question", "answer", "context", "path", "language", "wrong_answer"}


@dataclass(frozen=True)
class QAItem:
    topic: str
    question: str
    answer: str
    context: str = ""
    path: str = ""
    language: str = ""
    wrong_answer: str = ""


def load_topic(path: Path) -> list[QAItem]:
    topic = path.stem
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    if not isinstance(data, list):
        raise TypeError(f"{path}: expected a list of items")
    items = []
    for i, raw in enumerate(data):
        if not isinstance(raw, dict) or not {"question", "answer"} <= raw.keys() or raw.keys() - _FIELDS:
            raise ValueError(f"{path}: item {i} must have question and answer (and only {sorted(_FIELDS)})")
        items.append(QAItem(topic=topic, **{k: str(v).strip() for k, v in raw.items()}))
    return items


def load_all(directory: Path = QA_DIR) -> list[QAItem]:
    items: list[QAItem] = []
    for path in sorted(directory.glob("*.yaml")):
        items.extend(load_topic(path))
    return items

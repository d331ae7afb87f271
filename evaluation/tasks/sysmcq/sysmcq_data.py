"""Loads the sysmcq JSONL for lm-eval wherever lm_eval runs from.

lm-eval calls ``custom_dataset`` with the task's ``dataset_kwargs`` (and ``metadata``). A relative
``data_files`` path is taken relative to the working directory when it exists there, and otherwise
relative to the repository root (three levels above this file).
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


def _resolve(path: str) -> str:
    p = Path(path)
    if p.is_absolute() or p.exists():
        return str(p)
    return str(REPO_ROOT / p)


def load(data_files=None, **_ignored):
    import datasets

    if data_files is None:
        data_files = {"test": "evaluation/tasks/sysmcq/sysmcq.jsonl"}
    if isinstance(data_files, str):
        data_files = {"test": data_files}
    files = {split: _resolve(p) for split, p in data_files.items()}
    return datasets.load_dataset("json", data_files=files)

"""Reading the SFT and DPO JSONL files with schema validation.

Every problem is reported as ``file:line: problem``; one bad line stops the run before any training.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

SOURCES = ("qa", "config_review", "log_analysis")
ROLES = ("system", "user", "assistant")
REJECTERS = ("base_model", "user_feedback")  # besides corruption:<kind>; user_feedback: training.feedback
MAX_REPORTED = 20


class DataError(ValueError):
    """One or more invalid lines in a data file; the message lists them as file:line: problem."""


@dataclass(frozen=True)
class Record:
    """A validated JSONL record and where it came from (for the data report and error messages)."""

    data: dict[str, Any]
    file: str
    line: int

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _check_messages(messages: Any, field: str, *, first_roles: tuple[str, ...] = ROLES) -> str | None:
    if not isinstance(messages, list) or not messages:
        return f"`{field}` must be a non-empty list of messages"
    for i, m in enumerate(messages):
        if not isinstance(m, dict):
            return f"`{field}[{i}]` must be an object with `role` and `content`"
        extra = set(m) - {"role", "content"}
        if extra:
            return f"`{field}[{i}]` has unknown key(s) {sorted(extra)}"
        if m.get("role") not in first_roles:
            return f"`{field}[{i}].role` must be one of {list(first_roles)}, got {m.get('role')!r}"
        if not isinstance(m.get("content"), str) or not m["content"].strip():
            return f"`{field}[{i}].content` must be a non-empty string"
    return None


def _check_common(obj: dict) -> str | None:
    if obj.get("source") not in SOURCES:
        return f"`source` must be one of {list(SOURCES)}, got {obj.get('source')!r}"
    for key in ("topic", "id"):
        if not isinstance(obj.get(key), str) or not obj[key].strip():
            return f"`{key}` must be a non-empty string"
    return None


def check_sft(obj: dict) -> str | None:
    """The problem with an SFT record, or None."""
    missing = [k for k in ("messages", "source", "topic", "id") if k not in obj]
    if missing:
        return f"missing key(s) {missing}"
    unknown = set(obj) - {"messages", "source", "topic", "id"}
    if unknown:
        return f"unknown key(s) {sorted(unknown)}"
    if problem := _check_messages(obj["messages"], "messages"):
        return problem
    roles = [m["role"] for m in obj["messages"]]
    if roles[-1] != "assistant":
        return "the last message must be the assistant's answer"
    if "user" not in roles:
        return "there must be a user message"
    if "system" in roles[1:]:
        return "a system message may only come first"
    body = [r for r in roles if r != "system"]
    if any(a == b for a, b in zip(body, body[1:])):
        return "user and assistant messages must alternate"
    return _check_common(obj)


def check_dpo(obj: dict) -> str | None:
    """The problem with a DPO record, or None."""
    keys = ("prompt", "chosen", "rejected", "rejected_by", "source", "topic", "id")
    missing = [k for k in keys if k not in obj]
    if missing:
        return f"missing key(s) {missing}"
    unknown = set(obj) - set(keys)
    if unknown:
        return f"unknown key(s) {sorted(unknown)}"
    if problem := _check_messages(obj["prompt"], "prompt", first_roles=("system", "user")):
        return problem
    if obj["prompt"][-1]["role"] != "user":
        return "the prompt must end with a user message"
    for key in ("chosen", "rejected"):
        if problem := _check_messages(obj[key], key, first_roles=("assistant",)):
            return problem
        if len(obj[key]) != 1:
            return f"`{key}` must hold exactly one assistant message"
    if obj["chosen"][0]["content"].strip() == obj["rejected"][0]["content"].strip():
        return "`chosen` and `rejected` are the same answer"
    rb = obj["rejected_by"]
    if not isinstance(rb, str) or not (rb.startswith("corruption:") and len(rb) > 11 or rb in REJECTERS):
        return f"`rejected_by` must be 'corruption:<kind>', 'base_model' or 'user_feedback', got {rb!r}"
    return _check_common(obj)


def read_jsonl(path: str | Path, check: Callable[[dict], str | None], label: str | None = None) -> list[Record]:
    """All records of ``path``, or a DataError listing every bad line (up to MAX_REPORTED) as file:line."""
    path = Path(path)
    label = label or str(path)
    records: list[Record] = []
    errors: list[str] = []
    seen_ids: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except json.JSONDecodeError as e:
                errors.append(f"{label}:{lineno}: not valid JSON ({e.msg} at column {e.colno})")
                continue
            if not isinstance(obj, dict):
                errors.append(f"{label}:{lineno}: a record must be a JSON object")
                continue
            problem = check(obj)
            if problem is None and obj["id"] in seen_ids:
                problem = f"duplicate id {obj['id']!r} (first on line {seen_ids[obj['id']]})"
            if problem:
                errors.append(f"{label}:{lineno}: {problem}")
                continue
            seen_ids[obj["id"]] = lineno
            records.append(Record(obj, label, lineno))
    if errors:
        more = f"\n... and {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
        raise DataError("invalid training data:\n" + "\n".join(errors[:MAX_REPORTED]) + more)
    if not records:
        raise DataError(f"{label}: no records")
    return records

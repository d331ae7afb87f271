"""The record shapes written to sft.jsonl and dpo.jsonl, and their stable ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def stable_id(*parts: str) -> str:
    """A short id that depends only on the given parts (so rebuilding gives the same ids)."""
    digest = hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()
    return digest[:16]


@dataclass(frozen=True)
class Example:
    """One supervised example: the prompt messages (system + user), the answer, where it came from.

    ``wrong`` holds targeted wrong answers as (corruption kind, text) for preference pairs."""

    source: str  # "qa" | "config_review" | "log_analysis"
    topic: str
    key: str  # stable, human-readable key within the source (file/index or generator/seed)
    prompt: list[dict[str, str]]
    answer: str
    wrong: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        return f"{self.source}-{stable_id(self.source, self.topic, self.key)}"

    def sft_record(self) -> dict:
        messages = [*self.prompt, {"role": "assistant", "content": self.answer}]
        return {"messages": messages, "source": self.source, "topic": self.topic, "id": self.id}

    def dpo_record(self, kind: str, rejected: str) -> dict:
        return {
            "prompt": list(self.prompt),
            "chosen": [{"role": "assistant", "content": self.answer}],
            "rejected": [{"role": "assistant", "content": rejected}],
            "rejected_by": f"corruption:{kind}",
            "source": self.source,
            "topic": self.topic,
            "id": f"{self.id}-{kind}",
        }

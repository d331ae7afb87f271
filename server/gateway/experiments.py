"""A/B experiments: a served model name whose requests are split between model ids by weight.

``--experiment NAME=ID:WEIGHT,ID:WEIGHT`` (repeatable; env ALETHEIA_EXPERIMENTS, ';'-separated). Assignment
is sticky: the same ``user`` field (or, without one, the same key) always gets the same variant, by a hash of
the experiment's name and that identity; a request with neither is assigned at random.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Experiment:
    name: str
    variants: tuple[tuple[str, float], ...]  # (model id, weight)

    @classmethod
    def parse(cls, text: str) -> Experiment:
        name, sep, rest = text.partition("=")
        name = name.strip()
        if not sep or not name or not rest.strip():
            raise ValueError(f"an experiment is NAME=ID:WEIGHT,ID:WEIGHT; got {text!r}")
        variants = []
        for part in rest.split(","):
            model, _, weight = part.strip().rpartition(":")
            if not model:
                model, weight = weight, "1"
            try:
                w = float(weight)
            except ValueError:
                raise ValueError(f"experiment {name}: weight of {model!r} is not a number: {weight!r}") from None
            if w <= 0:
                raise ValueError(f"experiment {name}: weight of {model!r} must be positive")
            variants.append((model.strip(), w))
        if len({m for m, _ in variants}) != len(variants) or len(variants) < 2:
            raise ValueError(f"experiment {name}: needs at least two different model ids")
        return cls(name, tuple(variants))

    def assign(self, identity: str | None) -> str:
        """The variant for ``identity`` (the same identity, the same variant); random without one."""
        if identity:
            digest = hashlib.sha256(f"{self.name}\x00{identity}".encode()).digest()
            point = int.from_bytes(digest[:8], "big") / 2 ** 64
        else:
            point = random.random()
        total = sum(w for _, w in self.variants)
        acc = 0.0
        for model, weight in self.variants:
            acc += weight / total
            if point < acc:
                return model
        return self.variants[-1][0]


def parse_experiments(entries: list[str]) -> dict[str, Experiment]:
    out: dict[str, Experiment] = {}
    for entry in entries:
        exp = Experiment.parse(entry)
        if exp.name in out:
            raise ValueError(f"experiment {exp.name} is defined twice")
        out[exp.name] = exp
    return out

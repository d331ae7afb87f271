"""Eval stage: a quick domain evaluation of the exported GGUF (and the base GGUF, for a baseline) through
``evaluation.quick.quick_evaluate``, which serves the models itself."""

from __future__ import annotations

from pathlib import Path

from .config import EvalConfig


def run_eval(cfg: EvalConfig, *, name: str, gguf: Path, base_gguf: Path | None) -> dict[str, dict[str, float]]:
    from evaluation.quick import quick_evaluate

    models = {name: str(gguf)}
    if cfg.compare_base and base_gguf is not None:
        models["base"] = str(base_gguf)
    return quick_evaluate(models, limit=cfg.limit, seed=cfg.seed, max_tokens=cfg.max_tokens)

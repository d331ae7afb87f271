"""Eval stage: a quick domain evaluation of the exported GGUF (and the base GGUF, for a baseline) through
``evaluation.quick.quick_evaluate``, which serves the models itself."""

from __future__ import annotations

from pathlib import Path

from .config import EvalConfig


def run_eval(cfg: EvalConfig, *, name: str, gguf: Path, base_gguf: Path | None,
             adapter: bool = False) -> dict[str, dict[str, float]]:
    """``gguf`` is the exported model, or with ``adapter`` a LoRA adapter served over ``base_gguf``."""
    from evaluation.quick import quick_evaluate

    models, adapters = {}, {}
    if adapter:
        if base_gguf is None:
            raise ValueError("an adapter is evaluated over its base GGUF, and this run has none")
        adapters[name] = (str(gguf), "base")
    else:
        models[name] = str(gguf)
    if (cfg.compare_base or adapter) and base_gguf is not None:
        models["base"] = str(base_gguf)
    results = quick_evaluate(models, adapters=adapters, limit=cfg.limit, seed=cfg.seed, max_tokens=cfg.max_tokens)
    if not cfg.compare_base:
        results.pop("base", None)
    return results

"""A quick domain evaluation of GGUF files, for training's eval stage.

    from evaluation.quick import quick_evaluate
    quick_evaluate({"base": base_gguf, "sft": sft_gguf}, limit=20)
    # {"base": {"mcq/acc": 0.4, "mcq/acc_norm": ..., "open_qa/key_fact_coverage": ..., ...}, "sft": {...}}

One server (``ServerProcess`` with ``--model name=path`` per model) serves all the models; each model
answers the same ``limit`` items of every domain task (a seeded sample), and the metrics come back
flat as ``"<task>/<metric>"`` (MLflow-friendly), without the item counts.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .client import make_client
from .data import DomainData
from .domain import run_domain


def flatten(metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    return {f"{task}/{k}": float(v) for task, m in metrics.items() for k, v in m.items() if k != "n"}


async def _evaluate(base_url: str, names: list[str], data: DomainData, max_tokens: int, concurrency: int):
    client = make_client(base_url)
    try:
        out = {}
        for name in names:
            res = await run_domain(client, name, data, max_tokens=max_tokens, concurrency=concurrency)
            out[name] = flatten(res.metrics)
        return out
    finally:
        await client.close()


def quick_evaluate(
    models: dict[str, str],
    *,
    limit: int = 20,
    seed: int = 0,
    max_tokens: int = 192,
    concurrency: int = 4,
    tasks_dir: str | Path | None = None,
    base_url: str | None = None,
    adapters: dict[str, tuple[str, str]] | None = None,
) -> dict[str, dict[str, float]]:
    """Metrics per model name. ``models`` maps a name to a GGUF path, ``adapters`` a name to (LoRA adapter
    GGUF, name of the model in ``models`` it is served over); with ``base_url`` the models are assumed to be
    served there already under those names and no server is started."""
    adapters = adapters or {}
    names = [*models, *adapters]
    data = DomainData.load(tasks_dir, limit=limit, seed=seed)
    if base_url:
        return asyncio.run(_evaluate(base_url, names, data, max_tokens, concurrency))
    from server.process import ServerProcess

    specs = [f"{name}={path}" for name, path in models.items()]
    loras = [arg for name, (path, base) in adapters.items() for arg in ("--lora", f"{name}={path}:{base}")]
    with ServerProcess(models=specs, extra_args=loras) as srv:
        return asyncio.run(_evaluate(srv.base_url, names, data, max_tokens, concurrency))

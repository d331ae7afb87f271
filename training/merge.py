"""Merge stage: the base weights with the SFT and DPO LoRA adapters merged in (peft ``merge_and_unload``),
saved as a plain HF checkpoint with the base tokenizer."""

from __future__ import annotations

from pathlib import Path

from .config import MergeConfig
from .trainer_utils import load_model


def run_merge(cfg: MergeConfig, *, base_dir: Path, adapters: list[Path], out_dir: Path) -> dict:
    import torch
    from transformers import AutoTokenizer

    model = load_model(base_dir, adapters=adapters)
    model = model.to(getattr(torch, cfg.dtype))
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    model.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(base_dir).save_pretrained(tmp)
    if out_dir.exists():
        import shutil

        shutil.rmtree(out_dir)
    tmp.rename(out_dir)
    return {"adapters": [str(a) for a in adapters], "dtype": cfg.dtype}

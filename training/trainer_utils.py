"""Helpers shared by the SFT and DPO stages: model loading, LoRA config, checkpoints, a stage summary."""

from __future__ import annotations

import json
from pathlib import Path

from .config import LoraConfig


def torch_dtype(bf16: bool):
    import torch

    return torch.bfloat16 if bf16 else torch.float32


def load_model(path: Path, *, bf16: bool = False, adapters: list[Path] = ()):
    """An HF causal LM from ``path`` with each LoRA adapter in ``adapters`` merged in, in order."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype(bf16))
    for adapter in adapters:
        model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    return model


def peft_lora(cfg: LoraConfig):
    from peft import LoraConfig as PeftLoraConfig

    return PeftLoraConfig(
        r=cfg.r,
        lora_alpha=cfg.alpha,
        lora_dropout=cfg.dropout,
        target_modules=list(cfg.target_modules),
        bias="none",
        task_type="CAUSAL_LM",
    )


def last_checkpoint(checkpoints: Path) -> str | None:
    """The newest ``checkpoint-N`` directory whose trainer state was written completely, if any."""
    if not checkpoints.is_dir():
        return None
    done = [
        p for p in checkpoints.glob("checkpoint-*")
        if p.name.split("-")[-1].isdigit() and (p / "trainer_state.json").is_file()
    ]
    return str(max(done, key=lambda p: int(p.name.split("-")[-1]))) if done else None


def write_summary(path: Path, summary: dict) -> None:
    path.write_text(json.dumps(summary, indent=2))

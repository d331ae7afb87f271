"""Helpers shared by the SFT and DPO stages: model loading, LoRA config, checkpoints, a stage summary."""

from __future__ import annotations

import json
from pathlib import Path

from .config import LoraConfig


def use_bf16(setting: bool | str) -> bool:
    """Resolve a stage's ``bf16`` setting: "auto" means where bf16 arithmetic is native (CUDA with bf16,
    or a CPU with AVX512-BF16 or AMX; elsewhere bf16 autocast is emulated and slower than fp32)."""
    if setting != "auto":
        return bool(setting)
    import torch

    if torch.cuda.is_available():
        return torch.cuda.is_bf16_supported()
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")  # private but long-standing torch.cpu API
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def load_model(path: Path, *, adapters: list[Path] = ()):
    """An HF causal LM from ``path`` in fp32 (bf16 training autocasts over fp32 weights) with each LoRA
    adapter in ``adapters`` merged in, in order."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
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

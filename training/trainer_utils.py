"""Helpers shared by the SFT and DPO stages: model loading, LoRA config, checkpoints, a stage summary."""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import sys
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


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for reuse instead of returning it to the kernel.

    Training allocates and frees the same large activation buffers every step (the logits alone are
    batch x length x vocabulary floats, hundreds of MB). glibc serves blocks over 32 MB with mmap and
    unmaps them on free, so every step faults in and zeroes gigabytes of fresh pages: measured here, a
    fifth of the run's CPU time in the kernel. With mmap off and trimming raised, freed blocks stay in the
    heap and the next step reuses them: the same peak memory, 1.3-1.5x the tokens/s on 2 cores
    (``benchmarks/sft_throughput.py``). The glibc equivalent of
    ``GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=...``; a no-op off glibc.
    Returns whether it applied."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    m_trim_threshold, m_mmap_max = -1, -4  # <malloc.h>
    return bool(mallopt(m_mmap_max, 0)) and bool(mallopt(m_trim_threshold, 2**31 - 1))


def release_freed_memory() -> None:
    """Give the memory that ``keep_freed_memory`` keeps back to the kernel (glibc's ``malloc_trim``), e.g.
    between stages, so that DPO's buffers do not pile up beside the free ones SFT left. A no-op off glibc."""
    import gc

    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


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

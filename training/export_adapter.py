"""Export PEFT LoRA adapters as one llama.cpp GGUF LoRA adapter, written with the ``gguf`` package.

The SFT adapter and the DPO adapter (trained over the SFT-merged weights) are both additive on the same
linear layers, so they fold exactly into one adapter of rank r1 + r2:

    W x + s1 B1 A1 x + s2 B2 A2 x  =  W x + [s1 B1 | s2 B2] [A1 ; A2] x

written with ``adapter.lora.alpha`` equal to the total rank, so llama.cpp's scale (alpha / rank) is 1 and
the per-adapter scales live in B. What llama.cpp's loader expects (read from its loader and converter):
``general.type = adapter``, ``adapter.type = lora``, ``adapter.lora.alpha`` as float32,
``blk.N.<tensor>.weight.lora_a`` (r, in) and ``.lora_b`` (out, r) as PEFT stores them, no transpose.
llama.cpp stores attention Q and K rows in its rotary layout, so lora_B of q_proj/k_proj gets the same row
permutation as the base weights (``export_gguf.to_llama_rope_layout``); A is untouched. The base's SHA-256 is
recorded (``aletheia.base.sha256``) so the server can refuse an adapter meant for other weights.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aletheia.models import file_sha256
from server.engines.base import BASE_SHA256_KEY

from .export_gguf import to_llama_rope_layout

log = logging.getLogger(__name__)

LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
OUTTYPES = ("f16", "f32")


@dataclass
class LoraWeights:
    """One PEFT adapter: per module name (``model.layers.3.self_attn.q_proj``) its A (r, in) and B (out, r),
    and its scale alpha / r."""

    modules: dict[str, tuple[np.ndarray, np.ndarray]]
    scale: float


def read_peft_adapter(adapter_dir: Path) -> LoraWeights:
    """A PEFT LoRA adapter directory (adapter_config.json + adapter_model.safetensors) as numpy arrays."""
    from safetensors.numpy import load_file

    cfg = json.loads((adapter_dir / "adapter_config.json").read_text())
    unsupported = [k for k in ("use_dora", "use_rslora") if cfg.get(k)]
    unsupported += [k for k in ("alpha_pattern", "rank_pattern") if cfg.get(k)]
    if unsupported:
        raise ValueError(f"{adapter_dir}: llama.cpp adapters cannot express {', '.join(unsupported)}")
    r, alpha = int(cfg["r"]), float(cfg["lora_alpha"])
    tensors = load_file(str(adapter_dir / "adapter_model.safetensors"))
    modules: dict[str, dict[str, np.ndarray]] = {}
    for key, value in tensors.items():
        # base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight
        for part in ("lora_A", "lora_B"):
            marker = f".{part}."
            if marker in key:
                module = key.split(marker)[0].removeprefix("base_model.model.")
                modules.setdefault(module, {})[part] = value.astype(np.float32)
                break
        else:
            raise ValueError(f"{adapter_dir}: tensor {key!r} is not a LoRA A/B weight (llama.cpp cannot load it)")
    out = {}
    for module, parts in modules.items():
        if module.rsplit(".", 1)[-1] not in LORA_TARGETS:
            raise ValueError(f"{adapter_dir}: LoRA on {module!r}: llama.cpp adapters take only {LORA_TARGETS}")
        if set(parts) != {"lora_A", "lora_B"}:
            raise ValueError(f"{adapter_dir}: {module} lacks lora_A or lora_B")
        out[module] = (parts["lora_A"], parts["lora_B"])
    return LoraWeights(out, alpha / r)


def fold(adapters: list[LoraWeights]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Adapters applied one after another, as one adapter of scale 1: A stacked, B side by side, scaled."""
    modules = sorted({m for a in adapters for m in a.modules})
    folded = {}
    for module in modules:
        parts = [(a.modules[module][0], a.scale * a.modules[module][1]) for a in adapters if module in a.modules]
        folded[module] = (np.concatenate([p[0] for p in parts], axis=0), np.concatenate([p[1] for p in parts], axis=1))
    return folded


def export_adapter(adapter_dirs: list[Path], out_path: Path, *, base_config_dir: Path, base_gguf: Path | None,
                   outtype: str = "f16", name: str = "") -> Path:
    """Write the PEFT adapters in ``adapter_dirs`` (applied in order) as one GGUF LoRA adapter at ``out_path``.
    ``base_config_dir`` holds the base's HF config (head counts for the Q/K layout)."""
    import gguf
    from transformers import AutoConfig

    if outtype not in OUTTYPES:
        raise ValueError(f"adapter outtype must be one of {OUTTYPES}, got {outtype!r}")
    if not adapter_dirs:
        raise ValueError("no adapters to export")
    cfg = AutoConfig.from_pretrained(base_config_dir)
    n_head = cfg.num_attention_heads
    n_kv = getattr(cfg, "num_key_value_heads", None) or n_head
    folded = fold([read_peft_adapter(d) for d in adapter_dirs])
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    dtype = np.float16 if outtype == "f16" else np.float32

    tmp = out_path.with_name(out_path.name + ".tmp")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name(name or out_path.parent.name)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    rank = 0
    for module, (a, b) in folded.items():
        gg_name = names.get_name(module + ".weight", try_suffixes=(".weight",))
        if gg_name is None:
            raise ValueError(f"no GGUF name for {module}")
        if module.endswith("q_proj"):
            b = to_llama_rope_layout(b, n_head)
        elif module.endswith("k_proj"):
            b = to_llama_rope_layout(b, n_kv)
        writer.add_tensor(f"{gg_name}.lora_a", np.ascontiguousarray(a.astype(dtype)))
        writer.add_tensor(f"{gg_name}.lora_b", np.ascontiguousarray(b.astype(dtype)))
        rank = max(rank, a.shape[0])
    # scale = alpha / rank = 1: the adapters' own scales are already in B
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
    if base_gguf is not None:
        writer.add_string(BASE_SHA256_KEY, file_sha256(base_gguf))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    tmp.replace(out_path)
    log.info("wrote %s: %d modules, rank %d, %s", out_path, len(folded), rank, outtype)
    return out_path


def adapter_base_sha256(path: Path) -> str | None:
    """The base SHA-256 an adapter GGUF records, if any (reads metadata only)."""
    import gguf

    field = gguf.GGUFReader(str(path)).fields.get(BASE_SHA256_KEY)
    return field.contents() if field is not None else None

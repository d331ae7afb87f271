"""Export a merged HF llama-architecture checkpoint to GGUF with the ``gguf`` package.

Hyperparameters come from the HF config; the tokenizer and chat template metadata are copied from a
reference GGUF (the bundled SmolLM2 one: the whole SmolLM2 family shares its tokenizer). HF tensor names
map to GGUF names through gguf's TensorNameMap. Transformers' GGUF loader undid llama.cpp's rotary layout
of the Q/K projections when it imported the base model; ``to_llama_rope_layout`` applies it again.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

COPIED_PREFIXES = ("tokenizer.",)
OUTTYPES = {"q8_0": "Q8_0", "f16": "F16", "f32": "F32"}
FILE_TYPES = {"q8_0": "MOSTLY_Q8_0", "f16": "MOSTLY_F16", "f32": "ALL_F32"}


def to_llama_rope_layout(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """Reorder the output rows of a Q or K projection from HF's rotate-half layout (per head: first half,
    second half of the rotary dims) to llama.cpp's interleaved pairs (row 2i = row i, row 2i+1 = row i+d/2)."""
    rows = weight.shape[0]
    head_dim = rows // n_heads
    w = weight.reshape(n_heads, 2, head_dim // 2, *weight.shape[1:])
    w = np.swapaxes(w, 1, 2)  # (heads, d/2, 2, ...): pairs (i, i + d/2) become adjacent rows
    return np.ascontiguousarray(w.reshape(weight.shape))


def from_llama_rope_layout(weight: np.ndarray, n_heads: int) -> np.ndarray:
    """The inverse of ``to_llama_rope_layout``."""
    rows = weight.shape[0]
    head_dim = rows // n_heads
    w = weight.reshape(n_heads, head_dim // 2, 2, *weight.shape[1:])
    w = np.swapaxes(w, 1, 2)
    return np.ascontiguousarray(w.reshape(weight.shape))


def _copy_metadata(writer, reference: Path) -> int:
    import gguf

    reader = gguf.GGUFReader(str(reference))
    copied = 0
    for name, f in reader.fields.items():
        if not name.startswith(COPIED_PREFIXES):
            continue
        vtype = f.types[0]
        sub = f.types[-1] if vtype == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(name, f.contents(), vtype, sub_type=sub)
        copied += 1
    return copied


def export_gguf(model_dir: Path, out_path: Path, *, reference_gguf: Path, outtype: str = "q8_0", name: str = "") -> Path:
    """Write ``model_dir`` (an HF llama-family checkpoint) as a GGUF at ``out_path``."""
    import gguf
    import torch
    from safetensors.torch import load_file
    from tqdm.auto import tqdm
    from transformers import AutoConfig

    cfg = AutoConfig.from_pretrained(model_dir)
    if cfg.model_type not in ("llama", "mistral"):
        raise ValueError(f"GGUF export supports llama-architecture models, not {cfg.model_type!r}")
    n_head, n_kv = cfg.num_attention_heads, getattr(cfg, "num_key_value_heads", None) or cfg.num_attention_heads
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // n_head

    state: dict[str, torch.Tensor] = {}
    for shard in sorted(model_dir.glob("*.safetensors")):
        state.update(load_file(str(shard)))
    if not state:
        raise FileNotFoundError(f"no *.safetensors weights in {model_dir}")
    tied = getattr(cfg, "tie_word_embeddings", False)
    if tied:
        state.pop("lm_head.weight", None)

    tmp = out_path.with_suffix(".gguf.tmp")
    writer = gguf.GGUFWriter(str(tmp), gguf.MODEL_ARCH_NAMES[gguf.MODEL_ARCH.LLAMA])
    writer.add_name(name or model_dir.name)
    writer.add_context_length(cfg.max_position_embeddings)
    writer.add_embedding_length(cfg.hidden_size)
    writer.add_block_count(cfg.num_hidden_layers)
    writer.add_feed_forward_length(cfg.intermediate_size)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_rope_dimension_count(head_dim)
    writer.add_rope_freq_base(float(getattr(cfg, "rope_theta", None) or cfg.rope_parameters["rope_theta"]))
    writer.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    writer.add_vocab_size(cfg.vocab_size)
    writer.add_file_type(getattr(gguf.LlamaFileType, FILE_TYPES[outtype]))
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    copied = _copy_metadata(writer, reference_gguf)
    if not copied:
        raise ValueError(f"{reference_gguf} has no tokenizer metadata to copy")

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, cfg.num_hidden_layers)
    qtype = getattr(gguf.GGMLQuantizationType, OUTTYPES[outtype])
    for hf_name, tensor in tqdm(sorted(state.items()), desc="export gguf", unit="tensor"):
        if hf_name.endswith("rotary_emb.inv_freq"):
            continue
        gg_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gg_name is None:
            raise ValueError(f"no GGUF name for tensor {hf_name!r}")
        data = tensor.to(torch.float32).numpy()
        if hf_name.endswith("q_proj.weight"):
            data = to_llama_rope_layout(data, n_head)
        elif hf_name.endswith("k_proj.weight"):
            data = to_llama_rope_layout(data, n_kv)
        if data.ndim == 1 or qtype == gguf.GGMLQuantizationType.F32:
            writer.add_tensor(gg_name, data.astype(np.float32))
        elif qtype == gguf.GGMLQuantizationType.F16:
            writer.add_tensor(gg_name, data.astype(np.float16))
        else:
            q = gguf.quants.quantize(data, qtype)
            writer.add_tensor(gg_name, q, raw_shape=q.shape, raw_dtype=qtype)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    tmp.replace(out_path)
    log.info("wrote %s (%s, %d tokenizer fields from %s)", out_path, outtype, copied, reference_gguf.name)
    return out_path

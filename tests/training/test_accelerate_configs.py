"""The accelerate configs beside gpu.yaml, read by accelerate's own loader. They run only on GPUs (none is
lent to these tests), so what can be checked without one is checked here: that accelerate accepts them,
and that nothing in them contradicts what the training stages set."""

from __future__ import annotations

from pathlib import Path

import pytest
from accelerate.commands.config.config_args import load_config_from_file
from accelerate.utils import DistributedType
from transformers.models.llama import modeling_llama

from training.config import load_config

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "training/configs/accelerate"


def _gpu_config():
    # its base model is a checkpoint placed on the GPU machine beforehand; everything else is validated
    return load_config(ROOT / "training/configs/gpu.yaml", overrides={"base_model": "bundled"}, root=ROOT)


@pytest.mark.parametrize("name, kind", [("ddp", DistributedType.MULTI_GPU), ("fsdp", DistributedType.FSDP),
                                        ("deepspeed_zero2", DistributedType.DEEPSPEED)])
def test_accelerate_reads_each_config_as_its_kind(name, kind):
    cfg = load_config_from_file(str(CONFIGS / f"{name}.yaml"))
    assert cfg.distributed_type == kind
    assert not cfg.use_cpu and cfg.num_machines == 1 and cfg.num_processes > 1
    gpu = _gpu_config()
    assert (cfg.mixed_precision == "bf16") == bool(gpu.sft.bf16) == bool(gpu.dpo.bf16)


def test_deepspeed_leaves_per_stage_values_to_the_trainer():
    """transformers refuses a DeepSpeed config whose fixed values differ from TrainingArguments; SFT and DPO
    accumulate gradients differently, so the config must leave those values 'auto' (unset)."""
    ds = load_config_from_file(str(CONFIGS / "deepspeed_zero2.yaml")).deepspeed_config
    assert ds["zero_stage"] == 2
    gpu = _gpu_config()
    if gpu.sft.gradient_accumulation_steps != gpu.dpo.gradient_accumulation_steps:
        assert "gradient_accumulation_steps" not in ds
    assert "gradient_clipping" not in ds


def test_fsdp_wraps_a_layer_class_the_base_model_has():
    fsdp = load_config_from_file(str(CONFIGS / "fsdp.yaml")).fsdp_config
    assert fsdp["fsdp_auto_wrap_policy"] == "TRANSFORMER_BASED_WRAP"
    # gpu.yaml's bases are llama-family SmolLM2 checkpoints
    assert hasattr(modeling_llama, fsdp["fsdp_transformer_layer_cls_to_wrap"])

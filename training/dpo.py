"""DPO stage: TRL DPOTrainer with a fresh LoRA adapter on the SFT result.

The SFT adapter is merged into the base weights in memory; the DPO adapter trains on top, and the
reference model is that same network with the adapter disabled (TRL's PEFT path), so no second copy of
the model is held.
"""

from __future__ import annotations

import time
from pathlib import Path

from .config import DPOConfig
from .sft import read_rows
from .trainer_utils import last_checkpoint, load_model, peft_lora, use_bf16


def run_dpo(
    cfg: DPOConfig,
    *,
    base_dir: Path,
    sft_adapter: Path | None,
    data_dir: Path,
    stage_dir: Path,
    max_length: int,
    seed: int,
    callbacks=(),
    resume: bool = True,
) -> dict:
    """Train a DPO LoRA adapter on ``data_dir/dpo.jsonl``; save it to ``stage_dir/adapter``."""
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import DPOConfig as TRLDPOConfig
    from trl import DPOTrainer

    rows = [{k: r[k] for k in ("prompt", "chosen", "rejected")} for r in read_rows(data_dir / "dpo.jsonl")]
    if not rows:
        raise ValueError(f"{data_dir / 'dpo.jsonl'} has no preference pairs")
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    model = load_model(base_dir, adapters=[sft_adapter] if sft_adapter else [])
    args = TRLDPOConfig(
        output_dir=str(stage_dir / "checkpoints"),
        beta=cfg.beta,
        loss_type=[cfg.loss_type],
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio of the total steps
        lr_scheduler_type=cfg.lr_scheduler_type,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        max_length=cfg.max_length or max_length,
        gradient_checkpointing=cfg.gradient_checkpointing,
        bf16=use_bf16(cfg.bf16),
        report_to="none",
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        ddp_find_unused_parameters=False,
        use_cpu=not _cuda(),
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=None,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=peft_lora(cfg.lora),
        callbacks=list(callbacks),
    )
    checkpoint = last_checkpoint(stage_dir / "checkpoints") if resume else None
    start = time.time()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    metrics = {
        "train_loss": result.training_loss,
        "steps": result.global_step,
        "train_seconds": time.time() - start,
        "resumed_from": Path(checkpoint).name if checkpoint else None,
    }
    for entry in reversed(trainer.state.log_history):
        acc = entry.get("rewards/accuracies")
        if acc is not None:
            metrics["reward_accuracy"] = acc
            metrics["reward_margin"] = entry.get("rewards/margins")
            break
    trainer.save_model(str(stage_dir / "adapter"))
    return metrics


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()

"""SFT stage: TRL SFTTrainer + PEFT LoRA on the chat examples, loss on the assistant answer only.

Each example ``[system, user, assistant]`` becomes a conversational prompt-completion pair, for which TRL
masks the prompt out of the loss (``completion_only_loss``); the completion as the chat template renders
it ends with ``<|im_end|>`` (the EOS token), so the model learns to stop. This works with any chat
template, unlike ``assistant_only_loss`` which needs ``{% generation %}`` markers SmolLM2's lacks.
CPU defaults: no gradient checkpointing (recomputation only costs time on a 135M model), batches grouped
by length (less padding), no packing (packed rows need varlen attention to stay separate).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from .config import SFTConfig
from .trainer_utils import last_checkpoint, load_model, peft_lora, use_bf16


def to_prompt_completion(rows: list[dict]) -> list[dict]:
    """``messages`` rows as TRL conversational prompt-completion rows (loss on the last assistant turn)."""
    out = []
    for row in rows:
        msgs = row["messages"]
        out.append({"prompt": msgs[:-1], "completion": msgs[-1:]})
    return out


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _tokens_per_second(trainer, elapsed: float) -> float | None:
    """Non-padding tokens seen per second (Trainer counts them when include_num_input_tokens_seen)."""
    seen = getattr(trainer.state, "num_input_tokens_seen", 0) or 0
    return round(seen / elapsed, 1) if seen and elapsed > 0 else None


def sft_arguments(cfg: SFTConfig, output_dir: Path, *, max_length: int, seed: int, has_eval: bool, **overrides):
    """TRL SFTConfig for our stage config (``overrides`` are for the throughput benchmark)."""
    from trl import SFTConfig as TRLSFTConfig

    kwargs = dict(
        output_dir=str(output_dir),
        learning_rate=cfg.learning_rate,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio of the total steps
        lr_scheduler_type=cfg.lr_scheduler_type,
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if has_eval and cfg.eval_steps else "no",
        eval_steps=cfg.eval_steps,
        gradient_checkpointing=cfg.gradient_checkpointing,
        train_sampling_strategy="group_by_length" if cfg.group_by_length else "random",
        bf16=use_bf16(cfg.bf16),
        max_length=max_length,
        packing=False,
        completion_only_loss=True,
        report_to="none",
        seed=seed,
        data_seed=seed,
        dataloader_num_workers=0,
        save_only_model=False,
        ddp_find_unused_parameters=False,
        use_cpu=not _cuda(),
        include_num_input_tokens_seen="non_padding",
    )
    kwargs.update(overrides)
    return TRLSFTConfig(**kwargs)


def run_sft(
    cfg: SFTConfig,
    *,
    base_dir: Path,
    data_dir: Path,
    stage_dir: Path,
    max_length: int,
    seed: int,
    callbacks=(),
    resume: bool = True,
) -> dict:
    """Train a LoRA adapter on ``data_dir/sft_train.jsonl``; save it to ``stage_dir/adapter``."""
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer
    from trl import SFTTrainer

    if cfg.torch_threads:
        torch.set_num_threads(cfg.torch_threads)
    tokenizer = AutoTokenizer.from_pretrained(base_dir)
    train = Dataset.from_list(to_prompt_completion(read_rows(data_dir / "sft_train.jsonl")))
    eval_rows = read_rows(data_dir / "sft_eval.jsonl")
    evals = Dataset.from_list(to_prompt_completion(eval_rows)) if eval_rows else None
    model = load_model(base_dir)
    args = sft_arguments(cfg, stage_dir / "checkpoints", max_length=max_length, seed=seed, has_eval=bool(evals))
    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evals,
        processing_class=tokenizer,
        peft_config=peft_lora(cfg.lora),
        callbacks=list(callbacks),
    )
    checkpoint = last_checkpoint(stage_dir / "checkpoints") if resume else None
    start = time.time()
    result = trainer.train(resume_from_checkpoint=checkpoint)
    elapsed = time.time() - start
    metrics = {"train_loss": result.training_loss, "steps": result.global_step, "train_seconds": elapsed,
               "world_size": args.world_size, "train_tokens_per_second": _tokens_per_second(trainer, elapsed)}
    if evals is not None:
        metrics["eval_loss"] = trainer.evaluate()["eval_loss"]
    trainer.save_model(str(stage_dir / "adapter"))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(stage_dir / "adapter")
    metrics["resumed_from"] = Path(checkpoint).name if checkpoint else None
    return metrics


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()

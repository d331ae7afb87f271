"""SFT throughput on CPU: our defaults vs TRL's defaults, same model, LoRA, data and batch size, one run.

    .venv/bin/python benchmarks/sft_throughput.py [--steps 12] [--examples 32] [--batch 2] [--max-len 1024] [--rounds 1]

All arms train the base model (the bundled SmolLM2-135M, imported once) with the same LoRA adapter on
the same seeded sample of training/data/sft.jsonl, batch size and maximum length. "ours" is training.sft's
arguments with the config defaults (no gradient checkpointing, length-grouped batches, bf16 autocast where
the CPU has native bf16: ``sft.bf16: auto``, and glibc's malloc told to keep freed memory, as
``training.run`` does: ``trainer_utils.keep_freed_memory``); "ours_fp32" is the same in fp32; "ours_glibc"
is "ours" with glibc's default malloc settings; "trl" is TRL's SFTConfig defaults (gradient checkpointing on,
random batches, bf16 autocast) plus use_cpu, which a CPU-only machine needs; "trl_fp32" is the same in
fp32. The fp32 and glibc arms separate precision and allocator from the rest. Each arm runs in a fresh
process. Throughput is non-padding tokens per second of training wall time, the first step (warm-up)
excluded. Arms alternate when --rounds > 1 so load drift on a shared machine hits all. Prints a table and
writes JSON to --out.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sample_rows(path: Path, n: int, seed: int, tokenizer, max_len: int) -> list[dict]:
    from training.dataprep.stage import chat_ids

    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    random.Random(seed).shuffle(rows)
    out = []
    for r in rows:
        if len(chat_ids(tokenizer, r["messages"])) <= max_len:
            out.append(r)
        if len(out) == n:
            break
    return out


def run_arm(arm: str, rows: list[dict], base_dir: Path, steps: int, batch: int, max_len: int) -> dict:
    import torch
    from datasets import Dataset
    from transformers import AutoTokenizer, TrainerCallback
    from trl import SFTConfig as TRLSFTConfig
    from trl import SFTTrainer

    from training.config import SFTConfig
    from training.sft import sft_arguments, to_prompt_completion
    from training.trainer_utils import load_model, peft_lora

    marks: list[tuple[float, int]] = []

    class Clock(TrainerCallback):
        def on_step_end(self, args, state, control, **kw):
            marks.append((time.perf_counter(), int(state.num_input_tokens_seen)))

    ours = SFTConfig(per_device_train_batch_size=batch, gradient_accumulation_steps=1, max_steps=steps,
                     logging_steps=steps, save_steps=10**6, **({"bf16": False} if arm == "ours_fp32" else {}))
    if arm in ("ours", "ours_fp32"):
        from training.trainer_utils import keep_freed_memory

        keep_freed_memory()
    with tempfile.TemporaryDirectory() as tmp:
        if arm.startswith("ours"):
            args = sft_arguments(ours, Path(tmp), max_length=max_len, seed=0, has_eval=False, save_strategy="no",
                                 disable_tqdm=True)
        else:  # TRL's defaults; only what all arms must share is set (and use_cpu, without which TRL's
            # default bf16=True refuses to start on a CPU-only machine)
            extra = {"bf16": False} if arm == "trl_fp32" else {}
            args = TRLSFTConfig(output_dir=tmp, per_device_train_batch_size=batch, max_steps=steps, max_length=max_len,
                                learning_rate=ours.learning_rate, logging_steps=steps, save_strategy="no",
                                report_to="none", seed=0, include_num_input_tokens_seen="non_padding",
                                disable_tqdm=True, use_cpu=True, **extra)
        trainer = SFTTrainer(
            model=load_model(base_dir),
            args=args,
            train_dataset=Dataset.from_list(to_prompt_completion(rows)),
            processing_class=AutoTokenizer.from_pretrained(base_dir),
            peft_config=peft_lora(ours.lora),
            callbacks=[Clock()],
        )
        trainer.train()
        (t0, n0), (t1, n1) = marks[0], marks[-1]
        return {
            "arm": arm,
            "gradient_checkpointing": bool(args.gradient_checkpointing),
            "bf16": bool(args.bf16),  # resolved: "auto" became a bool in sft_arguments
            "sampling": args.train_sampling_strategy,
            "steps_timed": len(marks) - 1,
            "tokens": n1 - n0,
            "seconds": round(t1 - t0, 2),
            "tokens_per_second": round((n1 - n0) / (t1 - t0), 1),
            "torch_threads": torch.get_num_threads(),
        }


ARMS = ("ours", "trl", "ours_fp32", "trl_fp32", "ours_glibc")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arm", choices=ARMS, help=argparse.SUPPRESS)  # internal: run one arm, print its JSON
    p.add_argument("--steps", type=int, default=12)
    p.add_argument("--examples", type=int, default=32)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--max-len", type=int, default=1024)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--data", default=str(ROOT / "training/data/sft.jsonl"))
    p.add_argument("--out", default=str(ROOT / "artifacts/benchmarks/sft_throughput.json"))
    a = p.parse_args()

    from transformers import AutoTokenizer

    from training.base_model import prepare_base

    base = prepare_base("bundled", ROOT / "artifacts" / "base", ROOT)
    if a.arm:
        rows = sample_rows(Path(a.data), a.examples, 0, AutoTokenizer.from_pretrained(base), a.max_len)
        print(json.dumps(run_arm(a.arm, rows, base, a.steps, a.batch, a.max_len)))
        return 0
    results = []
    for r in range(a.rounds):
        for arm in (ARMS if r % 2 == 0 else ARMS[::-1]):
            cmd = [sys.executable, __file__, "--arm", arm, "--steps", str(a.steps), "--examples", str(a.examples),
                   "--batch", str(a.batch), "--max-len", str(a.max_len), "--data", a.data]
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            res = json.loads(proc.stdout.strip().splitlines()[-1])
            res["round"] = r
            results.append(res)
            print(f"round {r} {arm:5s}: {res['tokens_per_second']:8.1f} tokens/s "
                  f"({res['tokens']} tokens in {res['seconds']} s)", flush=True)
    ours = statistics.median(x["tokens_per_second"] for x in results if x["arm"] == "ours")
    trl = statistics.median(x["tokens_per_second"] for x in results if x["arm"] == "trl")
    trl32 = statistics.median(x["tokens_per_second"] for x in results if x["arm"] == "trl_fp32")
    ours32 = statistics.median(x["tokens_per_second"] for x in results if x["arm"] == "ours_fp32")
    glibc = statistics.median(x["tokens_per_second"] for x in results if x["arm"] == "ours_glibc")
    summary = {"ours_tokens_per_second": ours, "trl_defaults_tokens_per_second": trl, "speedup": round(ours / trl, 2),
               "ours_glibc_malloc_tokens_per_second": glibc, "allocator_speedup": round(ours / glibc, 2),
               "ours_fp32_tokens_per_second": ours32, "trl_defaults_fp32_tokens_per_second": trl32,
               "speedup_fp32": round(ours32 / trl32, 2), "settings": vars(a), "runs": results}
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=2))
    print(f"\nSFT tokens/s on CPU: ours {ours:.1f} vs TRL defaults {trl:.1f} (x{ours / trl:.2f}); both in fp32: "
          f"ours {ours32:.1f} vs TRL {trl32:.1f} (x{ours32 / trl32:.2f}); ours with glibc's default malloc "
          f"{glibc:.1f} (keeping freed memory: x{ours / glibc:.2f})  -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

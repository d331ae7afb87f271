"""The lm-eval route: our YAML tasks (``evaluation/tasks``) through ``lm_eval.simple_evaluate``, either
with the ``local-completions`` model against an OpenAI-compatible server (``run_lm_eval``) or with the
``hf`` model on a Hugging Face checkpoint in this process (``run_lm_eval_hf``).

lm-eval needs a tokenizer for log-likelihood requests (to count the context's tokens, then it sums the
echoed ``token_logprobs[ctxlen:-1]``; ``max_tokens=1`` adds one generated token it drops). Its default
``tokenizer_backend="auto"`` probes the server for ``/tokenize`` and otherwise loads the *model name*
from the Hugging Face hub, which is unavailable here. So we pass ``tokenizer_backend="huggingface"``
with ``tokenizer=<dir>``: the tokenizer embedded in the bundled GGUF, exported once to a local folder
by transformers. Requests go as text (``tokenized_requests=False``): the server tokenises them itself.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from .data import TASKS_DIR


def export_tokenizer(gguf_path: str | Path, dest: str | Path | None = None) -> Path:
    """Save the GGUF's tokenizer as a plain Hugging Face tokenizer folder (cached by file path+size)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    gguf_path = Path(gguf_path)
    if dest is None:
        key = hashlib.sha1(f"{gguf_path.resolve()}:{gguf_path.stat().st_size}".encode()).hexdigest()[:12]
        dest = Path(tempfile.gettempdir()) / f"aletheia-tokenizer-{key}"
    dest = Path(dest)
    if not (dest / "tokenizer_config.json").exists():
        from transformers import AutoTokenizer

        tok = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
        tok.save_pretrained(str(dest))
    return dest


def run_lm_eval(
    base_url: str,
    model: str,
    *,
    tasks: list[str] | None = None,
    limit: float | None = None,
    tokenizer_dir: str | Path | None = None,
    include_path: str | Path | None = None,
    num_concurrent: int = 1,
    batch_size: int = 1,
    log_samples: bool = False,
) -> dict:
    """``lm_eval.simple_evaluate`` on our tasks; returns its ``results`` dict (task -> metric -> value),
    or its whole output (with per-sample ``samples``) when ``log_samples``."""
    from .perf import bundled_gguf

    tok = Path(tokenizer_dir) if tokenizer_dir else export_tokenizer(bundled_gguf())
    model_args = (
        f"model={model},base_url={base_url.rstrip('/')}/completions,tokenizer_backend=huggingface,"
        f"tokenizer={tok},tokenized_requests=False,num_concurrent={num_concurrent},max_retries=1"
    )
    return _evaluate("local-completions", model_args, tasks, limit, include_path, batch_size, log_samples)


def run_lm_eval_hf(
    pretrained: str | Path,
    *,
    tasks: list[str] | None = None,
    limit: float | None = None,
    include_path: str | Path | None = None,
    batch_size: int = 1,
    log_samples: bool = False,
) -> dict:
    """The same tasks with lm-eval's ``hf`` model on the checkpoint folder ``pretrained``, in fp32 on the
    CPU (or the GPU when there is one): the route for models that are not served yet."""
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    model_args = f"pretrained={pretrained},dtype=float32,device={device}"
    return _evaluate("hf", model_args, tasks, limit, include_path, batch_size, log_samples)


def _evaluate(model: str, model_args: str, tasks, limit, include_path, batch_size: int, log_samples: bool) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import lm_eval
    from lm_eval.tasks import TaskManager

    out = lm_eval.simple_evaluate(
        model=model,
        model_args=model_args,
        tasks=tasks or ["sysmcq"],
        task_manager=TaskManager(include_path=str(include_path or TASKS_DIR)),
        limit=limit,
        batch_size=batch_size,
        log_samples=log_samples,
    )
    return out if log_samples else out["results"]


def main(argv: list[str] | None = None) -> int:
    """``python -m evaluation.lmeval --export-tokenizer DIR``, ``--base-url URL --model M [--limit N]``, or
    ``--hf CHECKPOINT_DIR [--limit N]``."""
    import argparse
    import json

    from .perf import bundled_gguf

    ap = argparse.ArgumentParser(prog="python -m evaluation.lmeval", description=__doc__.split("\n")[0])
    ap.add_argument(
        "--export-tokenizer", metavar="DIR", help="write the bundled GGUF's tokenizer to DIR and exit"
    )
    ap.add_argument("--base-url", help="OpenAI base URL (…/v1) of the server")
    ap.add_argument("--hf", metavar="DIR", help="run lm-eval's hf model on this checkpoint folder instead")
    ap.add_argument("--model", default="aletheia-base")
    ap.add_argument("--tasks", default="sysmcq")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    if args.export_tokenizer:
        print(export_tokenizer(bundled_gguf(), args.export_tokenizer))
        return 0
    if args.hf:
        res = run_lm_eval_hf(args.hf, tasks=args.tasks.split(","), limit=args.limit, batch_size=4)
    elif args.base_url:
        res = run_lm_eval(args.base_url, args.model, tasks=args.tasks.split(","), limit=args.limit, batch_size=4)
    else:
        ap.error("give --base-url, --hf or --export-tokenizer")
    print(json.dumps(res, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

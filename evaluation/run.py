"""Evaluate a model against a baseline on an OpenAI-compatible server and write a report.

    python -m evaluation.run --model aletheia --baseline aletheia-base \\
        [--suite domain,winrate,standard,perf] [--base-url URL] [--limit N] [--out reports/<run>]

Without ``--base-url`` it starts ``python -m server`` itself; ``--model`` and ``--baseline`` may then be
``NAME=PATH.gguf`` to serve a file under that name. Suites:

* ``domain``: MCQ by log-likelihood (acc, acc_norm), open questions (key-fact coverage), config review
  (P/R/F1 of defects), log analysis (root cause, evidence lines); ``--lm-eval`` adds sysmcq through
  lm-eval's ``local-completions`` as a cross-check.
* ``winrate``: model vs baseline on the open questions, judged in both orders (``--judge-base-url``,
  ``--judge-model``, ``--judge-api-key-env`` for an LLM judge; default: the offline reference judge).
  Writes ``pairs.jsonl`` for ``python -m evaluation.human``.
* ``standard``: HumanEval pass@1 (greedy) on ``--humaneval-limit`` problems, sandboxed.
* ``perf``: load profile of the server (``evaluation.perf``) with the model.

Outputs: ``report.md``, ``results.json`` and PNG plots in ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from .client import make_client
from .data import DomainData
from .domain import open_qa_messages, run_domain
from .report import write_report

SUITES = ("domain", "winrate", "standard", "perf")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m evaluation.run", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, help="model id on the server, or NAME=PATH.gguf to serve")
    ap.add_argument("--baseline", default="aletheia-base", help="baseline model id, or NAME=PATH.gguf")
    ap.add_argument("--suite", default="domain,winrate,standard,perf")
    ap.add_argument("--base-url", help="OpenAI base URL (…/v1); default: start the server here")
    ap.add_argument("--api-key", default="none")
    ap.add_argument("--limit", type=int, help="items per domain task (default: all)")
    ap.add_argument(
        "--seed", type=int, help="sample --limit items at random with this seed (default: the first N)"
    )
    ap.add_argument("--tasks-dir", help="benchmark data folder (default: evaluation/tasks)")
    ap.add_argument("--max-tokens", type=int, default=256, help="answer length for generated tasks")
    ap.add_argument("--concurrency", type=int, default=4, help="requests in flight")
    ap.add_argument("--judge-base-url", help="OpenAI-compatible endpoint of an LLM judge")
    ap.add_argument("--judge-model", help="the judge's model id")
    ap.add_argument("--judge-api-key-env", help="environment variable holding the judge's API key")
    ap.add_argument("--humaneval-limit", type=int, default=20)
    ap.add_argument("--humaneval-mode", choices=("chat", "completion"), default="chat")
    ap.add_argument("--perf-concurrency", default="1,2,4,8,16")
    ap.add_argument("--perf-max-tokens", type=int, default=128)
    ap.add_argument("--perf-requests-per-level", type=int, default=8)
    ap.add_argument(
        "--lm-eval", action="store_true", help="also run sysmcq through lm-eval local-completions"
    )
    ap.add_argument("--out", help="report folder (default: reports/<UTC timestamp>)")
    args = ap.parse_args(argv)
    args.suites = [s.strip() for s in args.suite.split(",") if s.strip()]
    bad = set(args.suites) - set(SUITES)
    if bad:
        ap.error(f"unknown suite(s): {', '.join(sorted(bad))}; choose from {', '.join(SUITES)}")
    return args


def split_spec(spec: str) -> tuple[str, str | None]:
    name, sep, path = spec.partition("=")
    return (name, path) if sep else (spec, None)


def make_judge(args):
    if args.judge_base_url or args.judge_model:
        if not (args.judge_base_url and args.judge_model):
            raise SystemExit("--judge-base-url and --judge-model go together")
        from .judges import LLMJudge

        return LLMJudge.from_env(args.judge_base_url, args.judge_model, args.judge_api_key_env)
    from .judges import ReferenceJudge

    return ReferenceJudge()


async def evaluate(args, base_url: str, model: str, baseline: str) -> dict:
    from . import humaneval, winrate

    client = make_client(base_url, args.api_key)
    models = [model] if model == baseline else [model, baseline]
    results: dict = {"timings_s": {}}
    data = DomainData.load(args.tasks_dir, limit=args.limit, seed=args.seed)
    answers: dict[str, dict[str, str]] = {}
    try:
        if "domain" in args.suites:
            t0 = time.monotonic()
            results["domain"], results["domain_items"] = {}, {}
            for m in models:
                res = await run_domain(
                    client, m, data, max_tokens=args.max_tokens, concurrency=args.concurrency
                )
                results["domain"][m], results["domain_items"][m] = res.metrics, res.items
                answers[m] = res.open_qa_answers
            if model == baseline:
                results["domain"][f"{baseline} (baseline)"] = results["domain"][model]
            results["timings_s"]["domain"] = time.monotonic() - t0

        if "winrate" in args.suites and data.open_qa:
            from .client import chat_answers

            t0 = time.monotonic()
            for m in models:
                if m not in answers or not answers[m]:
                    texts = await chat_answers(
                        client,
                        m,
                        [open_qa_messages(i) for i in data.open_qa],
                        max_tokens=args.max_tokens,
                        concurrency=args.concurrency,
                        desc=f"{m} open_qa",
                    )
                    answers[m] = {i.id: a for i, a in zip(data.open_qa, texts)}
            judge = make_judge(args)
            outcomes = await winrate.judge_pairs(judge, data.open_qa, answers[model], answers[baseline])
            summary = winrate.summarise(outcomes, seed=args.seed or 0)
            results["winrate"] = {**summary, "judge": judge.name, "model": model, "baseline": baseline}
            results["winrate_pairs"] = winrate.outcomes_as_dicts(outcomes)
            results["pairs"] = [
                {
                    "id": i.id,
                    "question": i.question,
                    "model": model,
                    "baseline": baseline,
                    "model_answer": answers[model][i.id],
                    "baseline_answer": answers[baseline][i.id],
                }
                for i in data.open_qa
            ]
            results["timings_s"]["winrate"] = time.monotonic() - t0

        if "standard" in args.suites:
            from .sandbox import unshare_available

            t0 = time.monotonic()
            problems = humaneval.load_problems(args.humaneval_limit)
            results["standard"], results["standard_items"] = {}, {}
            for m in models:
                metrics, items = await humaneval.run_humaneval(
                    client, m, problems, concurrency=args.concurrency, mode=args.humaneval_mode
                )
                results["standard"][m] = metrics
                results["standard_items"][m] = humaneval.results_as_dicts(items)
            results["sandbox"] = (
                "network namespace (unshare -n) + socket audit hook"
                if unshare_available()
                else "socket audit hook"
            ) + ", RLIMIT_AS/CPU/FSIZE, wall-clock timeout"
            results["timings_s"]["standard"] = time.monotonic() - t0
    finally:
        await client.close()

    if "perf" in args.suites:
        from .perf import levels_as_dicts, profile_server

        t0 = time.monotonic()
        conc = [int(c) for c in args.perf_concurrency.split(",") if c.strip()]
        levels = await profile_server(
            "server",
            base_url,
            model,
            conc,
            max_tokens=args.perf_max_tokens,
            requests_per_level=args.perf_requests_per_level,
            api_key=args.api_key,
        )
        results["perf"] = levels_as_dicts(levels)
        results["timings_s"]["perf"] = time.monotonic() - t0
    return results


def run(args) -> Path:
    from .servers import list_models

    model, model_path = split_spec(args.model)
    baseline, baseline_path = split_spec(args.baseline)
    out = Path(args.out or f"reports/{datetime.now(UTC):%Y%m%d-%H%M%S}")
    with ExitStack() as stack:
        base_url = args.base_url
        if not base_url:
            from server.process import ServerProcess

            out.mkdir(parents=True, exist_ok=True)
            specs = [f"{n}={p}" for n, p in ((model, model_path), (baseline, baseline_path)) if p]
            if specs and "aletheia-base" in (model, baseline):  # explicit --model args replace the default
                specs.append("aletheia-base")
            base_url = stack.enter_context(ServerProcess(models=specs, log_path=out / "server.log")).base_url
        elif model_path or baseline_path:
            raise SystemExit("NAME=PATH only works when this command starts the server (no --base-url)")
        served = list_models(base_url, args.api_key)
        missing = [m for m in (model, baseline) if m not in served]
        if missing:
            raise SystemExit(f"not served at {base_url}: {', '.join(missing)} (served: {', '.join(served)})")
        results = asyncio.run(evaluate(args, base_url, model, baseline))
        if args.lm_eval:
            from .lmeval import run_lm_eval

            results["lm_eval"] = {
                m: run_lm_eval(base_url, m, limit=args.limit, batch_size=4)
                for m in dict.fromkeys((model, baseline))
            }
    results["run"] = {
        "model": model,
        "baseline": baseline,
        "base_url": args.base_url or "started by evaluation.run",
        "suites": ",".join(args.suites),
        "limit": args.limit,
        "seed": args.seed,
        "max_tokens": args.max_tokens,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    pairs = results.pop("pairs", None)
    out.mkdir(parents=True, exist_ok=True)
    if pairs:
        (out / "pairs.jsonl").write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return write_report(results, out)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = run(args)
    print(report.read_text())
    print(f"wrote {report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

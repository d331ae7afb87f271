"""HumanEval plumbing: the bundled problems, program assembly, code extraction, sandboxed checking."""

from __future__ import annotations

import asyncio

from evaluation.humaneval import extract_code, load_problems, program, run_humaneval
from evaluation.sandbox import run_python


def test_canonical_solutions_pass_and_wrong_ones_fail():
    problems = load_problems(4)
    assert len(problems) == 4 and problems[0]["task_id"] == "HumanEval/0"
    for p in problems:
        assert run_python(program(p, p["canonical_solution"]), timeout=10).ok, p["task_id"]
        assert not run_python(program(p, "    return None\n"), timeout=10).ok, p["task_id"]


def test_extract_code_from_chat_replies():
    p = load_problems(1)[0]
    full = (
        f"Sure!\n```python\nfrom typing import List\n\ndef {p['entry_point']}(numbers, threshold):\n"
        "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n```\nDone."
    )
    assert run_python(program(p, extract_code(full, p)), timeout=10).ok
    body_only = "```\n" + p["canonical_solution"] + "```"
    assert run_python(program(p, extract_code(body_only, p)), timeout=10).ok
    prose = "The function checks whether two numbers are close."
    assert not run_python(program(p, extract_code(prose, p)), timeout=10).ok


def test_run_humaneval_against_the_server(llm_server):
    from evaluation.client import make_client

    metrics, results = asyncio.run(
        run_humaneval(make_client(llm_server.base_url), llm_server.model, load_problems(1), max_tokens=96)
    )
    assert metrics["n"] == 1 and metrics["pass@1"] in (0.0, 1.0)
    assert results[0].task_id == "HumanEval/0" and results[0].completion.strip()
    assert results[0].passed == (metrics["pass@1"] == 1.0)

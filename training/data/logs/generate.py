"""Seeded generation of log analysis examples: a scenario's excerpt at a random file offset, the task
as the editor sends it (sometimes with the analyser's error summary and focus lines) and the answer."""

from __future__ import annotations

import random
from dataclasses import dataclass

from aletheia.tasks import LogAnalysisTask, LogAnswer, format_log_answer

from . import scenarios_data, scenarios_host, scenarios_k8s, scenarios_ops, scenarios_runtime, scenarios_web
from .common import Clock, assemble

# The model's context is 1024 tokens and log text runs at about 1.9 characters per token, so excerpts
# stay within this many characters (planted lines are always kept, noise is trimmed to fit).
EXCERPT_CHARS = (750, 1050)

SCENARIOS = {
    **scenarios_host.SCENARIOS,
    **scenarios_web.SCENARIOS,
    **scenarios_data.SCENARIOS,
    **scenarios_k8s.SCENARIOS,
    **scenarios_ops.SCENARIOS,
    **scenarios_runtime.SCENARIOS,
}


@dataclass
class LogSample:
    scenario: str
    seed: int
    task: LogAnalysisTask
    reference: LogAnswer
    noise_lines: tuple[int, ...]  # file line numbers of the noise lines
    decoys: list[str]

    def answer(self) -> str:
        return format_log_answer(self.reference)

    def line_text(self, number: int) -> str:
        return self.task.excerpt.splitlines()[number - self.task.first_line]


def generate(name: str, seed: int) -> LogSample:
    rng = random.Random(f"log:{name}:{seed}")
    clock = Clock(rng)
    sc = SCENARIOS[name](rng, clock)
    lines, evidence, noise_idx = assemble(rng, clock, sc, max_chars=rng.randint(*EXCERPT_CHARS))
    r = rng.random()
    first = 1 if r < 0.25 else rng.randint(2, 500) if r < 0.6 else rng.randint(500, 80000)
    ev_lines = tuple(sorted(first + i for i in evidence))
    focus = (ev_lines[-1],) if rng.random() < 0.3 else ()
    summary = sc.summary if rng.random() < 0.4 else ""
    source = sc.source if rng.random() < 0.9 else ""
    task = LogAnalysisTask(
        excerpt="\n".join(lines), source=source, first_line=first, error_summary=summary, focus_lines=focus
    )
    reference = LogAnswer(root_cause=sc.root_cause, evidence_lines=ev_lines, fix=sc.fix)
    return LogSample(name, seed, task, reference, tuple(first + i for i in noise_idx), sc.decoys)

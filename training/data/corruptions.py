"""Targeted wrong answers for preference pairs. Each corruption changes one thing a reviewer would
catch (a dropped finding, a wrong line, an invented defect, a wrong root cause or evidence, a wrong
fact, a vague non-answer) and is named in the record's ``rejected_by``."""

from __future__ import annotations

import random

from aletheia.tasks import Finding, LogAnswer, format_config_review_answer, format_log_answer

from .configs.generate import ConfigSample, notes_sentence, summarise
from .logs.generate import LogSample

# --------------------------------------------------------------------------------------- config review


def _render(sample: ConfigSample, full: list[Finding], rng: random.Random) -> str:
    """An answer in the reference's own style (same rule tags, same kind of summary) for other findings."""
    shown = [Finding(f.line, f.message, f.fix, sample.tags.get(f.message, "")) for f in full]
    summary = summarise(sample.kind, full, rng) + notes_sentence(sample.notes)
    return format_config_review_answer(shown, summary)


def missed_defect(sample: ConfigSample, rng: random.Random) -> str | None:
    if not sample.full_findings:
        return None
    kept = list(sample.full_findings)
    kept.pop(rng.randrange(len(kept)))
    return _render(sample, kept, rng)


def wrong_line(sample: ConfigSample, rng: random.Random) -> str | None:
    if not sample.full_findings:
        return None
    full = list(sample.full_findings)
    i = rng.randrange(len(full))
    f = full[i]
    n_lines = len(sample.doc.lines)
    token = next(d.token for d in sample.defects if sample.doc.number(d.line) == f.line)
    options = [
        n
        for n in range(max(1, f.line - 4), min(n_lines, f.line + 4) + 1)
        if n != f.line and token not in sample.doc.lines[n - 1].text and sample.doc.lines[n - 1].text.strip()
    ]
    if not options:
        return None
    full[i] = Finding(rng.choice(options), f.message, f.fix, f.rule)
    return _render(sample, full, rng)


def invented_defect(sample: ConfigSample, rng: random.Random) -> str | None:
    taken = {f.line for f in sample.full_findings}
    options = [(n, inv) for n, inv in sample.invented_candidates() if n not in taken]
    if not options:
        return None
    n, inv = rng.choice(options)
    return _render(sample, [*sample.full_findings, Finding(n, inv.message, inv.fix)], rng)


CONFIG_CORRUPTIONS = {
    "missed_defect": missed_defect,
    "wrong_line": wrong_line,
    "invented_defect": invented_defect,
}


def config_corruption(sample: ConfigSample, rng: random.Random) -> tuple[str, str] | None:
    """One corruption of the reference answer, of a kind picked at random among those that apply."""
    kinds = sorted(CONFIG_CORRUPTIONS)
    rng.shuffle(kinds)
    for kind in kinds:
        text = CONFIG_CORRUPTIONS[kind](sample, rng)
        if text is not None and text != sample.answer():
            return kind, text
    return None


# --------------------------------------------------------------------------------------- log analysis


def wrong_root_cause(sample: LogSample, rng: random.Random) -> str | None:
    ref = sample.reference
    return format_log_answer(LogAnswer(rng.choice(sample.decoys), ref.evidence_lines, ref.fix))


def noise_as_cause(sample: LogSample, rng: random.Random) -> str | None:
    if not sample.noise_lines:
        return None
    n = rng.choice(sample.noise_lines)
    text = sample.line_text(n).strip()
    if len(text) > 140:
        text = text[:137] + "..."
    cause = rng.choice(
        [
            f"The failure starts with the event on line {n}: `{text}`.",
            f"Line {n} is the first abnormal entry (`{text}`); everything after it follows from it.",
        ]
    )
    fix = rng.choice(
        [
            "Investigate the component that logged that line and restart it.",
            "Look into that event, fix its configuration and redeploy.",
        ]
    )
    return format_log_answer(LogAnswer(cause, (n,), fix))


def wrong_evidence(sample: LogSample, rng: random.Random) -> str | None:
    ref = sample.reference
    k = len(ref.evidence_lines)
    if len(sample.noise_lines) < k:
        return None
    if rng.random() < 0.5:
        lines = tuple(sorted(rng.sample(sample.noise_lines, k)))
    else:
        shift = rng.choice([-2, -1, 1, 2])
        lines = tuple(n + shift for n in ref.evidence_lines)
        if set(lines) & set(ref.evidence_lines) == set(lines):
            return None
    return format_log_answer(LogAnswer(ref.root_cause, lines, ref.fix))


LOG_CORRUPTIONS = {
    "wrong_root_cause": wrong_root_cause,
    "noise_as_cause": noise_as_cause,
    "wrong_evidence": wrong_evidence,
}


def log_corruption(sample: LogSample, rng: random.Random) -> tuple[str, str] | None:
    kinds = sorted(LOG_CORRUPTIONS)
    rng.shuffle(kinds)
    for kind in kinds:
        text = LOG_CORRUPTIONS[kind](sample, rng)
        if text is not None and text != sample.answer():
            return kind, text
    return None


# --------------------------------------------------------------------------------------- questions

_VAGUE_OPEN = [
    "It depends on your setup.",
    "There are many factors involved here.",
    "Good question, and the answer varies.",
    "This is a common issue.",
    "Hard to say without more details.",
    "That can happen for a lot of reasons.",
    "There is no single right answer to this.",
    "That is a tricky area.",
]
_VAGUE_MID = [
    "Generally you should review your {t} configuration and make sure everything is set correctly.",
    "Check the official {t} documentation and the logs for hints.",
    "Usually it is best to follow {t} best practices and keep things simple.",
    "Try restarting the affected service and see whether the problem goes away.",
    "Monitoring your {t} setup closely will help you find the cause.",
    "Make sure all your {t} components are up to date and properly configured.",
    "Look at the {t} settings and adjust them until things work.",
    "It is usually a configuration issue somewhere in the {t} stack.",
    "Consider consulting an expert on your {t} setup before changing anything.",
]
_VAGUE_CLOSE = [
    "If the problem persists, ask your team or the vendor's support.",
    "Hope this helps!",
    "Consider testing different options to see what works best.",
    "Let me know if you need anything else.",
    "Every environment is different, so experiment carefully.",
    "",
    "Good luck!",
]

_TOPIC_WORDS = {
    "linux": "system",
    "networking": "network",
    "databases": "database",
    "kubernetes": "cluster",
    "containers": "container",
    "web_servers": "web server",
    "observability": "monitoring",
    "distributed_systems": "cluster",
    "performance": "system",
    "security": "security",
    "git": "repository",
    "ci_cd": "pipeline",
    "messaging": "broker",
    "cloud": "cloud",
}


def vague_answer(topic: str, rng: random.Random) -> str:
    word = _TOPIC_WORDS.get(topic, "system")
    parts = [rng.choice(_VAGUE_OPEN), rng.choice(_VAGUE_MID).format(t=word), rng.choice(_VAGUE_CLOSE)]
    return " ".join(p for p in parts if p)

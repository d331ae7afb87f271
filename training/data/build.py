"""Builds training/data/sft.jsonl and dpo.jsonl from the sources, deterministically.

python -m training.data.build            # write the files, print counts, refresh README counts
python -m training.data.build --check    # exit 1 if the committed files differ from a fresh build
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from pathlib import Path

from aletheia.tasks import QuestionTask

from . import corruptions
from .configs.generate import KINDS
from .configs.generate import generate as generate_config
from .logs.generate import SCENARIOS
from .logs.generate import generate as generate_log
from .qa import load_all
from .records import Example

DATA_DIR = Path(__file__).parent
SFT_PATH = DATA_DIR / "sft.jsonl"
DPO_PATH = DATA_DIR / "dpo.jsonl"
README_PATH = DATA_DIR / "README.md"

SEED = 20261125
CONFIGS_PER_KIND = 130
LOGS_PER_SCENARIO = 30
CONFIG_DPO_SHARE = 0.5  # share of generated config/log examples that also yield a preference pair
LOG_DPO_SHARE = 0.5
QA_VAGUE_SHARE = 0.45


def qa_examples(rng: random.Random) -> list[Example]:
    out = []
    for item in load_all():
        task = QuestionTask(
            question=item.question, context=item.context, path=item.path, language=item.language
        )
        wrong: list[tuple[str, str]] = []
        if item.wrong_answer:
            wrong.append(("wrong_fact", item.wrong_answer))
        if rng.random() < QA_VAGUE_SHARE:
            wrong.append(("vague", corruptions.vague_answer(item.topic, rng)))
        out.append(Example("qa", item.topic, item.question, task.messages(), item.answer, tuple(wrong)))
    return out


def config_examples(rng: random.Random) -> list[Example]:
    out = []
    for kind in sorted(KINDS):
        for seed in range(CONFIGS_PER_KIND):
            sample = generate_config(kind, seed)
            wrong = ()
            if rng.random() < CONFIG_DPO_SHARE:
                pair = corruptions.config_corruption(sample, random.Random(f"corrupt:{kind}:{seed}"))
                wrong = (pair,) if pair else ()
            out.append(
                Example(
                    "config_review", kind, f"{kind}:{seed}", sample.task().messages(), sample.answer(), wrong
                )
            )
    return out


def log_examples(rng: random.Random) -> list[Example]:
    out = []
    for name in sorted(SCENARIOS):
        for seed in range(LOGS_PER_SCENARIO):
            sample = generate_log(name, seed)
            wrong = ()
            if rng.random() < LOG_DPO_SHARE:
                pair = corruptions.log_corruption(sample, random.Random(f"corrupt:{name}:{seed}"))
                wrong = (pair,) if pair else ()
            out.append(
                Example(
                    "log_analysis", name, f"{name}:{seed}", sample.task.messages(), sample.answer(), wrong
                )
            )
    return out


def build() -> tuple[list[dict], list[dict]]:
    rng = random.Random(SEED)
    examples = qa_examples(rng) + config_examples(rng) + log_examples(rng)
    sft = [ex.sft_record() for ex in examples]
    dpo = [ex.dpo_record(kind, text) for ex in examples for kind, text in ex.wrong]
    return sft, dpo


def dumps(records: list[dict]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in records)


def counts_table(sft: list[dict], dpo: list[dict]) -> str:
    s = Counter((r["source"], r["topic"]) for r in sft)
    d = Counter((r["source"], r["topic"]) for r in dpo)
    kinds = Counter(r["rejected_by"] for r in dpo)
    lines = ["| source | topic | SFT | DPO |", "|---|---|---:|---:|"]
    for key in sorted(s):
        lines.append(f"| {key[0]} | {key[1]} | {s[key]} | {d.get(key, 0)} |")
    lines.append(f"| **total** | | **{len(sft)}** | **{len(dpo)}** |")
    lines += ["", "| rejected_by | pairs |", "|---|---:|"]
    lines += [f"| {k} | {v} |" for k, v in sorted(kinds.items())]
    return "\n".join(lines)


_BEGIN, _END = "<!-- counts:begin -->", "<!-- counts:end -->"


def readme_with_counts(text: str, table: str) -> str:
    """The README text with the counts table between its markers replaced (unchanged without markers)."""
    if _BEGIN not in text or _END not in text:
        return text
    head, rest = text.split(_BEGIN, 1)
    _, tail = rest.split(_END, 1)
    return f"{head}{_BEGIN}\n{table}\n{_END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check", action="store_true", help="compare with the committed files instead of writing"
    )
    args = parser.parse_args(argv)
    sft, dpo = build()
    table = counts_table(sft, dpo)
    readme = README_PATH.read_text(encoding="utf-8")
    expected = {SFT_PATH: dumps(sft), DPO_PATH: dumps(dpo), README_PATH: readme_with_counts(readme, table)}
    if args.check:
        stale = [
            p.name for p, text in expected.items() if not p.exists() or p.read_text(encoding="utf-8") != text
        ]
        if stale:
            print(f"differ from a fresh build: {', '.join(stale)}; run python -m training.data.build")
            return 1
        print("up to date")
        return 0
    for path, text in expected.items():
        path.write_text(text, encoding="utf-8")
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())

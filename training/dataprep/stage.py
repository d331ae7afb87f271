"""The data stage: validate, filter, deduplicate, decontaminate, subset and split the training data,
add base-model preference pairs, and write the result with a data report (JSON + markdown).

Outputs (``<run>/data/``): ``sft_train.jsonl``, ``sft_eval.jsonl``, ``dpo.jsonl``, ``report.json``,
``report.md``. ``data_hash`` (in the report) is the SHA-256 of the three data files.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import Counter, defaultdict
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..config import RunConfig, resolve
from . import filters
from .base_pairs import make_base_pairs
from .schema import Record, check_dpo, check_sft, read_jsonl

log = logging.getLogger(__name__)

OUTPUT_FILES = ("sft_train.jsonl", "sft_eval.jsonl", "dpo.jsonl")


def chat_ids(tokenizer, messages: list[dict], **kw) -> list[int]:
    """Token ids of ``messages`` rendered with the chat template."""
    out = tokenizer.apply_chat_template(messages, tokenize=True, **kw)
    if isinstance(out, dict) or hasattr(out, "input_ids"):
        out = out["input_ids"]
    return list(out)


def read_inputs(cfg: RunConfig, root: Path) -> tuple[list[Record], list[Record]]:
    """Both data files, validated (raises DataError naming file:line on the first bad lines)."""
    sft_path, dpo_path = resolve(cfg.data.sft_path, root), resolve(cfg.data.dpo_path, root)
    sft = read_jsonl(sft_path, check_sft, label=cfg.data.sft_path)
    dpo = read_jsonl(dpo_path, check_dpo, label=cfg.data.dpo_path)
    return sft, dpo


def length_filter(records: list[Record], tokenizer, max_len: int) -> tuple[list[Record], dict[str, str], dict]:
    """Drop examples longer than ``max_len`` tokens or whose chat template fails to render them."""
    kept, dropped, lengths = [], {}, {}
    for rec in records:
        d = rec.data
        convs = [d["messages"]] if "messages" in d else [d["prompt"] + d["chosen"], d["prompt"] + d["rejected"]]
        try:
            n = 0
            for conv in convs:
                text = tokenizer.apply_chat_template(conv, tokenize=False)
                if conv[-1]["content"].strip() not in text:
                    raise ValueError("the rendered template lacks the answer")
                n = max(n, len(chat_ids(tokenizer, conv)))
        except Exception as e:  # noqa: BLE001 - any template failure drops the example, with its reason
            dropped[rec.id] = f"template_error: {e}"
            continue
        if n > max_len:
            dropped[rec.id] = f"too_long: {n} tokens > {max_len}"
            continue
        lengths[rec.id] = n
        kept.append(rec)
    return kept, dropped, lengths


def proportional_order(records: list[Record], seed: int, weights: dict[str, float] | None = None) -> list[Record]:
    """A seeded order that interleaves sources in proportion, so any prefix is a stratified sample; a source of
    weight w (default 1) comes w times as often in a prefix, until it runs out."""
    rng = random.Random(seed)
    by_source: dict[str, list[Record]] = defaultdict(list)
    for rec in records:
        by_source[rec.data["source"]].append(rec)
    keyed = []
    for source in sorted(by_source):
        group = by_source[source]
        rng.shuffle(group)
        share = len(group) * (weights or {}).get(source, 1.0)
        keyed += [((i + 0.5) / share, source, rec) for i, rec in enumerate(group)]
    keyed.sort(key=lambda t: (t[0], t[1]))
    return [rec for _, _, rec in keyed]


def _file_hash(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode())
        h.update(p.read_bytes())
    return h.hexdigest()


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def run_data_stage(cfg: RunConfig, out_dir: Path, tokenizer, root: Path, base_gguf: Path | None) -> dict[str, Any]:
    """Build the training data into ``out_dir``; return the data report."""
    dc = cfg.data
    sft, dpo = read_inputs(cfg, root)
    report: dict[str, Any] = {"inputs": {"sft": {"file": dc.sft_path, "records": len(sft)},
                                         "dpo": {"file": dc.dpo_path, "records": len(dpo)}}}
    drops: dict[str, dict[str, list[str]]] = {"sft": defaultdict(list), "dpo": defaultdict(list)}
    where = {r.id: r.where for r in sft + dpo}

    def note(kind: str, dropped: dict[str, str]) -> None:
        for rid, why in dropped.items():
            reason = why.split(":")[0].split(" of ")[0].replace(" ", "_")
            drops[kind][reason].append(f"{where[rid]} {rid}: {why}")

    sft, d, sft_len = length_filter(sft, tokenizer, dc.max_seq_len)
    note("sft", d)
    dpo, d, _ = length_filter(dpo, tokenizer, dc.max_seq_len)
    note("dpo", d)

    sft, d = filters.exact_duplicates(sft)
    note("sft", {k: f"exact duplicate: {v}" for k, v in d.items()})
    dpo, d = filters.exact_duplicates(dpo)
    note("dpo", {k: f"exact duplicate: {v}" for k, v in d.items()})
    sft, d = filters.near_duplicates(
        sft, threshold=dc.near_dup_threshold, num_perm=dc.minhash_num_perm, shingle_words=dc.shingle_words
    )
    note("sft", {k: f"near duplicate: {v}" for k, v in d.items()})

    eval_texts, eval_files = filters.load_eval_texts(resolve(dc.eval_tasks_dir, root))
    common = filters.common_ngrams(sft + dpo, filters.ContaminationIndex.SHORT)
    index = filters.ContaminationIndex(
        eval_texts, ngram=dc.contamination_ngram, overlap=dc.contamination_overlap, common=common
    )
    report["contamination_check"] = {"eval_files": eval_files, "eval_items": len(eval_texts)}
    sft, d = filters.contamination(sft, index)
    note("sft", {k: f"contamination: {v}" for k, v in d.items()})
    dpo, d = filters.contamination(dpo, index)
    note("dpo", {k: f"contamination: {v}" for k, v in d.items()})

    sft = proportional_order(sft, cfg.seed, dc.source_weights)
    dpo = proportional_order(dpo, cfg.seed, dc.source_weights)
    if dc.max_sft_examples is not None and len(sft) > dc.max_sft_examples:
        note("sft", {r.id: "subset: over data.max_sft_examples" for r in sft[dc.max_sft_examples :]})
        sft = sft[: dc.max_sft_examples]
    if dc.max_dpo_pairs is not None and len(dpo) > dc.max_dpo_pairs:
        note("dpo", {r.id: "subset: over data.max_dpo_pairs" for r in dpo[dc.max_dpo_pairs :]})
        dpo = dpo[: dc.max_dpo_pairs]
    n_eval = round(len(sft) * dc.eval_fraction) if len(sft) > 1 else 0
    sft_train, sft_eval = (sft[:-n_eval], sft[-n_eval:]) if n_eval else (sft, [])

    base_rows: list[dict] = []
    if dc.base_pairs > 0:
        if base_gguf is None:
            raise ValueError("data.base_pairs > 0 needs a GGUF base model (llama.cpp generates the answers)")
        base_rows, stats = make_base_pairs(
            sft_train, base_gguf, count=dc.base_pairs, max_tokens=dc.base_pairs_max_tokens, seed=cfg.seed,
            max_seq_len=dc.max_seq_len,
        )
        report["base_model_pairs"] = asdict(stats)

    out_dir.mkdir(parents=True, exist_ok=True)
    _write_jsonl(out_dir / "sft_train.jsonl", [r.data for r in sft_train])
    _write_jsonl(out_dir / "sft_eval.jsonl", [r.data for r in sft_eval])
    dpo_rows = [r.data for r in dpo] + base_rows
    _write_jsonl(out_dir / "dpo.jsonl", dpo_rows)

    def counts(rows: list[dict], key: str) -> dict[str, int]:
        return dict(sorted(Counter(r[key] for r in rows).items()))

    train_rows = [r.data for r in sft_train]
    report.update(
        {
            "output": {
                "sft_train": len(sft_train),
                "sft_eval": len(sft_eval),
                "dpo": len(dpo_rows),
                "sft_tokens": sum(sft_len[r.id] for r in sft_train),
            },
            "sft_by_source": counts(train_rows, "source"),
            "sft_by_topic": counts(train_rows, "topic"),
            "dpo_by_source": counts(dpo_rows, "source"),
            "dpo_by_rejected_by": counts(dpo_rows, "rejected_by"),
            "drops": {kind: {reason: len(v) for reason, v in sorted(r.items())} for kind, r in drops.items()},
            "drop_examples": {kind: {reason: v[:5] for reason, v in sorted(r.items())} for kind, r in drops.items()},
            "data_hash": _file_hash([out_dir / f for f in OUTPUT_FILES]),
        }
    )
    (out_dir / "report.json").write_text(json.dumps(report, indent=2))
    (out_dir / "report.md").write_text(render_markdown(report))
    return report


def render_markdown(report: dict[str, Any]) -> str:
    out = ["# Training data report", ""]
    i, o = report["inputs"], report["output"]
    out += [
        f"- SFT: {i['sft']['records']} records in `{i['sft']['file']}` -> {o['sft_train']} train + "
        f"{o['sft_eval']} held out ({o['sft_tokens']} train tokens)",
        f"- DPO: {i['dpo']['records']} records in `{i['dpo']['file']}` -> {o['dpo']} pairs",
        f"- contamination checked against {report['contamination_check']['eval_items']} evaluation items in "
        f"{len(report['contamination_check']['eval_files'])} file(s)",
        f"- data hash: `{report['data_hash']}`",
        "",
    ]
    if "base_model_pairs" in report:
        b = report["base_model_pairs"]
        out += [f"- base-model answers: {b['generated']} generated, {b['kept']} kept as rejected "
                f"(mean key-token F1 with the reference {b['mean_overlap']:.2f})", ""]
    for title, key in (("SFT examples by source", "sft_by_source"), ("SFT examples by topic", "sft_by_topic"),
                       ("DPO pairs by source", "dpo_by_source"), ("DPO pairs by rejection", "dpo_by_rejected_by")):
        out += [f"## {title}", "", "| | count |", "|---|---:|"]
        out += [f"| {k} | {v} |" for k, v in report[key].items()] + [""]
    out += ["## Drops by reason", "", "| data | reason | count |", "|---|---|---:|"]
    for kind, reasons in report["drops"].items():
        out += [f"| {kind} | {reason} | {n} |" for reason, n in reasons.items()]
    out.append("")
    for kind, reasons in report["drop_examples"].items():
        for reason, examples in reasons.items():
            out += [f"### {kind}: {reason} (first {len(examples)})", ""] + [f"- {e}" for e in examples] + [""]
    return "\n".join(out)

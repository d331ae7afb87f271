"""``report.md`` and its PNG plots from one run's ``results.json`` structure.

``results`` keys (each suite optional): ``run`` (metadata), ``domain`` (model -> task -> metrics),
``winrate`` (summary + ``judge``), ``standard`` (model -> metrics), ``perf`` (list of load levels).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

DOMAIN_HEADLINES = [
    ("mcq", "acc", "MCQ acc"),
    ("mcq", "acc_norm", "MCQ acc_norm"),
    ("open_qa", "key_fact_coverage", "open QA key facts"),
    ("config_review", "precision", "config P"),
    ("config_review", "recall", "config R"),
    ("config_review", "f1", "config F1"),
    ("log_analysis", "root_cause_acc", "log root cause"),
    ("log_analysis", "evidence_recall", "log evidence R"),
]


def _fmt(v) -> str:
    if isinstance(v, float):
        return "n/a" if math.isnan(v) else f"{v:.3f}"
    return str(v)


def plot_domain(domain: dict[str, dict[str, dict[str, float]]], path: Path) -> Path | None:
    labels = [
        (t, m, name) for t, m, name in DOMAIN_HEADLINES if any(m in domain[x].get(t, {}) for x in domain)
    ]
    if not labels:
        return None
    models = list(domain)
    width = 0.8 / len(models)
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(labels)), 4.5))
    for i, model in enumerate(models):
        vals = [domain[model].get(t, {}).get(m, float("nan")) for t, m, _ in labels]
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(labels))]
        bars = ax.bar(xs, vals, width, label=model, color=f"C{i}")
        ax.bar_label(bars, labels=[_fmt(v) for v in vals], fontsize=7, padding=2)
    ax.set_xticks(range(len(labels)), [name for _, _, name in labels], rotation=25, ha="right")
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("score (higher is better)")
    ax.set_title("Domain suite")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_winrate(w: dict, path: Path) -> Path | None:
    if not w.get("n"):
        return None
    n = w["n"]
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 3.6), gridspec_kw={"height_ratios": [1, 1]})
    left = 0.0
    for key, color, label in (("wins", "C2", "win"), ("ties", "0.7", "tie"), ("losses", "C3", "loss")):
        frac = w[key] / n
        ax1.barh([0], [frac], left=left, color=color, label=f"{label} ({w[key]})")
        left += frac
    ax1.set_xlim(0, 1)
    ax1.set_yticks([])
    ax1.set_title(f"{w.get('model', 'model')} vs {w.get('baseline', 'baseline')}: W/T/L over {n} prompts")
    ax1.legend(ncol=3, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, -0.9))
    rates = [
        ("win rate", w["win_rate"], w["ci_low"], w["ci_high"]),
        ("length-controlled", w["lc_win_rate"], None, None),
    ]
    for y, (label, v, lo, hi) in enumerate(rates):
        err = [[v - lo], [hi - v]] if lo is not None else None
        ax2.errorbar([v], [y], xerr=err, fmt="o", color="C0", capsize=4)
        ax2.text(v, y + 0.25, f"{v:.2f}", ha="center", fontsize=8)
    ax2.axvline(0.5, color="0.5", ls="--", lw=1)
    ax2.set_yticks(range(len(rates)), [r[0] for r in rates])
    ax2.set_ylim(-0.6, len(rates) - 0.2)
    ax2.set_xlim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_standard(standard: dict[str, dict[str, float]], path: Path) -> Path | None:
    if not standard:
        return None
    models = list(standard)
    vals = [standard[m].get("pass@1", float("nan")) for m in models]
    fig, ax = plt.subplots(figsize=(5, 3.5))
    bars = ax.bar(models, vals, color=[f"C{i}" for i in range(len(models))])
    ax.bar_label(bars, labels=[_fmt(v) for v in vals], fontsize=8)
    ax.set_ylim(0, max([v for v in vals if not math.isnan(v)] + [0.1]) * 1.3)
    ax.set_title(f"HumanEval pass@1 (greedy, n={standard[models[0]].get('n', '?')})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _domain_md(domain: dict) -> list[str]:
    models = list(domain)
    tasks = list(dict.fromkeys(t for m in models for t in domain[m]))
    lines = ["## Domain suite", ""]
    for task in tasks:
        metrics = list(dict.fromkeys(k for m in models for k in domain[m].get(task, {})))
        lines += [
            f"### {task}",
            "",
            "| metric | " + " | ".join(models) + " |",
            "|---|" + "---|" * len(models),
        ]
        for k in metrics:
            lines.append(
                f"| {k} | "
                + " | ".join(_fmt(domain[m].get(task, {}).get(k, float("nan"))) for m in models)
                + " |"
            )
        lines.append("")
    return lines


def _winrate_md(w: dict) -> list[str]:
    return [
        "## Win rate",
        "",
        f"Judge: {w.get('judge', '?')}. Each prompt judged in both orders; disagreement = tie.",
        "",
        (
            "| n | wins | ties | losses | win rate | 95% CI | length-controlled | similar-length (n) "
            "| mean chars model / baseline |"
        ),
        "|---|---|---|---|---|---|---|---|---|",
        (
            f"| {w['n']} | {w['wins']} | {w['ties']} | {w['losses']} | {_fmt(w['win_rate'])} | "
            f"[{_fmt(w['ci_low'])}, {_fmt(w['ci_high'])}] | {_fmt(w['lc_win_rate'])} | "
            f"{_fmt(w['similar_length_win_rate'])} ({w['similar_length_n']}) | "
            f"{w['mean_len_model']:.0f} / {w['mean_len_baseline']:.0f} |"
        ),
        "",
        (
            "Length-controlled: logistic regression of the outcome on log length ratio, evaluated at equal "
            "length; similar-length: pairs within 20% of each other's length."
        ),
        "",
    ]


def write_report(results: dict, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run = results.get("run", {})
    lines = [f"# Evaluation: {run.get('model', '?')} vs {run.get('baseline', '?')}", ""]
    lines += [f"- {k}: `{v}`" for k, v in run.items()] + [""]
    if results.get("domain"):
        lines += _domain_md(results["domain"])
        if plot_domain(results["domain"], out / "domain.png"):
            lines += ["![domain suite](domain.png)", ""]
    if results.get("winrate", {}).get("n"):
        lines += _winrate_md(results["winrate"])
        if plot_winrate(results["winrate"], out / "winrate.png"):
            lines += ["![win rate](winrate.png)", ""]
    if results.get("standard"):
        lines += ["## Standard suite: HumanEval", "", "| model | pass@1 | n |", "|---|---|---|"]
        lines += [
            f"| {m} | {_fmt(v.get('pass@1'))} | {v.get('n')} |" for m, v in results["standard"].items()
        ] + [""]
        lines += ["Generated programs ran in evaluation.sandbox: " + results.get("sandbox", ""), ""]
        if plot_standard(results["standard"], out / "standard.png"):
            lines += ["![HumanEval](standard.png)", ""]
    if results.get("perf"):
        from .perf import LevelResult, markdown_table, plot_levels

        levels = [LevelResult(**lv) for lv in results["perf"]]
        plot_levels(levels, out)
        lines += ["## Load profile", "", markdown_table(levels), "", "![load profile](perf.png)", ""]
    (out / "results.json").write_text(json.dumps(results, indent=2, default=str))
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path

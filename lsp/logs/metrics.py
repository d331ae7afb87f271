"""Log-parsing metrics from the Loghub benchmark: grouping accuracy (GA) and pairwise precision/recall/F1,
comparing predicted group labels per line with ground-truth event ids."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Sequence


def grouping_accuracy(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> float:
    """Fraction of lines whose predicted group holds exactly the lines of their true group
    (Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted labels")
    if not truth:
        return 1.0
    true_groups: dict[Hashable, set[int]] = defaultdict(set)
    pred_groups: dict[Hashable, set[int]] = defaultdict(set)
    for i, (t, p) in enumerate(zip(truth, predicted)):
        true_groups[t].add(i)
        pred_groups[p].add(i)
    correct = sum(len(lines) for p, lines in pred_groups.items()
                  if true_groups[truth[next(iter(lines))]] == lines)
    return correct / len(truth)


def pairwise_f1(truth: Sequence[Hashable], predicted: Sequence[Hashable]) -> tuple[float, float, float]:
    """Precision, recall and F1 over pairs of lines put in the same group (counted, not enumerated)."""
    if len(truth) != len(predicted):
        raise ValueError(f"{len(truth)} true labels but {len(predicted)} predicted labels")

    def pairs(counts: Counter) -> int:
        return sum(c * (c - 1) // 2 for c in counts.values())

    both = pairs(Counter(zip(truth, predicted)))
    pred_pairs, true_pairs = pairs(Counter(predicted)), pairs(Counter(truth))
    precision = both / pred_pairs if pred_pairs else 1.0
    recall = both / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1

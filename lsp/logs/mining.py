"""Template mining: group masked log messages into events with Drain (the ``drain3`` library's parse
tree), then merge the groups that a variable word split.

1. Drain, scoring similarity on constant tokens only. Drain3 counts a ``<*>`` in a template as a mismatch,
   so after thorough masking (:mod:`lsp.logs.masking`) a message made mostly of variables would never
   reach a strict threshold. Here, positions holding ``<*>`` on either side are left out of the score,
   and a strict threshold (0.95) keeps apart events that differ in one constant word.
2. Words the masks cannot see (user, job, queue names) are found afterwards
   (:meth:`LogTemplateMiner.merge_variable_positions`): groups equal but for one position where at least
   three different words occur are one event; a template that is an instance of a more general one
   joins it. In a tree leaf crowded with groups, Drain's classic threshold (0.5) applies, which keeps
   the work linear on logs full of ever-new words.

The parameters were chosen on the eight Loghub-2k systems; ``benchmarks/loghub_grouping.py --sweep``
shows the grid and a leave-one-system-out estimate.
"""

from __future__ import annotations

from drain3.drain import Drain

from lsp.logs.masking import MASK, mask

DEFAULT_SIMILARITY = 0.95
DEFAULT_DEPTH = 4
DEFAULT_MIN_VALUES = 3
MIN_SHARED_CONSTANTS = 2  # groups are merged only when they share at least this many constant words
MAX_TOKENS = 400  # messages longer than this are mined on their first MAX_TOKENS tokens
# A tree leaf holding more than CROWDED_LEAF groups is evidence of variable words that masking missed:
# there, the classic Drain threshold applies, and at most MAX_CANDIDATES groups are compared, so that a
# log of ever-new words stays linear in time instead of comparing each line with every group.
CROWDED_LEAF = 32
MAX_MERGE_TOKENS = 100  # longer templates are not considered by the merge step (its cost grows as length²)
MAX_MERGE_PASSES = 10
CROWDED_SIMILARITY = 0.5
MAX_CANDIDATES = 256
MAX_SEEN = 200_000  # masked messages remembered with their group (see LogTemplateMiner.add)


class ConstantTokenDrain(Drain):
    """Drain whose similarity is the share of agreeing tokens among positions constant in both."""

    def get_seq_distance(self, seq1, seq2, include_params: bool):
        constant = same = params = 0
        for template_token, token in zip(seq1, seq2):
            if template_token == MASK:
                params += 1
                continue
            if token == MASK:
                continue
            constant += 1
            if template_token == token:
                same += 1
        return (same / constant if constant else 1.0), params

    def fast_match(self, cluster_ids, tokens, sim_th: float, include_params: bool):
        if len(cluster_ids) > CROWDED_LEAF:
            sim_th = min(sim_th, CROWDED_SIMILARITY)
            cluster_ids = cluster_ids[-MAX_CANDIDATES:]
        return super().fast_match(cluster_ids, tokens, sim_th, include_params)


class LogTemplateMiner:
    """Online template miner: :meth:`add` a message, get its group id; :meth:`template` gives the
    group's current template (its constant tokens, with ``<*>`` where lines differ)."""

    def __init__(self, similarity: float = DEFAULT_SIMILARITY, depth: int = DEFAULT_DEPTH, *, masking: bool = True):
        self._drain = ConstantTokenDrain(depth=depth, sim_th=similarity, max_children=100, param_str=MASK)
        self._masking = masking
        self._merged_tokens: dict[int, list[str]] = {}
        self._seen: dict[str, int] = {}  # masked message -> the group it joined

    def add(self, message: str) -> int:
        """Mine one message (already stripped of its header); returns its group id. A masked message seen
        before joins the group it joined then: that group's template already covers it (templates only
        ever generalise), so the tree search and the template update would change nothing."""
        text = mask(message) if self._masking else message
        known = self._seen.get(text)
        if known is not None:
            self._drain.id_to_cluster[known].size += 1
            return known
        full_text = text
        tokens = text.split()
        if len(tokens) > MAX_TOKENS:
            text = " ".join(tokens[:MAX_TOKENS])
        cluster, _change = self._drain.add_log_message(text)
        if len(self._seen) >= MAX_SEEN:
            self._seen.clear()  # bounded memory on logs of ever-new messages
        self._seen[full_text] = cluster.cluster_id
        return cluster.cluster_id

    def template(self, group_id: int) -> str:
        if group_id in self._merged_tokens:
            return " ".join(self._merged_tokens[group_id])
        cluster = self._drain.id_to_cluster.get(group_id)
        return cluster.get_template() if cluster is not None else ""

    @property
    def group_count(self) -> int:
        return len(self._drain.id_to_cluster)

    def merge_variable_positions(self, min_values: int = DEFAULT_MIN_VALUES) -> dict[int, int]:
        """Merge groups whose templates differ in one position only, where that position takes at least
        ``min_values`` different words across groups: a word with that many values in the same place is a
        variable (user names, host names...), while two or three values are usually different events
        (``startup``/``shutdown``). Returns a map from every group id to its merged group id; the merged
        group's template has ``<*>`` at the merged position (see :meth:`template`)."""
        parent: dict[int, int] = {cid: cid for cid in self._drain.id_to_cluster}

        def find(c: int) -> int:
            while parent[c] != c:
                parent[c] = parent[parent[c]]
                c = parent[c]
            return c

        def tokens_of(root: int) -> list[str]:
            return self._merged_tokens.get(root) or list(self._drain.id_to_cluster[root].log_template_tokens)

        changed, passes = True, 0
        while changed and passes < MAX_MERGE_PASSES:
            changed, passes = False, passes + 1
            by_key: dict[tuple, list[int]] = {}
            for root in {find(cid) for cid in parent}:
                tokens = tokens_of(root)
                if len(tokens) > MAX_MERGE_TOKENS:
                    continue
                constants = sum(t != MASK for t in tokens)
                for i, token in enumerate(tokens):
                    if constants - (token != MASK) >= MIN_SHARED_CONSTANTS:
                        by_key.setdefault((len(tokens), i, *tokens[:i], *tokens[i + 1:]), []).append(root)
            touched: set[int] = set()
            for key, roots in by_key.items():
                if len(roots) < 2 or touched.intersection(roots):
                    continue
                # A template that already has <*> there (Drain generalised it) counts as many values.
                values = {tokens_of(r)[key[1]] for r in roots}
                if len(values) < min_values and MASK not in values:
                    continue
                if any(v.startswith("/") for v in values):
                    continue  # URL routes, whose variable parts masking has already found, are events
                target = min(roots)
                merged = tokens_of(target)
                merged[key[1]] = MASK
                for r in roots:
                    parent[r] = target
                self._merged_tokens[target] = merged
                touched.update(roots)
                changed = True
        self._absorb_subsumed(parent, find, tokens_of)
        return {cid: find(cid) for cid in parent}

    @staticmethod
    def _absorb_subsumed(parent: dict[int, int], find, tokens_of, max_pairs: int = 2_000_000) -> None:
        """A group whose template is an instance of a more general one (same length, and equal wherever
        the general one has a constant, of which it has at least MIN_SHARED_CONSTANTS) joins it: groups
        mined before Drain generalised a template stay apart otherwise."""
        by_length: dict[int, list[tuple[int, list[str]]]] = {}
        for root in {find(cid) for cid in parent}:
            tokens = tokens_of(root)
            by_length.setdefault(len(tokens), []).append((root, tokens))
        for bucket in by_length.values():
            general = [(r, t) for r, t in bucket
                       if MASK in t and sum(x != MASK for x in t) >= MIN_SHARED_CONSTANTS]
            if not general or len(bucket) * len(general) > max_pairs:
                continue
            # Most general first, so that an instance joins the widest template it fits.
            general.sort(key=lambda rt: sum(x == MASK for x in rt[1]), reverse=True)
            for root, tokens in bucket:
                for g_root, g_tokens in general:
                    if g_root != root and find(g_root) != find(root) and all(
                            g == MASK or g == x for g, x in zip(g_tokens, tokens)):
                        parent[find(root)] = find(g_root)
                        break

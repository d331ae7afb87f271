"""Template mining: group masked log messages into events with Drain (the ``drain3`` library's parse
tree), scoring similarity on the constant tokens only.

Drain3 counts a ``<*>`` in a template as a mismatch when it searches, so after thorough masking (see
:mod:`lsp.logs.masking`) a message made mostly of variables would never reach a strict threshold. Here a
message matches a template when enough of the positions that are constant in both agree; variables on
either side are left out of the score. With that, a strict threshold (0.7) keeps apart events that differ
in one constant word without splitting events whose variables were masked.
"""

from __future__ import annotations

from drain3.drain import Drain

from lsp.logs.masking import MASK, mask

DEFAULT_SIMILARITY = 0.7
DEFAULT_DEPTH = 4
MAX_TOKENS = 400  # messages longer than this are mined on their first MAX_TOKENS tokens


class ConstantTokenDrain(Drain):
    """Drain whose similarity is the share of agreeing tokens among positions constant in both."""

    def get_seq_distance(self, seq1, seq2, include_params: bool):  # noqa: D401 - drain3's signature
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


class LogTemplateMiner:
    """Online template miner: :meth:`add` a message, get its group id; :meth:`template` gives the
    group's current template (its constant tokens, with ``<*>`` where lines differ)."""

    def __init__(self, similarity: float = DEFAULT_SIMILARITY, depth: int = DEFAULT_DEPTH, *, masking: bool = True):
        self._drain = ConstantTokenDrain(depth=depth, sim_th=similarity, max_children=100, param_str=MASK)
        self._masking = masking

    def add(self, message: str) -> int:
        """Mine one message (already stripped of its header); returns its group id."""
        text = mask(message) if self._masking else message
        tokens = text.split()
        if len(tokens) > MAX_TOKENS:
            text = " ".join(tokens[:MAX_TOKENS])
        cluster, _change = self._drain.add_log_message(text)
        return cluster.cluster_id

    def template(self, group_id: int) -> str:
        cluster = self._drain.id_to_cluster.get(group_id)
        return cluster.get_template() if cluster is not None else ""

    @property
    def group_count(self) -> int:
        return len(self._drain.id_to_cluster)

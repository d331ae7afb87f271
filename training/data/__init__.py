"""Aletheia's training data sources: hand-written Q&A, generated config reviews and log analyses,
and targeted corruptions for preference pairs. ``python -m training.data.build`` writes
``sft.jsonl`` and ``dpo.jsonl`` from them."""

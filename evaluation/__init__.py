"""Evaluation of Aletheia's models and server over the OpenAI-compatible API: the domain benchmark,
win rate against the base model, HumanEval, blind human preferences and the load profile
(``python -m evaluation.run``; see evaluation/README.md)."""

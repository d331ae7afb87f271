"""Aletheia's language server: config diagnostics and quick fixes, log analysis, and model-backed commands
(ask, review, explain a log error) streamed to the editor. Entry point: ``python -m lsp``."""

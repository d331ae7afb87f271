"""Aletheia's OpenAI-compatible server: protocol models, routes, engines, model registry, metrics.

Entry point: ``python -m server``. The engines sit behind one narrow async interface
(``server.engines.base.Engine``): llama.cpp with continuous batching on CPU, vLLM on GPU.
"""

"""Per-sequence sampling with llama.cpp's sampler API: a chain (logit bias, penalties, temperature, top-k,
top-p, min-p, seeded dist, or greedy) and, when the output is constrained, a grammar sampler kept beside the chain.

With a grammar it does what llama.cpp's common sampler does: sample without the grammar, check that one
token against it, and only when the grammar refuses it apply the grammar to the whole vocabulary and sample
again. A full grammar pass over 49k tokens costs about ten plain samples; most tokens pass the check.
"""

from __future__ import annotations

import ctypes
import random

import llama_cpp
import numpy as np

from .base import InvalidSamplingParameter, SamplingParams

_PENALTY_WINDOW = 4096  # generated tokens the penalties look back over when max_tokens is not set

_TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


class _TokenArray:
    """A ``llama_token_data_array`` over a numpy buffer, reused step after step."""

    def __init__(self, size: int) -> None:
        self.buffer = np.zeros(size, dtype=_TOKEN_DATA)
        self.struct = llama_cpp.llama_token_data_array(
            data=self.buffer.ctypes.data_as(llama_cpp.llama_token_data_p), size=size, selected=-1, sorted=False)
        self.ref = ctypes.byref(self.struct)

    def reset(self) -> None:
        self.struct.size, self.struct.selected, self.struct.sorted = len(self.buffer), -1, False

    @property
    def selected_token(self) -> int:
        return int(self.buffer["id"][self.struct.selected])


class CandidateBuffers:
    """Scratch space for grammar sampling, shared by the sequences of one engine thread."""

    def __init__(self, n_vocab: int) -> None:
        self.n_vocab = n_vocab
        self.vocab_ids = np.arange(n_vocab, dtype=np.int32)
        self.all = _TokenArray(n_vocab)
        self.one = _TokenArray(1)

    def load(self, logits: np.ndarray) -> _TokenArray:
        buf = self.all.buffer
        buf["id"], buf["logit"], buf["p"] = self.vocab_ids, logits, 0.0
        self.all.reset()
        return self.all


def _logit_bias(bias: tuple[tuple[int, float], ...], n_vocab: int):
    for token, _ in bias:
        if not 0 <= token < n_vocab:
            raise InvalidSamplingParameter(
                "logit_bias", f"logit_bias: token id {token} is not in this model's vocabulary (0 to {n_vocab - 1})")
    return (llama_cpp.llama_logit_bias * len(bias))(*(llama_cpp.llama_logit_bias(t, b) for t, b in bias))


class SequenceSampler:
    def __init__(self, vocab, n_vocab: int, params: SamplingParams, index: int) -> None:
        self.grammar = None
        if params.grammar:
            self.grammar = llama_cpp.llama_sampler_init_grammar(vocab, params.grammar.encode(), b"root")
            if not self.grammar:
                raise ValueError("the output grammar could not be compiled")
        self.chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = lambda s: llama_cpp.llama_sampler_chain_add(self.chain, s)
        if params.logit_bias:
            bias = _logit_bias(params.logit_bias, n_vocab)
            add(llama_cpp.llama_sampler_init_logit_bias(n_vocab, len(bias), bias))
        if params.presence_penalty or params.frequency_penalty or params.repetition_penalty != 1.0:
            # over the whole answer, as OpenAI's and vLLM's penalties are (llama.cpp's default window is 64 tokens)
            window = params.max_tokens or _PENALTY_WINDOW
            add(llama_cpp.llama_sampler_init_penalties(n_vocab, window, params.repetition_penalty,
                                                       params.frequency_penalty, params.presence_penalty))
        if params.temperature <= 0.0:
            add(llama_cpp.llama_sampler_init_greedy())
        else:
            # Hugging Face's order: temperature, then top-k, top-p, min-p on the tempered distribution
            add(llama_cpp.llama_sampler_init_temp(params.temperature))
            if params.top_k > 0:
                add(llama_cpp.llama_sampler_init_top_k(params.top_k))
            if params.top_p < 1.0:
                add(llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
            if params.min_p > 0.0:
                add(llama_cpp.llama_sampler_init_min_p(params.min_p, 1))
            seed = params.seed if params.seed is not None else random.getrandbits(32)
            # each of a request's n sequences gets its own reproducible stream of randomness
            add(llama_cpp.llama_sampler_init_dist((seed + index * 0x9E3779B1) & 0xFFFFFFFF))

    def sample(self, ctx, idx: int, buffers: CandidateBuffers) -> int:
        if self.grammar is None:
            return llama_cpp.llama_sampler_sample(self.chain, ctx, idx)
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(ctx, idx), shape=(buffers.n_vocab,))
        cand = buffers.load(logits)
        llama_cpp.llama_sampler_apply(self.chain, cand.ref)
        token = cand.selected_token
        one = buffers.one
        one.buffer[0] = (token, 1.0, 0.0)
        one.reset()
        llama_cpp.llama_sampler_apply(self.grammar, one.ref)
        if not np.isfinite(one.buffer["logit"][0]):  # refused: constrain the whole vocabulary, sample again
            cand = buffers.load(logits)
            llama_cpp.llama_sampler_apply(self.grammar, cand.ref)
            llama_cpp.llama_sampler_apply(self.chain, cand.ref)
            token = cand.selected_token
        llama_cpp.llama_sampler_accept(self.grammar, token)
        llama_cpp.llama_sampler_accept(self.chain, token)
        return token

    def free(self) -> None:
        for name in ("chain", "grammar"):
            sampler = getattr(self, name)
            if sampler is not None:
                llama_cpp.llama_sampler_free(sampler)
                setattr(self, name, None)

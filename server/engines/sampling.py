"""Per-sequence sampling with llama.cpp's sampler API: a chain (penalties, temperature, top-p, seeded dist,
or greedy) and, when the output is constrained, a grammar sampler kept beside the chain.

With a grammar it does what llama.cpp's common sampler does: sample without the grammar, check that one
token against it, and only when the grammar refuses it apply the grammar to the whole vocabulary and sample
again. A full grammar pass over 49k tokens costs about ten plain samples; most tokens pass the check.
"""

from __future__ import annotations

import ctypes
import random

import llama_cpp
import numpy as np

from .base import SamplingParams

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


class SequenceSampler:
    def __init__(self, vocab, n_vocab: int, params: SamplingParams, index: int) -> None:
        self.grammar = None
        if params.grammar:
            self.grammar = llama_cpp.llama_sampler_init_grammar(vocab, params.grammar.encode(), b"root")
            if not self.grammar:
                raise ValueError("the output grammar could not be compiled")
        self.chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        add = lambda s: llama_cpp.llama_sampler_chain_add(self.chain, s)
        if params.presence_penalty or params.frequency_penalty:
            add(llama_cpp.llama_sampler_init_penalties(n_vocab, 64, 1.0, params.frequency_penalty,
                                                       params.presence_penalty))
        if params.temperature <= 0.0:
            add(llama_cpp.llama_sampler_init_greedy())
        else:
            add(llama_cpp.llama_sampler_init_temp(params.temperature))
            if params.top_p < 1.0:
                add(llama_cpp.llama_sampler_init_top_p(params.top_p, 1))
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

"""The GPU engine: vLLM's async engine behind the same narrow interface as the llama.cpp engine.

vLLM does its own continuous batching, paged KV cache and prefix caching; this adapter only translates
requests and token streams. Models: a Hugging Face model directory (e.g. a merged checkpoint from
``training.run`` on GPU) or a GGUF file (vLLM reads the tokenizer from the GGUF through transformers).
Grammars (tool calls, response_format) go to vLLM's structured-output backend as GBNF.

Install with ``pip install -e '.[gpu]'`` on a CUDA machine; nothing here is imported on CPU installs.
"""

from __future__ import annotations

import codecs
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

from .base import (
    Engine,
    EngineEvent,
    GenerationRequest,
    PromptLogprobs,
    PromptTooLong,
    QueueFull,
    TokenLogprob,
    TokenOutput,
)
from .hf_vocab import token_byte_table

_ids = itertools.count()


class VLLMEngine(Engine):
    def __init__(self, path: str | Path, *, n_ctx: int = 4096, n_parallel: int = 64, max_waiting: int = 256,
                 gpu_memory_utilization: float = 0.85) -> None:
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        self.model_path = str(path)
        self.n_ctx = n_ctx
        self.n_parallel = n_parallel
        self.max_waiting = max_waiting
        args = AsyncEngineArgs(model=self.model_path, max_model_len=n_ctx, max_num_seqs=n_parallel,
                               gpu_memory_utilization=gpu_memory_utilization, enable_prefix_caching=True)
        self.engine = AsyncLLMEngine.from_engine_args(args)
        from transformers import AutoTokenizer

        gguf = self.model_path.endswith(".gguf")
        source = str(Path(self.model_path).parent) if gguf else self.model_path
        self.tokenizer = AutoTokenizer.from_pretrained(source, gguf_file=Path(self.model_path).name if gguf else None)
        self._token_bytes = token_byte_table(self.tokenizer)
        self._in_flight = 0

    # -- vocabulary ---------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        return self.tokenizer.encode(text, add_special_tokens=add_special)

    def token_bytes(self, token: int) -> bytes:
        return self._token_bytes[token] if 0 <= token < len(self._token_bytes) else b""

    def detokenize(self, tokens: list[int]) -> str:
        return self.tokenizer.decode(tokens)

    @property
    def chat_template(self) -> str | None:
        return getattr(self.tokenizer, "chat_template", None)

    @property
    def special_tokens(self) -> dict[str, str]:
        return {"bos_token": self.tokenizer.bos_token or "", "eos_token": self.tokenizer.eos_token or ""}

    def stats(self) -> dict[str, int]:
        running = min(self._in_flight, self.n_parallel)
        return {"running": running, "waiting": self._in_flight - running, "slots": self.n_parallel}

    # -- generation -----------------------------------------------------------------------------------

    def generate(self, request: GenerationRequest) -> AsyncIterator[EngineEvent]:
        n_prompt = len(request.prompt)
        if request.params.max_tokens is not None and n_prompt + request.params.max_tokens > self.n_ctx:
            raise PromptTooLong(n_prompt, self.n_ctx, request.params.max_tokens)
        if n_prompt >= self.n_ctx:
            raise PromptTooLong(n_prompt, self.n_ctx)
        if self._in_flight - self.n_parallel >= self.max_waiting:
            raise QueueFull(self._in_flight - self.n_parallel)
        return self._stream(request, self._sampling_params(request))

    def _sampling_params(self, request: GenerationRequest):
        from vllm import SamplingParams

        p = request.params
        extra = {}
        if p.grammar:
            try:  # vLLM >= 0.10.2
                from vllm.sampling_params import StructuredOutputsParams

                extra["structured_outputs"] = StructuredOutputsParams(grammar=p.grammar)
            except ImportError:  # older releases
                from vllm.sampling_params import GuidedDecodingParams

                extra["guided_decoding"] = GuidedDecodingParams(grammar=p.grammar)
        return SamplingParams(
            n=request.n, temperature=p.temperature, top_p=p.top_p, seed=p.seed,
            presence_penalty=p.presence_penalty, frequency_penalty=p.frequency_penalty,
            top_k=p.top_k if p.top_k > 0 else -1, min_p=p.min_p, repetition_penalty=p.repetition_penalty,
            logit_bias=dict(p.logit_bias) or None,
            max_tokens=p.max_tokens if p.max_tokens is not None else self.n_ctx - len(request.prompt),
            logprobs=p.logprobs, prompt_logprobs=request.prompt_logprobs, detokenize=False, **extra)

    async def _stream(self, request: GenerationRequest, params) -> AsyncIterator[EngineEvent]:
        request_id = f"aletheia-{next(_ids)}"
        sent = [0] * request.n
        decoders = [codecs.getincrementaldecoder("utf-8")(errors="replace") for _ in range(request.n)]
        prompt_sent = False
        self._in_flight += 1
        try:
            async for out in self.engine.generate({"prompt_token_ids": request.prompt}, params, request_id):
                if request.prompt_logprobs is not None and not prompt_sent and out.prompt_logprobs is not None:
                    prompt_sent = True
                    yield PromptLogprobs([self._logprob(tok, lp, request.prompt_logprobs)
                                          for tok, lp in zip(request.prompt, out.prompt_logprobs)])
                for completion in out.outputs:
                    i = completion.index
                    new = completion.token_ids[sent[i]:]
                    for j, token in enumerate(new):
                        position = sent[i] + j
                        last = position == len(completion.token_ids) - 1
                        finish = completion.finish_reason if last and completion.finished() else None
                        if finish == "abort":
                            finish = None
                        text = decoders[i].decode(self.token_bytes(token), final=finish is not None)
                        lp = None
                        if completion.logprobs is not None and position < len(completion.logprobs):
                            lp = self._logprob(token, completion.logprobs[position], request.params.logprobs)
                        if finish == "stop" and token == self.tokenizer.eos_token_id:
                            text = decoders[i].decode(b"", final=True)
                        yield TokenOutput(i, token, text, lp, finish)
                    sent[i] = len(completion.token_ids)
        finally:
            self._in_flight -= 1
            await self.engine.abort(request_id)  # a no-op for a finished request; frees a cancelled one

    @staticmethod
    def _logprob(token: int, entry, k: int | None = None) -> TokenLogprob:
        if entry is None:
            return TokenLogprob(token, None, [])
        chosen = entry.get(token)
        top = sorted(((t, lp.logprob) for t, lp in entry.items()), key=lambda x: -x[1])[:k]
        return TokenLogprob(token, chosen.logprob if chosen else None, top)

    async def embed(self, inputs: list[list[int]]) -> list[list[float]]:
        raise ValueError("embeddings are served by the llama.cpp engine; start a CPU server for /v1/embeddings")

    def close(self) -> None:
        shutdown = getattr(self.engine, "shutdown", None)
        if shutdown:
            shutdown()


"""Continuous batching over one llama.cpp context: many concurrent streams, one ``llama_decode`` per step.

A dedicated thread runs the scheduler loop. Each step it
  1. drops cancelled sequences (their slot is free at once; its KV cells stay, for prefix reuse),
  2. admits waiting requests, first come first served, into free slots (a slot = one llama.cpp seq_id),
     and starts each from the longest cached prefix of its prompt (below),
  3. builds one batch: the last sampled token of every decoding sequence, then prompt chunks of newly
     admitted requests with the remaining token budget (chunked prefill, so a long prompt never stalls
     the running streams for more than one step),
  4. calls ``llama_decode`` once, and
  5. samples every sequence with its own llama.cpp samplers (``sampling.SequenceSampler``).

``n > 1`` runs as n sequences that share the prompt: it is decoded once on the first sequence, whose KV
cells are then copied to the others (``llama_memory_seq_cp``), and all n sample from the same logits.

Prefix reuse (what llama-server's ``cache_prompt`` and vLLM's prefix caching do): a slot keeps its KV cells
after its request ends, and the engine remembers which tokens every slot holds. A new request starts from
the longest prefix of its prompt that any slot holds (its own slot's cells are trimmed; another slot's are
copied), so a shared system prompt or the earlier turns of a conversation are not decoded again. Requests
that arrive together and share a prefix wait one step for the first of them to decode it. Requests that
want prompt logprobs (echo) always decode their whole prompt.

The event loop talks to the thread through a condition variable (in) and ``call_soon_threadsafe`` (out).
A step's outputs go out together, one wake-up of each event loop per step, just before the next step's
``llama_decode``: the loop then turns them into responses while llama.cpp computes without the GIL. (A loop
woken per token took the GIL from this thread while it sampled the rest of the batch, and a loop woken after
sampling held it while this thread wanted it back to build the next batch.)
"""

from __future__ import annotations

import asyncio
import bisect
import codecs
import collections
import ctypes
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import llama_cpp
import numpy as np

from .base import (
    Engine,
    EngineEvent,
    EngineFailure,
    GenerationRequest,
    PromptLogprobs,
    PromptTooLong,
    QueueFull,
    TokenLogprob,
    TokenOutput,
    TooManySequences,
)
from .llama_model import LlamaModel, LoraAdapter
from .sampling import CandidateBuffers, SequenceSampler

log = logging.getLogger("server.engine")

StepObserver = Callable[[int, int, int, float], None]  # (batch sequences, prompt tokens, generated tokens, seconds)


@dataclass(eq=False)
class _Sequence:
    index: int  # choice index within its request
    slot: int = -1
    sampler: SequenceSampler | None = None
    n_past: int = 0  # tokens in this sequence's KV cells
    pending: int | None = None  # sampled token not yet decoded
    generated: int = 0
    batch_idx: int = -1  # where this sequence's logits are in the current batch
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace")
    )
    finished: bool = False


@dataclass(eq=False)
class _Request:
    spec: GenerationRequest
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue
    max_tokens: int
    seqs: list[_Sequence] = field(default_factory=list)
    prefilled: int = 0  # prompt tokens decoded so far (on seqs[0]), reused ones included
    placed: bool = False  # its prompt's reusable prefix has been taken from the cache; prefill may start
    reused: int = 0  # prompt tokens taken from the cache instead of decoded
    cancelled: bool = False
    done: bool = False
    arrival: float = field(default_factory=time.monotonic)


_END = object()


def _deliver(items: list[tuple[asyncio.Queue, object]]) -> None:
    for queue, item in items:
        queue.put_nowait(item)


# A prefix copied from another slot must be at least this long: copying between llama.cpp's per-sequence
# KV streams moves a whole stream, which only pays off for a prefix that takes real time to decode.
MIN_SHARED_PREFIX = 16


def common_prefix(a: list[int], b: list[int], limit: int) -> int:
    """Length of the common prefix of ``a`` and ``b``, at most ``limit``."""
    n = min(len(a), len(b), limit)
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # a[:lo] == b[:lo] and a[:hi] != b[:hi]: bisect on slice equality (C speed)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _address(pointer) -> int:
    return ctypes.cast(pointer, ctypes.c_void_p).value or 0


class TokenStream:
    """The async iterator a client of the engine reads; ``aclose()`` (or garbage collection) cancels."""

    def __init__(self, engine: LlamaBatchedEngine, req: _Request) -> None:
        self._engine, self._req = engine, req

    def __aiter__(self) -> TokenStream:
        return self

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens reused from the prefix cache (known once the first token is out)."""
        return self._req.reused

    async def __anext__(self) -> EngineEvent:
        item = await self._req.queue.get()
        if item is _END:
            self._req.done = True
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            self._req.done = True
            raise item
        return item

    async def aclose(self) -> None:
        self._engine._cancel(self._req)

    def __del__(self) -> None:
        if not self._req.done:
            self._engine._cancel(self._req)


class LlamaBatchedEngine(Engine):
    def __init__(
        self,
        model: LlamaModel,
        *,
        n_ctx: int = 4096,
        n_parallel: int = 8,
        n_batch: int = 512,
        n_threads: int = 2,
        max_waiting: int = 64,
        kv_unified: bool = False,
        observer: StepObserver | None = None,
        adapter: LoraAdapter | None = None,
        decode_lock: threading.Lock | None = None,
    ) -> None:
        self.model = model
        self.adapter = adapter
        # Engines over one model (the base and its adapters, each with its own context) take turns in
        # llama_decode: llama.cpp's worker threads spin, so two decodes at once on the same cores slow both.
        self._decode_lock = decode_lock or threading.Lock()
        self.model_path = model.path
        self.n_ctx = min(n_ctx, model.n_ctx_train) if model.n_ctx_train > 0 else n_ctx
        self.n_parallel = n_parallel
        self.n_batch = n_batch
        self.n_threads = n_threads
        self.max_waiting = max_waiting
        self.observer = observer
        self.ctx = model.new_context(
            n_ctx=self.n_ctx * n_parallel,
            n_seq_max=n_parallel,
            n_batch=n_batch,
            n_threads=n_threads,
            kv_unified=kv_unified,
        )
        if adapter is not None:
            adapter.apply_to(self.ctx)
        self.mem = llama_cpp.llama_get_memory(self.ctx)
        self.batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
        self._cond = threading.Condition()
        self._waiting: collections.deque[_Request] = collections.deque()
        self._running: list[_Request] = []
        self._free_slots = list(range(n_parallel))  # sorted
        self._cached: list[list[int]] = [[] for _ in range(n_parallel)]  # the tokens each slot's KV cells hold
        self._stop = False
        self._thread: threading.Thread | None = None
        self._embedder = None
        self._embed_lock = threading.Lock()
        self._candidates = CandidateBuffers(model.n_vocab)  # only the engine thread samples
        self._outbox: list[tuple[_Request, object]] = []  # only the engine thread emits

    # -- Engine interface: vocabulary ---------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        return self.model.tokenize(text, add_special=add_special)

    def token_bytes(self, token: int) -> bytes:
        return self.model.token_bytes(token)

    def detokenize(self, tokens: list[int]) -> str:
        return self.model.detokenize(tokens)

    @property
    def chat_template(self) -> str | None:
        return self.model.chat_template

    @property
    def special_tokens(self) -> dict[str, str]:
        return {"bos_token": self.model.token_text(self.model.bos), "eos_token": self.model.token_text(self.model.eos)}

    @property
    def adds_bos(self) -> bool:
        return self.model.add_bos

    def stats(self) -> dict[str, int]:
        with self._cond:
            running = sum(len(r.seqs) for r in self._running)
            return {"running": running, "waiting": len(self._waiting), "slots": self.n_parallel}

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="llama-batched", daemon=True)
            self._thread.start()

    def close(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread:
            self._thread.join(timeout=10)
        llama_cpp.llama_batch_free(self.batch)
        llama_cpp.llama_free(self.ctx)
        if self._embedder is not None:
            llama_cpp.llama_free(self._embedder)

    # -- Engine interface: generation ---------------------------------------------------------------

    def _validate(self, spec: GenerationRequest) -> int:
        n_prompt = len(spec.prompt)
        if n_prompt == 0:
            raise ValueError("the prompt is empty")
        if spec.n > self.n_parallel:
            raise TooManySequences(spec.n, self.n_parallel)
        max_tokens = spec.params.max_tokens
        if max_tokens is not None and n_prompt + max_tokens > self.n_ctx:
            raise PromptTooLong(n_prompt, self.n_ctx, max_tokens)
        if n_prompt + (1 if max_tokens is None or max_tokens > 0 else 0) > self.n_ctx:
            raise PromptTooLong(n_prompt, self.n_ctx)
        return self.n_ctx - n_prompt if max_tokens is None else max_tokens

    def generate(self, spec: GenerationRequest) -> TokenStream:
        """Validate and enqueue at once (raising PromptTooLong / QueueFull / TooManySequences here, before
        any response is sent), then stream. Closing the stream cancels the request."""
        max_tokens = self._validate(spec)
        with self._cond:
            # requests the engine thread is about to admit into free slots are not waiting
            waiting = len(self._waiting) - len(self._free_slots)
            if waiting >= self.max_waiting:
                raise QueueFull(waiting)
        # samplers are built here, so that a bad grammar is the caller's error (a 400), not the engine's
        seqs = []
        try:
            for i in range(spec.n):
                seqs.append(_Sequence(index=i, sampler=SequenceSampler(
                    self.model.vocab, self.model.n_vocab, spec.params, i)))
        except ValueError:
            for seq in seqs:
                seq.sampler.free()
            raise
        req = _Request(spec=spec, loop=asyncio.get_running_loop(), queue=asyncio.Queue(), max_tokens=max_tokens)
        req.seqs = seqs
        with self._cond:
            self._waiting.append(req)
            self._cond.notify()
        return TokenStream(self, req)

    def _cancel(self, req: _Request) -> None:
        with self._cond:
            if not req.done:
                req.cancelled = True
                self._cond.notify()

    # -- the scheduler thread -----------------------------------------------------------------------

    def _loop(self) -> None:
        """The scheduler thread. Nothing that goes wrong in a step ends it: a failed ``llama_decode`` fails
        the requests of that batch, a failure in one request's sampling fails that request, each with an
        ``EngineFailure`` the routes answer as a 500 in OpenAI's shape, and the engine serves on."""
        while True:
            with self._cond:
                while not self._stop and not self._running and not self._waiting:
                    self._cond.wait()
                if self._stop:
                    break
            try:
                with self._cond:
                    self._reap_cancelled()
                    self._admit()
                if self._running:
                    self._step()
            except Exception as exc:
                log.exception("engine step failed")
                with self._cond:
                    for req in list(self._running):
                        self._finish(req, error=EngineFailure(f"generation failed: {exc}"))
            finally:
                if not self._running:  # else the next step sends them, just before it decodes
                    self._flush()

    def _fail(self, req: _Request, exc: Exception) -> None:
        """End one request whose sampling or output failed; call with the lock held."""
        log.exception("request failed in the engine", exc_info=exc)
        self._finish(req, error=EngineFailure(f"generation failed: {exc}"))

    def _emit(self, req: _Request, item) -> None:
        self._outbox.append((req, item))

    def _flush(self) -> None:
        """Hand the step's outputs to their event loops, one ``call_soon_threadsafe`` per loop."""
        if not self._outbox:
            return
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Queue, object]]] = {}
        for req, item in self._outbox:
            by_loop.setdefault(req.loop, []).append((req.queue, item))
        self._outbox = []
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver, items)
            except RuntimeError:  # that loop is closed: nobody is reading those streams any more
                pass

    def _reap_cancelled(self) -> None:
        for req in [r for r in self._running if r.cancelled]:
            self._finish(req)
        if any(r.cancelled for r in self._waiting):
            for req in [r for r in self._waiting if r.cancelled]:
                self._finish(req)
            self._waiting = collections.deque(r for r in self._waiting if not r.cancelled)

    def _admit(self) -> None:
        # First come, first served: the head of the queue waits for enough free slots rather than being
        # overtaken by smaller requests behind it.
        while self._waiting and len(self._free_slots) >= self._waiting[0].spec.n:
            req = self._waiting.popleft()
            # the lowest free slots, always: llama.cpp attends over the range of KV streams from the lowest
            # to the highest slot in a batch, so sequences packed into low slots decode faster than spread
            # ones (8 streams in 16 slots: 40 ms a step spread, 30 packed). A prefix cached in another slot
            # is copied over by _place, once, instead of costing every step.
            for seq in req.seqs:
                seq.slot = self._free_slots.pop(0)
            for seq in req.seqs[1:]:
                self._clear_slot(seq.slot)
            self._running.append(req)

    def _clear_slot(self, slot: int, keep: int = 0) -> None:
        llama_cpp.llama_memory_seq_rm(self.mem, slot, keep, -1)
        del self._cached[slot][keep:]

    def _place(self, req: _Request) -> bool:
        """Start ``req``'s lead sequence from the longest cached prefix of its prompt. Returns False (try
        again next step) when a request already running is about to decode a longer common prefix."""
        prompt, lead = req.spec.prompt, req.seqs[0]
        limit = len(prompt) - 1  # at least one prompt token is decoded: its logits give the first token
        if req.spec.prompt_logprobs is not None or limit <= 0:
            self._clear_slot(lead.slot)
            return True
        source, best = lead.slot, common_prefix(self._cached[lead.slot], prompt, limit)
        for slot, tokens in enumerate(self._cached):
            n = common_prefix(tokens, prompt, limit) if slot != lead.slot else 0
            if n >= MIN_SHARED_PREFIX and n > best:
                source, best = slot, n
        for other in self._running:
            if other is not req and other.placed and not other.cancelled and other.prefilled < limit:
                n = common_prefix(other.spec.prompt, prompt, limit)
                if n >= best + MIN_SHARED_PREFIX and other.prefilled < n:  # worth one step's wait
                    return False
        if source != lead.slot:  # copy whole (llama.cpp copies between KV streams only whole), then trim
            self._clear_slot(lead.slot)
            llama_cpp.llama_memory_seq_cp(self.mem, source, lead.slot, -1, -1)
            self._cached[lead.slot] = self._cached[source][:best]
        self._clear_slot(lead.slot, keep=best)
        req.prefilled = req.reused = lead.n_past = best
        return True

    def _finish(self, req: _Request, error: BaseException | None = None) -> None:
        """Free a request's slots and close its stream. Call with the lock held. The slots keep their KV
        cells for prefix reuse, unless the request failed (its cells may then be incomplete)."""
        for seq in req.seqs:
            if seq.slot >= 0:
                if error is not None:
                    self._clear_slot(seq.slot)
                bisect.insort(self._free_slots, seq.slot)
                seq.slot = -1
            if seq.sampler is not None:
                seq.sampler.free()
                seq.sampler = None
        if req in self._running:
            self._running.remove(req)
        req.done = True
        if not req.cancelled:
            if error is not None:
                self._emit(req, error)
            self._emit(req, _END)

    def _step(self) -> None:
        batch, n = self.batch, 0
        decoding: list[tuple[_Request, _Sequence]] = []
        prefill: list[tuple[_Request, int, int, int]] = []  # (request, start, end, batch index of start)
        with self._cond:
            for req in self._running:
                if not req.placed and not req.cancelled:
                    req.placed = self._place(req)
        for req in self._running:
            for seq in req.seqs:
                seq.batch_idx = -1
                if seq.pending is not None and not seq.finished:
                    self._batch_add(n, seq.pending, seq.n_past, seq.slot, True)
                    self._cached[seq.slot].append(seq.pending)
                    seq.batch_idx = n
                    seq.n_past += 1
                    seq.pending = None
                    decoding.append((req, seq))
                    n += 1
        budget = self.n_batch - n
        for req in self._running:
            if budget <= 0:
                break
            total = len(req.spec.prompt)
            if req.prefilled >= total or not req.placed:
                continue
            start, end = req.prefilled, min(total, req.prefilled + budget)
            want_all = req.spec.prompt_logprobs is not None
            lead = req.seqs[0]
            for pos in range(start, end):
                self._batch_add(n, req.spec.prompt[pos], pos, lead.slot, want_all or pos == total - 1)
                n += 1
            prefill.append((req, start, end, n - (end - start)))
            self._cached[lead.slot].extend(req.spec.prompt[start:end])
            req.prefilled = end
            lead.n_past = end
            budget -= end - start
        if n == 0:
            self._flush()
            return
        batch.n_tokens = n
        # the last step's outputs go out now: the event loop formats them while llama_decode runs without
        # the GIL, instead of holding the GIL while this thread wants it back to build this batch
        self._flush()
        with self._decode_lock:
            t0 = time.perf_counter()
            rc = llama_cpp.llama_decode(self.ctx, batch)
            elapsed = time.perf_counter() - t0
        if rc != 0:
            raise RuntimeError(f"llama_decode returned {rc}")

        with self._cond:
            n_prompt_tokens = 0
            for req, start, end, first_idx in prefill:
                n_prompt_tokens += end - start
                if not req.cancelled and not req.done:
                    try:
                        self._after_prefill(req, start, end, first_idx)
                    except Exception as exc:
                        self._fail(req, exc)
            for req, seq in decoding:
                if not req.cancelled and not req.done and not seq.finished:
                    try:
                        self._sample(req, seq, seq.batch_idx)
                    except Exception as exc:
                        self._fail(req, exc)
            for req in list(self._running):
                if not req.cancelled and all(s.finished for s in req.seqs) and req.seqs:
                    self._finish(req)
        if self.observer:
            self.observer(len(decoding) + len(prefill), n_prompt_tokens, len(decoding), elapsed)

    def _after_prefill(self, req: _Request, start: int, end: int, first_idx: int) -> None:
        total = len(req.spec.prompt)
        k = req.spec.prompt_logprobs
        if k is not None:
            tokens = [TokenLogprob(req.spec.prompt[0], None, [])] if start == 0 else []
            n_rows = min(end, total - 1) - start  # the last prompt token predicts a generated token, not a prompt one
            if n_rows > 0:
                tokens += self._logprobs(first_idx, req.spec.prompt[start + 1: start + 1 + n_rows], k)
            self._emit(req, PromptLogprobs(tokens))
        if end < total:
            return
        lead = req.seqs[0]
        last_idx = first_idx + (end - start) - 1
        for seq in req.seqs[1:]:
            llama_cpp.llama_memory_seq_cp(self.mem, lead.slot, seq.slot, -1, -1)
            self._cached[seq.slot] = list(self._cached[lead.slot])
            seq.n_past = lead.n_past
        if req.max_tokens == 0:
            for seq in req.seqs:
                seq.finished = True
                self._emit(req, TokenOutput(seq.index, -1, "", None, "length"))
            return
        for seq in req.seqs:
            self._sample(req, seq, last_idx)

    def _sample(self, req: _Request, seq: _Sequence, idx: int) -> None:
        token = seq.sampler.sample(self.ctx, idx, self._candidates)
        seq.generated += 1
        lp = None
        if req.spec.params.logprobs is not None:
            lp = self._logprob(idx, token, req.spec.params.logprobs)
        finish = None
        if self.model.is_eog(token):
            finish, text = "stop", seq.decoder.decode(b"", final=True)
        else:
            text = seq.decoder.decode(self.model.token_bytes(token))
            if seq.generated >= req.max_tokens or seq.n_past + 1 >= self.n_ctx:
                finish = "length"
                text += seq.decoder.decode(b"", final=True)
            else:
                seq.pending = token
        if finish:
            seq.finished = True
        self._emit(req, TokenOutput(seq.index, token, text, lp, finish))

    def _logprob(self, idx: int, token: int, k: int) -> TokenLogprob:
        return self._logprobs(idx, [token], k)[0]

    def _logprobs(self, first_idx: int, tokens: list[int], k: int) -> list[TokenLogprob]:
        """Log-probabilities of ``tokens`` under the logits of consecutive batch outputs from ``first_idx``
        (llama.cpp stores the outputs of one batch row after row), with the top ``k`` alternatives."""
        rows, n_vocab = len(tokens), self.model.n_vocab
        first = llama_cpp.llama_get_logits_ith(self.ctx, first_idx)
        last = llama_cpp.llama_get_logits_ith(self.ctx, first_idx + rows - 1)
        if _address(last) - _address(first) == (rows - 1) * n_vocab * 4:
            logits = np.ctypeslib.as_array(first, shape=(rows, n_vocab))
        else:  # outputs not stored in batch order: gather row by row
            logits = np.stack([np.ctypeslib.as_array(llama_cpp.llama_get_logits_ith(self.ctx, first_idx + r),
                                                     shape=(n_vocab,)) for r in range(rows)])
        peak = logits.max(axis=1, keepdims=True)
        logz = (peak + np.log(np.exp(logits - peak, dtype=np.float64).sum(axis=1, keepdims=True)))[:, 0]
        chosen = logits[np.arange(rows), tokens] - logz
        out = []
        for r in range(rows):
            top: list[tuple[int, float]] = []
            if k > 0:
                ids = np.argpartition(-logits[r], k)[:k]
                ids = ids[np.argsort(-logits[r, ids])]
                top = [(int(i), float(logits[r, i] - logz[r])) for i in ids]
            out.append(TokenLogprob(tokens[r], float(chosen[r]), top))
        return out

    def _batch_add(self, i: int, token: int, pos: int, seq_id: int, logits: bool) -> None:
        b = self.batch
        b.token[i] = token
        b.pos[i] = pos
        b.n_seq_id[i] = 1
        b.seq_id[i][0] = seq_id
        b.logits[i] = logits

    # -- embeddings -----------------------------------------------------------------------------------

    async def embed(self, inputs: list[list[int]]) -> list[list[float]]:
        return await asyncio.to_thread(self._embed_sync, inputs)

    def _embed_sync(self, inputs: list[list[int]]) -> list[list[float]]:
        with self._embed_lock:
            if self._embedder is None:
                self._embedder = self.model.new_context(
                    n_ctx=self.n_ctx, n_seq_max=1, n_batch=self.n_ctx, n_threads=self.n_threads, embeddings=True
                )
                if self.adapter is not None:
                    self.adapter.apply_to(self._embedder)
            ctx = self._embedder
            mem = llama_cpp.llama_get_memory(ctx)
            out = []
            batch = llama_cpp.llama_batch_init(self.n_ctx, 0, 1)
            try:
                for tokens in inputs:
                    if len(tokens) > self.n_ctx:
                        raise PromptTooLong(len(tokens), self.n_ctx)
                    llama_cpp.llama_memory_clear(mem, True)
                    for i, t in enumerate(tokens):
                        batch.token[i], batch.pos[i], batch.n_seq_id[i] = t, i, 1
                        batch.seq_id[i][0], batch.logits[i] = 0, True
                    batch.n_tokens = len(tokens)
                    with self._decode_lock:
                        rc = llama_cpp.llama_decode(ctx, batch)
                    if rc != 0:
                        raise RuntimeError("llama_decode failed while embedding")
                    ptr = llama_cpp.llama_get_embeddings_seq(ctx, 0)
                    vec = np.ctypeslib.as_array(ptr, shape=(self.model.n_embd,)).astype(np.float64)
                    norm = np.linalg.norm(vec)
                    out.append((vec / norm if norm > 0 else vec).tolist())
            finally:
                llama_cpp.llama_batch_free(batch)
            return out


"""From an engine's token stream to OpenAI choices: stop strings, finish reasons, usage and latency metrics.

Engine-agnostic: the chat and completions routes both drive a ``GenerationRun`` and only format its deltas.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from .engines.base import PromptLogprobs, TokenLogprob, TokenOutput
from .gateway.core import track_run
from .metrics import Metrics
from .protocol import PromptTokensDetails, Usage

log = logging.getLogger("server.http")


class StopMatcher:
    """Finds stop strings in streamed text, holding back a tail that could be the start of one."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.buffer = ""

    def push(self, text: str) -> tuple[str, bool]:
        """Add text; return (text safe to emit, whether a stop string was reached)."""
        if not self.stops:
            return text, False
        self.buffer += text
        hits = [i for i in (self.buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.buffer = self.buffer[: min(hits)], ""
            return out, True
        keep = 0
        for stop in self.stops:
            for k in range(min(len(stop) - 1, len(self.buffer)), keep, -1):
                if self.buffer.endswith(stop[:k]):
                    keep = k
                    break
        cut = len(self.buffer) - keep
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out, False

    def flush(self) -> str:
        out, self.buffer = self.buffer, ""
        return out


@dataclass
class Delta:
    index: int
    text: str
    logprobs: list[TokenLogprob] = field(default_factory=list)
    finish_reason: str | None = None


@dataclass
class _Choice:
    matcher: StopMatcher
    tokens: int = 0
    finished: bool = False
    last_token_at: float | None = None
    finish_reason: str | None = None
    text: list[str] = field(default_factory=list)  # what was emitted (the gateway keeps chat answers)


class GenerationRun:
    """One prompt's generation (n choices). Iterate ``events()``; read ``usage`` afterwards."""

    def __init__(self, stream, *, n: int, stops: list[str], prompt_tokens: int, model: str, metrics: Metrics,
                 started: float | None = None, request_id: str = "-") -> None:
        self.stream = stream
        self.request_id = request_id
        self.choices = [_Choice(StopMatcher(stops)) for _ in range(n)]
        self.prompt_tokens = prompt_tokens
        self.model = model
        self.metrics = metrics
        self.started = started or time.perf_counter()
        self.first_token_at: float | None = None
        track_run(self)  # the gateway's ledger reads this run's counts when the request ends

    @property
    def completion_tokens(self) -> int:
        return sum(c.tokens for c in self.choices)

    @property
    def cached_tokens(self) -> int:
        """Prompt tokens the engine took from its prefix cache (engines without one report 0)."""
        return getattr(self.stream, "cached_tokens", 0)

    async def events(self) -> AsyncIterator[Delta | PromptLogprobs]:
        try:
            async for event in self.stream:
                if isinstance(event, PromptLogprobs):
                    yield event
                    continue
                delta = self._on_token(event)
                if delta is not None:
                    yield delta
                if all(c.finished for c in self.choices):
                    break
        finally:
            await self.stream.aclose()
            self.metrics.observe_request_tokens(self.model, self.prompt_tokens, self.completion_tokens,
                                                self.cached_tokens, time.perf_counter() - self.started)

    def _on_token(self, out: TokenOutput) -> Delta | None:
        choice = self.choices[out.index]
        if choice.finished:
            return None
        now = time.perf_counter()
        if out.token >= 0:
            choice.tokens += 1
            if self.first_token_at is None:
                self.first_token_at = now
                log.debug("request %s: first token after %.3f s", self.request_id, now - self.started)
                self.metrics.ttft.labels(self.model).observe(now - self.started)
            if choice.last_token_at is not None:
                self.metrics.itl.labels(self.model).observe(now - choice.last_token_at)
            choice.last_token_at = now
        text, stopped = choice.matcher.push(out.text)
        finish = "stop" if stopped else out.finish_reason
        if finish and not stopped:
            text += choice.matcher.flush()
        if finish:
            choice.finished = True
            choice.finish_reason = finish
        choice.text.append(text)
        return Delta(out.index, text, [out.logprob] if out.logprob else [], finish)


def usage(runs: list[GenerationRun]) -> Usage:
    """OpenAI usage over one request's runs (one per prompt), cached prompt tokens included."""
    prompt = sum(r.prompt_tokens for r in runs)
    completion = sum(r.completion_tokens for r in runs)
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion,
                 prompt_tokens_details=PromptTokensDetails(cached_tokens=sum(r.cached_tokens for r in runs)))

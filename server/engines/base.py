"""The narrow interface every engine implements: a request in, an async stream of tokens out.

The serving layer (routes) turns token streams into OpenAI responses: text assembly, stop strings,
logprob formatting and usage all live there, so an engine only has to schedule and sample.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

# what a LoRA adapter GGUF records of the weights it was trained on (training.export_adapter writes it)
BASE_SHA256_KEY = "aletheia.base.sha256"


class EngineError(Exception):
    """Base class for errors an engine reports to the serving layer."""


class EngineFailure(EngineError):
    """The engine failed while generating a request (a failed decode step, an error in its sampling): the
    request ends with a 500; the engine goes on serving the others."""


class PromptTooLong(EngineError):
    def __init__(self, n_prompt: int, n_ctx: int, max_tokens: int | None = None) -> None:
        self.n_prompt, self.n_ctx, self.max_tokens = n_prompt, n_ctx, max_tokens
        if max_tokens:
            msg = (
                f"This model's maximum context length is {n_ctx} tokens. However, you requested "
                f"{n_prompt + max_tokens} tokens ({n_prompt} in the prompt, {max_tokens} for the completion). "
                "Please reduce the length of the prompt or the completion."
            )
        else:
            msg = (
                f"This model's maximum context length is {n_ctx} tokens, but the prompt has {n_prompt} tokens. "
                "Please reduce the length of the prompt."
            )
        super().__init__(msg)


class QueueFull(EngineError):
    def __init__(self, waiting: int) -> None:
        super().__init__(f"The server is busy: {waiting} requests are already waiting. Retry shortly.")


class InvalidSamplingParameter(EngineError, ValueError):
    """A sampling parameter this model cannot take (e.g. a logit_bias token outside its vocabulary)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


class TooManySequences(EngineError):
    def __init__(self, n: int, slots: int) -> None:
        super().__init__(f"n={n} exceeds the {slots} parallel sequences this server runs; lower n.")


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int | None = None  # None: up to the end of the context
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    # extensions vLLM and llama.cpp's server accept: 0 / 0.0 / 1.0 switch them off
    top_k: int = 0
    min_p: float = 0.0
    repetition_penalty: float = 1.0
    logit_bias: tuple[tuple[int, float], ...] = ()  # (token id, bias added to its logit); -100 bans, 100 forces
    logprobs: int | None = None  # None: none; k >= 0: the chosen token's logprob and the top k alternatives
    grammar: str | None = None  # GBNF grammar constraining the output (llama.cpp engines)


@dataclass
class GenerationRequest:
    prompt: list[int]
    params: SamplingParams
    n: int = 1
    prompt_logprobs: int | None = None  # echo: logprobs of each prompt token (and top k alternatives)


@dataclass
class TokenLogprob:
    token: int
    logprob: float | None
    top: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class PromptLogprobs:
    """Logprobs of the prompt's tokens (the first is None: nothing precedes it)."""

    tokens: list[TokenLogprob]


@dataclass
class TokenOutput:
    index: int  # which of the request's n sequences
    token: int  # -1 when the sequence ends without a token (max_tokens=0)
    text: str  # the text this token completes ("" while a UTF-8 character is still partial)
    logprob: TokenLogprob | None = None
    finish_reason: str | None = None  # "stop" (end of generation token) or "length"; None: more follows


EngineEvent = TokenOutput | PromptLogprobs


class Engine(abc.ABC):
    """One loaded model. Thread-safe to call from the event loop; generation runs elsewhere."""

    model_path: str
    n_ctx: int  # the context one sequence may use (prompt + completion)
    n_parallel: int

    @abc.abstractmethod
    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]: ...

    @abc.abstractmethod
    def token_bytes(self, token: int) -> bytes:
        """The bytes of one token as it appears in text (special tokens rendered)."""

    @abc.abstractmethod
    def detokenize(self, tokens: list[int]) -> str: ...

    @property
    @abc.abstractmethod
    def chat_template(self) -> str | None: ...

    @property
    @abc.abstractmethod
    def special_tokens(self) -> dict[str, str]:
        """bos_token / eos_token texts for the chat template."""

    @property
    def adds_bos(self) -> bool:
        return False

    @abc.abstractmethod
    def generate(self, request: GenerationRequest) -> AsyncIterator[EngineEvent]:
        """Validate and enqueue the request now (raising EngineError subclasses before anything is sent),
        and return the stream of its tokens. ``aclose()`` on the stream aborts the request."""

    @abc.abstractmethod
    async def embed(self, inputs: list[list[int]]) -> list[list[float]]: ...

    @abc.abstractmethod
    def stats(self) -> dict[str, int]:
        """running, waiting, slots."""

    def start(self) -> None:
        pass

    def close(self) -> None:
        pass

"""POST /v1/completions: raw prompts (a string, strings, or token ids), with echo and prompt logprobs.

``echo`` + ``logprobs`` + ``max_tokens: 0`` returns the log-likelihood of every prompt token, which is how
lm-eval's ``local-completions`` scores multiple-choice tasks. Every prompt of a list runs concurrently.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, Request

from ..deps import (
    ServerState,
    cancel_on_disconnect,
    deadline,
    get_state,
    off_loop_if_large,
    parse_body,
    request_id,
    timeout_error,
)
from ..engines.base import Engine, EngineError, GenerationRequest, PromptLogprobs, TokenLogprob
from ..errors import APIError, from_engine_error
from ..gateway import reserve
from ..generation import GenerationRun, usage
from ..protocol import Completion, CompletionChoice, CompletionLogprobs, CompletionRequest, new_id, now
from .common import (
    SSE_DONE,
    EventStreamResponse,
    check_token_ids,
    sampling_params,
    sse,
    sse_error,
    system_fingerprint,
    token_string,
)

log = logging.getLogger("server.http")
router = APIRouter()


def prompt_list(engine: Engine, prompt, max_prompts: int) -> list[tuple[str, list[int]]]:
    """Normalise OpenAI's four prompt forms to (text, tokens) pairs; at most ``max_prompts`` of them (each
    prompt is one engine request, so one HTTP request must not be able to fill the wait queue)."""
    if isinstance(prompt, str) or all(isinstance(p, int) for p in prompt):
        prompts = [prompt]
    else:
        prompts = list(prompt)
    if len(prompts) > max_prompts:
        raise APIError(400, f"'prompt' holds {len(prompts)} prompts; this server takes at most {max_prompts} in "
                            "one request (--max-prompts): send them in several requests", param="prompt",
                       code="invalid_value")
    out = []
    for p in prompts:
        if isinstance(p, str):
            out.append((p, engine.tokenize(p, add_special=True)))
        else:
            check_token_ids(engine, p, "prompt")
            out.append((engine.detokenize(p), list(p)))
    if any(not tokens for _, tokens in out):
        raise APIError(400, "a prompt is empty", param="prompt", code="invalid_value")
    return out


@dataclass
class _ChoiceText:
    text: list[str] = field(default_factory=list)
    lp: CompletionLogprobs | None = None
    offset: int = 0
    finish: str | None = None


def _append_logprobs(engine: Engine, acc: CompletionLogprobs, entries: list[TokenLogprob], offset: int) -> int:
    for e in entries:
        s = token_string(engine, e.token)
        acc.tokens.append(s)
        acc.token_logprobs.append(e.logprob)
        acc.top_logprobs.append({token_string(engine, t): lp for t, lp in e.top} if e.logprob is not None else None)
        acc.text_offset.append(offset)
        offset += len(s)
    return offset


@router.post("/v1/completions")
async def completions(request: Request, state: ServerState = Depends(get_state)):
    started = time.perf_counter()
    body = await parse_body(request, CompletionRequest)
    spec, engine = state.registry.get(body.model)
    chars = len(body.prompt) if isinstance(body.prompt, str) else sum(len(p) for p in body.prompt if isinstance(p, str))
    prompts = await off_loop_if_large(chars, prompt_list, engine, body.prompt, state.settings.max_prompts)
    params = sampling_params(body, max_tokens=body.max_tokens, logprobs=body.logprobs)
    await reserve(sum(len(t) for _, t in prompts), sum(  # the key's limits and budget (429)
        len(t) + body.n * max(body.max_tokens if body.max_tokens is not None else engine.n_ctx - len(t), 0)
        for _, t in prompts))
    runs: list[GenerationRun] = []
    try:
        for _, tokens in prompts:
            prompt_lp = body.logprobs if (body.echo and body.logprobs is not None) else None
            stream = engine.generate(GenerationRequest(tokens, params, n=body.n, prompt_logprobs=prompt_lp))
            runs.append(GenerationRun(stream, n=body.n, stops=body.stop_list(), prompt_tokens=len(tokens),
                                      model=spec.id, metrics=state.metrics, started=started,
                                      request_id=request_id(request)))
    except (EngineError, ValueError) as exc:
        for run in runs:
            await run.stream.aclose()
        raise from_engine_error(exc) from None
    log.debug("request %s: enqueued (%d prompts, n=%d)", request_id(request), len(prompts), body.n)
    head = Completion(id=new_id("cmpl"), created=now(), model=body.model, choices=[],
                      system_fingerprint=system_fingerprint(spec, engine))
    if body.stream:
        return EventStreamResponse(_stream(request, runs, prompts, engine, body, head), deadline=deadline(request))
    return await cancel_on_disconnect(request, _complete(runs, prompts, engine, body, head))


def _new_choice(prompt_text: str, body: CompletionRequest) -> _ChoiceText:
    c = _ChoiceText(offset=0 if body.echo else len(prompt_text))
    if body.echo:
        c.text.append(prompt_text)
    if body.logprobs is not None:
        c.lp = CompletionLogprobs()
    return c


async def _collect(run: GenerationRun, choices: list[_ChoiceText], engine: Engine) -> None:
    async for ev in run.events():
        if isinstance(ev, PromptLogprobs):
            for c in choices:
                if c.lp is not None:
                    c.offset = _append_logprobs(engine, c.lp, ev.tokens, c.offset)
            continue
        c = choices[ev.index]
        c.text.append(ev.text)
        if c.lp is not None:
            c.offset = _append_logprobs(engine, c.lp, ev.logprobs, c.offset)
        c.finish = ev.finish_reason or c.finish


async def _complete(runs, prompts, engine: Engine, body: CompletionRequest, head: Completion):
    per_prompt = [[_new_choice(text, body) for _ in range(body.n)] for text, _ in prompts]
    try:
        await asyncio.gather(*(_collect(run, cs, engine) for run, cs in zip(runs, per_prompt)))
    except EngineError as exc:
        raise from_engine_error(exc) from None
    finally:
        for run in runs:
            await run.stream.aclose()
    choices = [
        CompletionChoice(index=p * body.n + j, text="".join(c.text), logprobs=c.lp, finish_reason=c.finish or "length")
        for p, cs in enumerate(per_prompt) for j, c in enumerate(cs)
    ]
    return head.model_copy(update={"choices": choices, "usage": usage(runs)}).model_dump()


async def _stream(request: Request, runs, prompts, engine: Engine, body: CompletionRequest, head: Completion):
    include_usage = body.include_usage()
    queue: asyncio.Queue = asyncio.Queue()

    async def pump(p: int, run: GenerationRun) -> None:
        try:
            async for ev in run.events():
                await queue.put((p, ev))
        except Exception as exc:  # surfaced in-band below
            await queue.put((p, exc))
        finally:
            await queue.put((p, None))

    def chunk(index: int, text: str, lp: CompletionLogprobs | None, finish: str | None) -> str:
        choice = CompletionChoice(index=index, text=text, logprobs=lp, finish_reason=finish)
        return sse(head.model_copy(update={"choices": [choice]}), include_usage=include_usage)

    tasks = [asyncio.create_task(pump(p, run)) for p, run in enumerate(runs)]
    offsets = {}
    try:
        if body.echo:
            for p, (text, _) in enumerate(prompts):
                for j in range(body.n):
                    yield chunk(p * body.n + j, text, None, None)
        remaining, end = len(runs), deadline(request)
        while remaining:
            try:
                async with asyncio.timeout_at(end):
                    p, ev = await queue.get()
            except TimeoutError:
                raise timeout_error(request) from None
            if ev is None:
                remaining -= 1
                continue
            if isinstance(ev, BaseException):
                raise ev
            if isinstance(ev, PromptLogprobs):
                continue  # prompt logprobs are only returned by non-streaming requests
            index = p * body.n + ev.index
            lp = None
            if body.logprobs is not None:
                lp = CompletionLogprobs()
                offsets[index] = _append_logprobs(engine, lp, ev.logprobs,
                                                  offsets.get(index, 0 if body.echo else len(prompts[p][0])))
            if ev.text or ev.logprobs or ev.finish_reason:
                yield chunk(index, ev.text, lp, ev.finish_reason)
        if include_usage:
            yield sse(head.model_copy(update={"usage": usage(runs)}), include_usage=include_usage)
        yield SSE_DONE
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        yield sse_error(exc)
        yield SSE_DONE
    finally:
        for t in tasks:
            t.cancel()
        for run in runs:
            await run.stream.aclose()

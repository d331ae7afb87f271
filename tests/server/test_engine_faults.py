"""The engine loop's own failures, injected into the real llama.cpp engine in-process: a failed ``llama_decode``
fails the requests of that step and a failure in one request's sampling fails that request only, each with an
``EngineFailure`` (a 500 in OpenAI's shape at the routes); the engine thread lives on and serves the next ones."""

from __future__ import annotations

import asyncio

import pytest

import server.engines.llama_batched as llama_batched
from server.engines.base import EngineFailure, GenerationRequest, SamplingParams
from server.engines.llama_model import LlamaModel
from server.errors import from_engine_error
from server.registry import bundled_model_path


@pytest.fixture(scope="module")
def engine():
    e = llama_batched.LlamaBatchedEngine(LlamaModel(bundled_model_path()), n_ctx=512, n_parallel=2, n_batch=256,
                                         n_threads=2)
    e.start()
    yield e
    e.close()


async def generate(engine, text: str, seed: int = 0, max_tokens: int = 8) -> str:
    params = SamplingParams(max_tokens=max_tokens, temperature=0, seed=seed)
    out = []
    async for ev in engine.generate(GenerationRequest(engine.tokenize(text), params)):
        out.append(ev.text)
    return "".join(out)


async def test_a_failed_decode_fails_that_step_and_the_engine_serves_on(engine, monkeypatch):
    expected = await generate(engine, "The capital of France is")
    real, calls = llama_batched.llama_cpp.llama_decode, []

    def fails_once(ctx, batch):
        calls.append(1)
        return -3 if len(calls) == 1 else real(ctx, batch)

    monkeypatch.setattr(llama_batched.llama_cpp, "llama_decode", fails_once)
    with pytest.raises(EngineFailure, match="llama_decode returned -3") as err:
        await generate(engine, "The capital of France is")
    api = from_engine_error(err.value)
    assert api.status == 500 and api.code == "engine_failure"
    assert engine.stats()["running"] == 0
    assert await generate(engine, "The capital of France is") == expected  # failed cells were cleared


async def test_a_sampling_error_fails_only_its_request(engine, monkeypatch):
    expected = await generate(engine, "A TCP port is", seed=1)
    real_sample = engine._sample

    def sample(req, seq, idx):
        if req.spec.params.seed == 666:
            raise RuntimeError("sampler exploded")
        return real_sample(req, seq, idx)

    monkeypatch.setattr(engine, "_sample", sample)
    bad, good = await asyncio.gather(generate(engine, "A TCP port is", seed=666), generate(engine, "A TCP port is", seed=1),
                                     return_exceptions=True)
    assert isinstance(bad, EngineFailure) and "sampler exploded" in str(bad)
    assert good == expected
    assert engine.stats() == {"running": 0, "waiting": 0, "slots": 2}

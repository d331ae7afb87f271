"""LoRA adapters served over one loaded base, through the real server and the official client: the request's
``model`` picks the adapter, /v1/models lists each with its parent, base and adapters are served together
without crossing (slots and prefix cache are per adapter), and a bad adapter is reported while the rest serve."""

from __future__ import annotations

import asyncio
import json
import uuid

import numpy as np
import openai
import pytest

from server.engines.base import BASE_SHA256_KEY
from server.process import ServerProcess
from server.registry import BASE_MODEL_ID, TUNED_ALIAS, bundled_model_path, discover

N_LAYERS, D_MODEL, D_KV, D_FF = 30, 576, 192, 1536  # SmolLM2-135M
SHAPES = {"attn_q": (D_MODEL, D_MODEL), "attn_k": (D_KV, D_MODEL), "attn_v": (D_KV, D_MODEL),
          "attn_output": (D_MODEL, D_MODEL), "ffn_gate": (D_FF, D_MODEL), "ffn_up": (D_FF, D_MODEL),
          "ffn_down": (D_MODEL, D_FF)}
QUESTION = [{"role": "user", "content": "Which command lists the open TCP ports on a Linux host?"}]


def write_adapter(path, seed: int, *, base_sha256: str | None = None, rank: int = 4, scale: float = 0.05):
    """A random GGUF LoRA adapter for the bundled base, in the layout llama.cpp loads."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(rank))
    if base_sha256:
        writer.add_string(BASE_SHA256_KEY, base_sha256)
    for layer in range(N_LAYERS):
        for name, (out_dim, in_dim) in SHAPES.items():
            a = rng.standard_normal((rank, in_dim)).astype(np.float32) / np.sqrt(in_dim)
            b = (rng.standard_normal((out_dim, rank)) * scale).astype(np.float32)
            writer.add_tensor(f"blk.{layer}.{name}.weight.lora_a", a.astype(np.float16))
            writer.add_tensor(f"blk.{layer}.{name}.weight.lora_b", b.astype(np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@pytest.fixture(scope="module")
def adapter_files(tmp_path_factory):
    from aletheia.models import file_sha256

    root = tmp_path_factory.mktemp("adapters")
    digest = file_sha256(bundled_model_path())
    corrupt = root / "corrupt.gguf"
    corrupt.write_bytes(b"GGUF" + b"\x00" * 64)
    return {
        "ops-a": write_adapter(root / "a.gguf", 1, base_sha256=digest, scale=0.5),
        "ops-b": write_adapter(root / "b.gguf", 2, scale=0.5),
        "wrong-base": write_adapter(root / "w.gguf", 3, base_sha256="0" * 64),
        "corrupt": corrupt,
        "missing": root / "missing.gguf",
    }


@pytest.fixture(scope="module")
def lora_server(tmp_path_factory, adapter_files):
    log = tmp_path_factory.mktemp("lora") / "server.log"
    args = ["--parallel", "2", "--ctx-size", "1024", "--models-dir", str(tmp_path_factory.mktemp("none")),
            "--shipped-models-dir", str(tmp_path_factory.mktemp("no-shipped"))]
    for name, path in adapter_files.items():
        args += ["--lora", f"{name}={path}"]
    with ServerProcess(extra_args=args, log_path=log) as srv:
        yield srv


@pytest.fixture
def lora_client(lora_server):
    return openai.OpenAI(base_url=lora_server.base_url, api_key="none", max_retries=0, timeout=300)


def _ask(client, model, messages=QUESTION, max_tokens=24):
    r = client.chat.completions.create(model=model, messages=messages, temperature=0, max_tokens=max_tokens)
    return r.choices[0].message.content, r.usage


def test_models_lists_adapters_with_their_parent(lora_client):
    cards = {m.id: m for m in lora_client.models.list().data}
    assert {"ops-a", "ops-b", BASE_MODEL_ID} <= set(cards)
    assert cards["ops-a"].parent == BASE_MODEL_ID and cards["ops-a"].root.endswith("a.gguf")
    assert getattr(cards[BASE_MODEL_ID], "parent", None) is None
    assert lora_client.models.retrieve("ops-b").parent == BASE_MODEL_ID


@pytest.mark.parametrize("name,why", [("wrong-base", "trained on other weights"), ("corrupt", "could not load"),
                                      ("missing", "no such file")])
def test_a_bad_adapter_is_reported_and_the_rest_serve(lora_server, lora_client, adapter_files, name, why):
    import httpx

    health = httpx.get(f"{lora_server.url}/health").json()
    assert health["status"] == "ok" and why in health["failed"][name] and str(adapter_files[name]) in \
        health["failed"][name]
    assert name not in {m.id for m in lora_client.models.list().data}
    with pytest.raises(openai.NotFoundError) as err:
        _ask(lora_client, name)
    assert why in err.value.message and err.value.body["code"] == "model_not_found"
    assert _ask(lora_client, "ops-a")[0]


def _first_token(response):
    """The first generated token and its top alternatives with their logprobs."""
    first = response.choices[0].logprobs.content[0]
    return first.token, {t.token: t.logprob for t in first.top_logprobs}


async def test_base_and_two_adapters_together_are_each_served_by_their_own_weights(lora_client, lora_server):
    """Asked at the same time, the base and both adapters each give the first-token distribution they give
    alone (to within the rounding of a different batch), while the three distributions differ widely: no
    request is served by the wrong weights, and all complete (none starves). Whole greedy answers are not
    compared: llama.cpp's logits differ in the last bits between a prompt decoded in one batch and one
    continued from the prefix cache (llama-server documents the same for cache_prompt), which can flip a
    near tie later in an answer."""
    ask = dict(messages=QUESTION, temperature=0, max_tokens=16, logprobs=True, top_logprobs=5)
    alone = {m: _first_token(lora_client.chat.completions.create(model=m, **ask))
             for m in (BASE_MODEL_ID, "ops-a", "ops-b")}
    for m, other in [(BASE_MODEL_ID, "ops-a"), (BASE_MODEL_ID, "ops-b"), ("ops-a", "ops-b")]:
        shared = alone[m][1].keys() & alone[other][1].keys()
        gaps = [abs(alone[m][1][t] - alone[other][1][t]) for t in shared]
        assert not gaps or max(gaps) > 0.3, (m, other, alone[m], alone[other])

    client = openai.AsyncOpenAI(base_url=lora_server.base_url, api_key="none", max_retries=0, timeout=300)
    try:
        models = [BASE_MODEL_ID, "ops-a", "ops-b"] * 3
        answers = await asyncio.gather(*(client.chat.completions.create(model=m, **ask) for m in models))
    finally:
        await client.close()
    for model, answer in zip(models, answers):
        token, top = _first_token(answer)
        assert answer.model == model and token == alone[model][0], model
        assert abs(top[token] - alone[model][1][token]) < 0.05, model
        assert answer.choices[0].finish_reason in ("stop", "length") and answer.usage.completion_tokens > 0


def test_prefix_cache_never_crosses_adapters(lora_client):
    """A prompt the base has cached is decoded afresh for an adapter (KV computed under other weights is
    wrong), and the adapter's answer is its own."""
    long_system = {"role": "system", "content": f"[{uuid.uuid4().hex}] You review Linux hosts. "
                   + "Be precise and brief. " * 40}
    messages = [long_system, *QUESTION]
    _ask(lora_client, BASE_MODEL_ID, messages, max_tokens=4)
    _, usage = _ask(lora_client, BASE_MODEL_ID, messages, max_tokens=4)
    assert usage.prompt_tokens_details.cached_tokens > 100
    _, usage = _ask(lora_client, "ops-b", messages)
    assert usage.prompt_tokens_details.cached_tokens <= 8  # at most the template's opening, cached by ops-b itself
    _, usage = _ask(lora_client, "ops-b", messages)
    assert usage.prompt_tokens_details.cached_tokens > 100


def test_discover_serves_the_shipped_adapter_as_aletheia_unless_one_was_trained(tmp_path):
    shipped = tmp_path / "shipped" / "aletheia"
    shipped.mkdir(parents=True)
    write_adapter(shipped / "adapter.gguf", 4)
    (shipped / "manifest.json").write_text(json.dumps({"name": "aletheia-release", "base": BASE_MODEL_ID,
                                                       "created": "2026-12-01T00:00:00+00:00"}))
    empty = tmp_path / "trained"
    specs = {s.id: s for s in discover([], empty, [], tmp_path / "shipped")}
    assert set(specs) == {BASE_MODEL_ID, "aletheia-release"}
    assert specs["aletheia-release"].aliases == [TUNED_ALIAS] and specs["aletheia-release"].parent == BASE_MODEL_ID
    assert specs["aletheia-release"].path == bundled_model_path()

    mine = empty / "mine"
    mine.mkdir(parents=True)
    write_adapter(mine / "adapter.gguf", 5)
    (mine / "manifest.json").write_text(json.dumps({"name": "mine", "base": BASE_MODEL_ID,
                                                    "created": "2026-11-01T00:00:00+00:00"}))
    specs = {s.id: s for s in discover([], empty, [], tmp_path / "shipped")}
    assert specs["mine"].aliases == [TUNED_ALIAS] and specs["aletheia-release"].aliases == []

    half_written = empty / "half"  # weights copied, manifest not yet written: never served
    half_written.mkdir()
    write_adapter(half_written / "adapter.gguf", 6)
    assert "half" not in {s.id for s in discover([], empty, [], tmp_path / "shipped")}


def test_make_serve_serves_the_shipped_adapter_as_aletheia(client):
    """The session server runs with the defaults `make serve` uses (no trained models): the adapter shipped in
    models/aletheia/ is `aletheia`, over the bundled base it was trained on, and it answers."""
    from aletheia.models import file_sha256
    from server.settings import Settings

    shipped = Settings().shipped_models_dir / "aletheia"
    manifest = json.loads((shipped / "manifest.json").read_text())
    assert manifest["base"] == BASE_MODEL_ID and manifest["base_gguf"]["sha256"] == file_sha256(bundled_model_path())
    assert (shipped / "adapter.gguf").stat().st_size < 24 * 2**20
    cards = {m.id: m for m in client.models.list().data}
    assert cards[TUNED_ALIAS].parent == BASE_MODEL_ID and cards[TUNED_ALIAS].root == str(shipped / "adapter.gguf")
    r = client.chat.completions.create(model=TUNED_ALIAS, messages=QUESTION, temperature=0, max_tokens=16)
    assert r.model == TUNED_ALIAS and r.choices[0].message.content

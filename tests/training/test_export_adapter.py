"""The GGUF LoRA adapter round trip: PEFT adapters -> training.export_adapter -> llama.cpp over the bundled Q4_1
base (through the server's own LlamaModel/LoraAdapter) against transformers with the same adapters merged.

The adapters here are random and large enough to change the model's answers, so an error in the Q/K row
permutation, the A/B orientation, alpha or the folding of two adapters shows: the test also checks that
the comparison catches a wrong permutation (it is not a check that cannot fail)."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from .conftest import ROOT

TEXTS = [
    "<|im_start|>user\nHow do I see which process listens on TCP port 8080?<|im_end|>\n<|im_start|>assistant\n"
    "Run ss -ltnp and look for :8080 in the local address column.",
    "<|im_start|>user\nExplain: FATAL: sorry, too many clients already<|im_end|>\n<|im_start|>assistant\n"
    "PostgreSQL refused the connection because max_connections is reached; use a pooler.",
]
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@pytest.fixture(scope="module")
def base_dir():
    from training.base_model import prepare_base

    return prepare_base("bundled", ROOT / "artifacts" / "base", ROOT)


def _random_adapter(base_dir, out_dir, seed: int, r: int, alpha: int):
    """A PEFT LoRA adapter with random A and B, large enough to change most of the model's predictions."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=torch.float32)
    peft = get_peft_model(model, LoraConfig(r=r, lora_alpha=alpha, target_modules=TARGETS,
                                            init_lora_weights=False, task_type="CAUSAL_LM"))
    with torch.no_grad():
        for name, p in peft.named_parameters():
            if "lora_B" in name:
                p.mul_(0.6)
    peft.save_pretrained(out_dir)
    return out_dir


def _hf_logits(base_dir, adapters, ids):
    import torch

    from training.trainer_utils import load_model

    model = load_model(base_dir, adapters=adapters).eval()
    with torch.no_grad():
        return torch.log_softmax(model(torch.tensor([ids])).logits[0].float(), -1).numpy()


def _llama_logits(adapter_path, ids):
    import llama_cpp

    from server.engines.llama_model import LlamaModel
    from training.base_model import bundled_gguf

    model = LlamaModel(bundled_gguf())
    ctx = model.new_context(n_ctx=512, n_seq_max=1, n_batch=512, n_threads=2)
    try:
        if adapter_path is not None:
            model.load_adapter(adapter_path).apply_to(ctx)
        batch = llama_cpp.llama_batch_init(len(ids), 0, 1)
        for i, t in enumerate(ids):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = t, i, 1, True
            batch.seq_id[i][0] = 0
        batch.n_tokens = len(ids)
        assert llama_cpp.llama_decode(ctx, batch) == 0
        ptr = llama_cpp.llama_get_logits(ctx)
        logits = np.ctypeslib.as_array(ctypes.cast(ptr, ctypes.POINTER(ctypes.c_float)),
                                       shape=(len(ids), model.n_vocab)).astype(np.float64)
        llama_cpp.llama_batch_free(batch)
    finally:
        llama_cpp.llama_free(ctx)
    logits -= logits.max(-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(-1, keepdims=True))


def _agreement(a, b):
    """Share of positions where both pick the same next token, and the mean |logprob| gap of HF's pick."""
    top = a.argmax(-1)
    same = float((top == b.argmax(-1)).mean())
    gap = float(np.abs(a[np.arange(len(top)), top] - b[np.arange(len(top)), top]).mean())
    return same, gap


def test_folded_adapters_in_llama_cpp_match_the_merged_hf_model(base_dir, tmp_path):
    """SFT-like and DPO-like adapters (different ranks and alphas) folded into one GGUF adapter, over the Q4_1
    base in llama.cpp, predict what transformers predicts with both merged into the dequantised base.
    Measured here (one adapter, first text): llama.cpp and transformers differ by 0.040 nats on the base alone
    (Q4_1 arithmetic) and by 0.044 with the adapter (top-1 agreement 0.98); with Q/K left in HF's layout the
    gap is 0.23, and the base without the adapter is 0.49 away (agreement 0.64)."""
    from transformers import AutoTokenizer

    from training.base_model import bundled_gguf
    from training.export_adapter import export_adapter

    first = _random_adapter(base_dir, tmp_path / "sft", seed=1, r=8, alpha=16)
    second = _random_adapter(base_dir, tmp_path / "dpo", seed=2, r=4, alpha=4)
    gguf = export_adapter([first, second], tmp_path / "adapter.gguf", base_config_dir=base_dir,
                          base_gguf=bundled_gguf(), outtype="f32")
    tok = AutoTokenizer.from_pretrained(base_dir)
    for text in TEXTS:
        ids = tok(text)["input_ids"]
        hf = _hf_logits(base_dir, [first, second], ids)
        same, gap = _agreement(hf, _llama_logits(gguf, ids))
        assert same >= 0.9 and gap < 0.1, (text, same, gap)
        base_same, _ = _agreement(hf, _llama_logits(None, ids))
        assert base_same < 0.8, "the random adapters must change the model, or this test proves nothing"


def test_a_wrong_qk_layout_is_caught(base_dir, tmp_path, monkeypatch):
    """The comparison above is sensitive to the Q/K permutation: exporting B of q/k in HF's layout loads
    fine in llama.cpp and answers differently."""
    from transformers import AutoTokenizer

    from training import export_adapter as module
    from training.base_model import bundled_gguf

    adapter = _random_adapter(base_dir, tmp_path / "a", seed=3, r=8, alpha=16)
    monkeypatch.setattr(module, "to_llama_rope_layout", lambda w, n_heads: w)
    gguf = module.export_adapter([adapter], tmp_path / "wrong.gguf", base_config_dir=base_dir,
                                 base_gguf=bundled_gguf(), outtype="f32")
    ids = AutoTokenizer.from_pretrained(base_dir)(TEXTS[0])["input_ids"]
    _, gap = _agreement(_hf_logits(base_dir, [adapter], ids), _llama_logits(gguf, ids))
    assert gap > 0.15, gap


def test_exported_adapter_metadata(base_dir, tmp_path):
    import gguf as gguf_lib

    from aletheia.models import file_sha256
    from training.base_model import bundled_gguf
    from training.export_adapter import adapter_base_sha256, export_adapter

    adapter = _random_adapter(base_dir, tmp_path / "a", seed=4, r=4, alpha=8)
    path = export_adapter([adapter], tmp_path / "adapter.gguf", base_config_dir=base_dir, base_gguf=bundled_gguf())
    reader = gguf_lib.GGUFReader(str(path))
    fields = {k: f.contents() for k, f in reader.fields.items() if not k.startswith("GGUF.")}
    assert fields["general.architecture"] == "llama" and fields["general.type"] == "adapter"
    assert fields["adapter.type"] == "lora" and fields["adapter.lora.alpha"] == 4.0
    assert reader.fields["adapter.lora.alpha"].types[0] == gguf_lib.GGUFValueType.FLOAT32
    assert adapter_base_sha256(path) == file_sha256(bundled_gguf())
    names = {t.name for t in reader.tensors}
    assert len(names) == 30 * 7 * 2 and "blk.0.attn_q.weight.lora_a" in names
    shapes = {t.name: tuple(reversed(t.shape.tolist())) for t in reader.tensors}  # GGUF lists dims innermost first
    assert shapes["blk.0.attn_k.weight.lora_a"] == (4, 576) and shapes["blk.0.attn_k.weight.lora_b"] == (192, 4)
    assert all(t.tensor_type == gguf_lib.GGMLQuantizationType.F16 for t in reader.tensors)


def test_adapters_llama_cpp_cannot_express_are_refused(base_dir, tmp_path):
    import json

    from training.export_adapter import export_adapter

    adapter = _random_adapter(base_dir, tmp_path / "a", seed=5, r=4, alpha=8)
    cfg = json.loads((adapter / "adapter_config.json").read_text())
    (adapter / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    with pytest.raises(ValueError, match="use_dora"):
        export_adapter([adapter], tmp_path / "x.gguf", base_config_dir=base_dir, base_gguf=None)

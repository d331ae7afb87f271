"""Token bytes from a Hugging Face tokenizer (the vLLM engine's vocabulary), checked on CPU against
llama.cpp's own bytes for the bundled model, and on a SentencePiece-style vocabulary with byte fallback."""

from __future__ import annotations

import codecs

import pytest

from server.engines.hf_vocab import token_byte_table

TEXT = "naïve café, 日本語 🙂 — ok"


@pytest.fixture(scope="module")
def smollm_tokenizer():
    from transformers import AutoTokenizer

    from server.registry import bundled_model_path

    path = bundled_model_path()
    return AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)


def test_byte_level_bpe_gives_llama_cpps_bytes_for_every_token(smollm_tokenizer):
    from server.engines.llama_model import LlamaModel
    from server.registry import bundled_model_path

    table = token_byte_table(smollm_tokenizer)
    model = LlamaModel(bundled_model_path())
    try:
        assert len(table) == model.n_vocab
        assert [t for t in range(model.n_vocab) if table[t] != model.token_bytes(t)] == []
    finally:
        model.close()


def test_characters_split_across_tokens_survive_streaming(smollm_tokenizer):
    table = token_byte_table(smollm_tokenizer)
    ids = smollm_tokenizer.encode(TEXT, add_special_tokens=False)
    assert any("\ufffd" in smollm_tokenizer.decode([t]) for t in ids), "the text must split a character"
    decoder = codecs.getincrementaldecoder("utf-8")()
    streamed = "".join(decoder.decode(table[t]) for t in ids) + decoder.decode(b"", final=True)
    assert streamed == TEXT


def test_sentencepiece_vocabulary_with_byte_fallback():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2, **{f"<0x{b:02X}>": 3 + b for b in range(256)}}
    for piece in ["▁", "▁caf", "é", "▁ok", "o", "k", "c", "a", "f", ",", "▁,"]:
        vocab.setdefault(piece, len(vocab))
    merges = [("▁", "o"), ("▁o", "k")]  # unused merges keep the model well-formed
    vocab.setdefault("▁o", len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    backend.pre_tokenizer = pre_tokenizers.Metaspace()
    backend.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(),
                                         decoders.Strip(" ", 1, 0)])
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, unk_token="<unk>", bos_token="<s>", eos_token="</s>")

    table = token_byte_table(tok)
    assert table[vocab["<0x0A>"]] == b"\n" and table[vocab["<0xE6>"]] == b"\xe6"
    assert table[vocab["▁ok"]] == b" ok" and table[vocab["</s>"]] == b"</s>"
    ids = tok.encode(" ok 日", add_special_tokens=False)  # 日 has no piece: three byte-fallback tokens
    assert b"".join(table[t] for t in ids).decode("utf-8").strip() == "ok 日"

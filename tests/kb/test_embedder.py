"""The torch-free embedder (MiniLM converted to GGUF, run by llama.cpp) against sentence-transformers."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from server.kb.chunking import chunk_document
from server.kb.embedder import WINDOW, TextTooLong, model_source_dir, shared_embedder

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def embedder():
    return shared_embedder()


def corpus(embedder) -> list[str]:
    """A few hundred texts: the project's docs chunked at the full window, their sentences, and a few odd ones."""
    texts: list[str] = []
    for path in sorted(ROOT.glob("**/*.md")):
        if any(part in {".venv", "node_modules", "artifacts"} for part in path.parts):
            continue
        chunks = chunk_document(path.read_text(), ".md", path.name, embedder.count_tokens, WINDOW)
        texts += [c.text for c in chunks]
    sentences = [s for t in texts for s in re.split(r"(?<=[.!?])\s+|\n", t) if len(s.split()) >= 4]
    odd = ["Café naïve résumé — “quoted” ‘text’", "ÜBER große Straße", "日本語のテキスト", "x" * 300, "see " + "ab" * 60 + " here", "a"]
    # mostly short texts (a busy CPU embeds ~600 word pieces/s), some at the full window
    return sorted(texts, key=len)[-24:] + sentences[:280] + odd


def test_vectors_match_sentence_transformers(embedder):
    from sentence_transformers import SentenceTransformer

    texts = corpus(embedder)
    assert len(texts) >= 300
    assert max(embedder.count_tokens(t) for t in texts) > 200  # long inputs are in the comparison
    ours = embedder.embed(texts)
    reference = SentenceTransformer(str(model_source_dir()), device="cpu").encode(
        texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    cosines = np.sum(ours * reference, axis=1)
    worst = int(np.argmin(cosines))
    assert cosines.min() >= 0.99, f"cosine {cosines.min():.4f} for {texts[worst][:80]!r}"
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-4)


def test_word_piece_counts_match_the_reference_tokenizer(embedder):
    from transformers import AutoTokenizer

    reference = AutoTokenizer.from_pretrained(str(model_source_dir()))
    texts = corpus(embedder)
    mismatched = [t for t in texts if embedder.count_tokens(t) != len(reference(t)["input_ids"])]
    assert not mismatched, f"{len(mismatched)} texts tokenised differently, e.g. {mismatched[0][:80]!r}"


def test_a_text_over_the_window_is_refused_not_cut(embedder):
    long_text = " ".join(f"word{i}" for i in range(400))
    assert embedder.count_tokens(long_text) > WINDOW
    with pytest.raises(TextTooLong, match="longer than the embedder's window of 256"):
        embedder.embed(["short", long_text])


def test_batches_give_the_same_vectors_as_single_texts(embedder):
    texts = ["The OOM killer chose a process.", "nginx returned 502 Bad Gateway", "disk quota exceeded"] * 7
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([t])[0] for t in texts[:3]])
    assert np.allclose(together[:3], alone, atol=1e-5)
    assert np.allclose(together[3:6], alone, atol=1e-5)

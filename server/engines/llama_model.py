"""A GGUF model loaded through llama.cpp's C API (llama-cpp-python's ctypes bindings).

Owns the model handle and its vocabulary: tokenisation, token pieces, GGUF metadata (the chat template
among it). Contexts that run the model are made by the engines from ``LlamaModel.new_context``.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from functools import lru_cache
from pathlib import Path

import llama_cpp

log = logging.getLogger("server.llama")

_backend_lock = threading.Lock()
_backend_ready = False

# llama.cpp's log levels: 1 debug? 2 error, 3 warn, 4 info, 5 cont (ggml_log_level)
_GGML_LOG_ERROR = 4
_GGML_LOG_WARN = 3


@llama_cpp.llama_log_callback
def _llama_log(level: int, text: bytes, _user_data) -> None:  # pragma: no cover - C callback
    if level in (_GGML_LOG_ERROR,):
        log.error(text.decode("utf-8", "replace").rstrip())


def ensure_backend() -> None:
    global _backend_ready
    with _backend_lock:
        if not _backend_ready:
            llama_cpp.llama_log_set(_llama_log, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _backend_ready = True


class LlamaModel:
    def __init__(self, path: str | Path) -> None:
        ensure_backend()
        self.path = str(path)
        if not Path(self.path).is_file():
            raise FileNotFoundError(f"model file not found: {self.path}")
        params = llama_cpp.llama_model_default_params()
        self.model = llama_cpp.llama_model_load_from_file(self.path.encode(), params)
        if not self.model:
            raise RuntimeError(f"llama.cpp could not load {self.path}")
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.n_ctx_train = llama_cpp.llama_model_n_ctx_train(self.model)
        self.n_embd = llama_cpp.llama_model_n_embd(self.model)
        self.bos = llama_cpp.llama_vocab_bos(self.vocab)
        self.eos = llama_cpp.llama_vocab_eos(self.vocab)
        self.add_bos = bool(llama_cpp.llama_vocab_get_add_bos(self.vocab))
        self._piece = lru_cache(maxsize=None)(self._token_bytes)

    # -- metadata ---------------------------------------------------------------------------------

    def metadata(self, key: str) -> str | None:
        size = 1 << 16
        while True:
            buf = ctypes.create_string_buffer(size)
            n = llama_cpp.llama_model_meta_val_str(self.model, key.encode(), buf, size)
            if n < 0:
                return None
            if n < size:
                return buf.value.decode("utf-8", "replace")
            size = n + 1

    @property
    def chat_template(self) -> str | None:
        return self.metadata("tokenizer.chat_template")

    @property
    def name(self) -> str:
        return self.metadata("general.name") or Path(self.path).stem

    # -- tokens -----------------------------------------------------------------------------------

    def tokenize(self, text: str, *, add_special: bool = True, parse_special: bool = True) -> list[int]:
        data = text.encode("utf-8")
        cap = len(data) + 8
        buf = (llama_cpp.llama_token * cap)()
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, parse_special)
        if n < 0:
            cap = -n
            buf = (llama_cpp.llama_token * cap)()
            n = llama_cpp.llama_tokenize(self.vocab, data, len(data), buf, cap, add_special, parse_special)
        return list(buf[:n])

    def _token_bytes(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, 64, 0, True)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, -n, 0, True)
        return buf.raw[:n]

    def token_bytes(self, token: int) -> bytes:
        return self._piece(token)

    def detokenize(self, tokens: list[int]) -> str:
        return b"".join(self.token_bytes(t) for t in tokens).decode("utf-8", "replace")

    def is_eog(self, token: int) -> bool:
        return bool(llama_cpp.llama_vocab_is_eog(self.vocab, token))

    def token_text(self, token: int) -> str:
        return self.token_bytes(token).decode("utf-8", "replace")

    # -- adapters ---------------------------------------------------------------------------------

    def load_adapter(self, path: str | Path) -> LoraAdapter:
        return LoraAdapter(self, path)

    # -- contexts ---------------------------------------------------------------------------------

    def new_context(
        self,
        *,
        n_ctx: int,
        n_seq_max: int,
        n_batch: int,
        n_threads: int,
        kv_unified: bool = False,
        embeddings: bool = False,
    ):
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = n_seq_max
        params.n_threads = n_threads
        params.n_threads_batch = n_threads
        params.kv_unified = kv_unified
        params.embeddings = embeddings
        params.no_perf = True
        if embeddings:
            params.pooling_type = llama_cpp.LLAMA_POOLING_TYPE_MEAN
        ctx = llama_cpp.llama_init_from_model(self.model, params)
        if not ctx:
            raise RuntimeError(f"llama.cpp could not create a context (n_ctx={n_ctx}, n_seq_max={n_seq_max})")
        return ctx

    def close(self) -> None:
        if self.model:
            llama_cpp.llama_model_free(self.model)
            self.model = None


class AdapterError(RuntimeError):
    """A LoRA adapter that cannot be served over this model: missing, corrupt or made for other weights."""


class LoraAdapter:
    """A GGUF LoRA adapter loaded over one ``LlamaModel``; contexts apply it with ``apply_to``.

    Adapters belong to the model (llama.cpp frees them with it) and are applied per context: every context
    made for this adapter computes ``W x + scale * B (A x)`` with the model's own (quantised) W."""

    def __init__(self, model: LlamaModel, path: str | Path, scale: float = 1.0) -> None:
        self.path, self.scale = str(path), scale
        if not Path(self.path).is_file():
            raise AdapterError(f"LoRA adapter {self.path}: no such file")
        handle = llama_cpp.llama_adapter_lora_init(model.model, self.path.encode())
        if not handle:  # a failed load is a NULL pointer object, not None
            raise AdapterError(f"LoRA adapter {self.path}: llama.cpp could not load it over {model.path} "
                               "(not a GGUF LoRA adapter, or made for a model of another shape)")
        self.handle = handle

    def metadata(self, key: str) -> str | None:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_adapter_meta_val_str(self.handle, key.encode(), buf, 256)
        return buf.value.decode("utf-8", "replace") if n >= 0 else None

    def apply_to(self, ctx) -> None:
        adapters = (llama_cpp.llama_adapter_lora_p_ctypes * 1)(self.handle)
        scales = (ctypes.c_float * 1)(self.scale)
        if llama_cpp.llama_set_adapters_lora(ctx, adapters, 1, scales) != 0:
            raise AdapterError(f"LoRA adapter {self.path}: llama.cpp could not apply it to a context")

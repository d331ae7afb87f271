"""Each token's exact bytes from a Hugging Face tokenizer: what a streaming server needs when a character
is split across tokens. ``tokenizer.decode([token])`` cannot give them: for a token holding the first byte
of '日' it returns '\\ufffd', and the character is lost from the stream.

Two vocabulary kinds cover the models vLLM serves:
* byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM): a token's string spells its bytes in GPT-2's reversible
  byte-to-character alphabet (``Ġ`` is a space);
* SentencePiece (Llama 2, Mistral, Gemma): ``▁`` is a space, and bytes with no piece of their own are
  byte-fallback tokens ``<0x0A>``.
Added and special tokens are whole strings, as llama.cpp renders them.
"""

from __future__ import annotations

import json
import re

from transformers.convert_slow_tokenizer import bytes_to_unicode

_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def _decoder_types(tokenizer) -> set[str]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return set()
    decoder = json.loads(backend.to_str()).get("decoder") or {}
    parts = decoder.get("decoders", []) if decoder.get("type") == "Sequence" else [decoder]
    return {p.get("type") for p in parts}


def token_byte_table(tokenizer) -> list[bytes]:
    """The bytes of every token id, ``len(tokenizer)`` of them."""
    n = len(tokenizer)
    pieces = tokenizer.convert_ids_to_tokens(list(range(n)))
    added = set(getattr(tokenizer, "added_tokens_decoder", {})) | set(tokenizer.all_special_ids)
    byte_level = "ByteLevel" in _decoder_types(tokenizer)
    to_byte = {ch: b for b, ch in bytes_to_unicode().items()}
    table = []
    for token, piece in enumerate(pieces):
        if piece is None or token in added:
            table.append(tokenizer.decode([token]).encode("utf-8"))
        elif byte_level:
            try:
                table.append(bytes(to_byte[ch] for ch in piece))
            except KeyError:  # not in the byte alphabet: a plain string the vocabulary was extended with
                table.append(piece.encode("utf-8"))
        elif m := _BYTE_TOKEN.match(piece):
            table.append(bytes([int(m.group(1), 16)]))
        else:
            table.append(piece.replace("\u2581", " ").encode("utf-8"))
    return table

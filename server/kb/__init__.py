"""The knowledge base: documents and man pages chunked by structure, embedded with all-MiniLM-L6-v2 through
llama.cpp (no torch), stored one SQLite file per store (FTS5 + float32 vectors), searched by BM25 and vector
similarity fused by reciprocal rank, and cited in answers.

Modules: ``embedder`` (GGUF conversion and llama.cpp embeddings), ``chunking`` (Markdown, reST, text, HTML),
``manpages`` (roff rendered by groff, one chunk per entry), ``store`` (the SQLite store behind ``VectorStore``),
``catalog`` (stores and uploaded files under one folder), ``indexer`` (incremental sync), ``service``
(searches over stores, the grounded prompt, citations), ``chat_retrieval`` (the chat ``knowledge`` field),
``cli`` (``python -m server kb``).
"""

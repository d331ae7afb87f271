"""One knowledge store in one SQLite file: documents, their chunks, FTS5 for BM25, float32 vectors.

``VectorStore`` is the interface the rest of the knowledge base uses; ``SQLiteStore`` is the embedded
default (no server; WAL and one transaction per document, so several processes can write one store and
none loses another's documents). A team that outgrows one machine implements ``VectorStore`` over a search
server (see the README: Qdrant through qdrant-client).

Search is hybrid: BM25 over title and body (FTS5) and cosine similarity over the vectors (numpy, the
matrix cached until another connection commits), fused by reciprocal rank (k = 60), as Tabby does.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from .chunking import Chunk

RRF_K = 60
CANDIDATES = 50  # per ranking, before fusion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY, source TEXT NOT NULL UNIQUE, filename TEXT NOT NULL, url TEXT NOT NULL,
    kind TEXT NOT NULL, sha256 TEXT NOT NULL, bytes INTEGER NOT NULL, chunks INTEGER NOT NULL,
    created_at INTEGER NOT NULL, attributes TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY, doc_id TEXT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, line_start INTEGER NOT NULL,
    line_end INTEGER NOT NULL, vector BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5(title, body, tokenize='porter unicode61');
CREATE TABLE IF NOT EXISTS roots (path TEXT PRIMARY KEY);
"""


@dataclass
class Document:
    id: str
    source: str  # absolute path, or the uploaded file's id
    filename: str
    url: str  # what a citation links to: file:///path, man:proc(5)
    kind: str  # markdown, rst, html, text, man
    sha256: str
    bytes: int
    chunks: int = 0
    created_at: int = field(default_factory=lambda: int(time.time()))
    attributes: dict = field(default_factory=dict)


@dataclass
class Hit:
    chunk_id: int
    document: Document
    title: str
    body: str
    line_start: int
    line_end: int
    score: float  # reciprocal-rank fusion score
    bm25_rank: int | None
    vector_rank: int | None

    @property
    def citation_url(self) -> str:
        if self.line_end > self.line_start:
            return f"{self.document.url}#L{self.line_start}-L{self.line_end}"
        return f"{self.document.url}#L{self.line_start}"


class VectorStore(Protocol):
    """What the indexer, the API and the CLI need of a store."""

    id: str
    name: str

    def info(self) -> dict: ...
    def documents(self) -> list[Document]: ...
    def document(self, doc_id: str) -> Document | None: ...
    def put_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None: ...
    def delete_document(self, doc_id: str) -> bool: ...
    def add_root(self, path: str) -> None: ...
    def roots(self) -> list[str]: ...
    def search(self, query: str, vector: np.ndarray, k: int, mode: str = "hybrid") -> list[Hit]: ...
    def close(self) -> None: ...


def _fts_query(text: str) -> str:
    words = re.findall(r"\w+", text.lower())
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class SQLiteStore:
    """The embedded store. Open with ``SQLiteStore.create`` or ``SQLiteStore.open``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(str(path), timeout=60, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA busy_timeout=60000")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._matrix: tuple[int, np.ndarray, np.ndarray] | None = None  # (data_version, ids, vectors)
        meta = dict(self.db.execute("SELECT key, value FROM meta").fetchall()) if self._has_meta() else {}
        self.id = meta.get("id", "")
        self.name = meta.get("name", "")
        self.created_at = int(meta.get("created_at", 0))
        self.dim = int(meta.get("dim", 0))

    def _has_meta(self) -> bool:
        return bool(self.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'meta'").fetchone())

    @classmethod
    def create(cls, path: Path, *, id: str, name: str, embedder: str, dim: int) -> SQLiteStore:
        path.parent.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        with store._write():
            for statement in filter(str.strip, _SCHEMA.split(";")):
                store.db.execute(statement)
            for key, value in {"id": id, "name": name, "embedder": embedder, "dim": str(dim),
                               "created_at": str(int(time.time()))}.items():
                store.db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", (key, value))
        return cls(path)

    @classmethod
    def open(cls, path: Path) -> SQLiteStore:
        store = cls(path)
        if not store.id:
            store.close()
            raise ValueError(f"{path} is not a knowledge store")
        return store

    class _Tx:
        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def __enter__(self):
            self.db.execute("BEGIN IMMEDIATE")

        def __exit__(self, exc_type, *_):
            self.db.execute("ROLLBACK" if exc_type else "COMMIT")

    def _write(self) -> _Tx:
        return self._Tx(self.db)

    # -- documents --------------------------------------------------------------------------------

    def info(self) -> dict:
        docs, chunks = self.db.execute("SELECT count(*), coalesce(sum(chunks), 0) FROM documents").fetchone()
        size = self.path.stat().st_size + sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "-*"))
        last = self.db.execute("SELECT max(created_at) FROM documents").fetchone()[0]
        return {"id": self.id, "name": self.name, "created_at": self.created_at, "documents": docs,
                "chunks": chunks, "bytes": size, "last_active_at": last or self.created_at}

    def _doc(self, row) -> Document:
        return Document(*row[:9], attributes=json.loads(row[9]))

    _COLUMNS = "id, source, filename, url, kind, sha256, bytes, chunks, created_at, attributes"

    def documents(self) -> list[Document]:
        rows = self.db.execute(f"SELECT {self._COLUMNS} FROM documents ORDER BY created_at, id").fetchall()
        return [self._doc(r) for r in rows]

    def document(self, doc_id: str) -> Document | None:
        row = self.db.execute(f"SELECT {self._COLUMNS} FROM documents WHERE id = ?", (doc_id,)).fetchone()
        return self._doc(row) if row else None

    def put_document(self, doc: Document, chunks: list[Chunk], vectors: np.ndarray) -> None:
        """Replace the document (by id or source) and its chunks, in one transaction."""
        doc.chunks = len(chunks)
        with self._write():
            self._delete(doc.id, doc.source)
            self.db.execute(f"INSERT INTO documents ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (doc.id, doc.source, doc.filename, doc.url, doc.kind, doc.sha256, doc.bytes,
                             doc.chunks, doc.created_at, json.dumps(doc.attributes)))
            for i, (chunk, vec) in enumerate(zip(chunks, vectors, strict=True)):
                cur = self.db.execute(
                    "INSERT INTO chunks (doc_id, ord, title, body, line_start, line_end, vector) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (doc.id, i, chunk.title, chunk.body, chunk.line_start, chunk.line_end,
                     np.asarray(vec, dtype=np.float32).tobytes()))
                self.db.execute("INSERT INTO chunks_fts (rowid, title, body) VALUES (?, ?, ?)",
                                (cur.lastrowid, chunk.title, chunk.body))

    def _delete(self, doc_id: str, source: str | None = None) -> bool:
        ids = [r[0] for r in self.db.execute("SELECT id FROM documents WHERE id = ? OR source = ?",
                                             (doc_id, source if source is not None else doc_id))]
        for old in ids:
            self.db.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE doc_id = ?)", (old,))
            self.db.execute("DELETE FROM chunks WHERE doc_id = ?", (old,))
            self.db.execute("DELETE FROM documents WHERE id = ?", (old,))
        return bool(ids)

    def delete_document(self, doc_id: str) -> bool:
        with self._write():
            return self._delete(doc_id, None)

    def add_root(self, path: str) -> None:
        with self._write():
            self.db.execute("INSERT OR IGNORE INTO roots VALUES (?)", (path,))

    def roots(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT path FROM roots ORDER BY path")]

    # -- search -----------------------------------------------------------------------------------

    def _vectors(self) -> tuple[np.ndarray, np.ndarray]:
        version = self.db.execute("PRAGMA data_version").fetchone()[0]
        count = self.db.execute("SELECT count(*), coalesce(max(id), 0) FROM chunks").fetchone()
        key = hash((version, *count))
        if self._matrix is None or self._matrix[0] != key:
            rows = self.db.execute("SELECT id, vector FROM chunks ORDER BY id").fetchall()
            ids = np.array([r[0] for r in rows], dtype=np.int64)
            vecs = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1) \
                if rows else np.zeros((0, self.dim or 1), dtype=np.float32)
            self._matrix = (key, ids, vecs)
        return self._matrix[1], self._matrix[2]

    def search(self, query: str, vector: np.ndarray, k: int, mode: str = "hybrid") -> list[Hit]:
        """The ``k`` best chunks; ``mode`` ``bm25`` or ``vector`` ranks by one signal alone (for comparisons)."""
        ranks: dict[int, dict[str, int]] = {}
        fts = _fts_query(query) if mode != "vector" else ""
        if fts:
            rows = self.db.execute("SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? "
                                   "ORDER BY bm25(chunks_fts, 2.0, 1.0) LIMIT ?", (fts, CANDIDATES)).fetchall()
            for rank, (rowid,) in enumerate(rows, 1):
                ranks.setdefault(rowid, {})["bm25"] = rank
        ids, vecs = self._vectors() if mode != "bm25" else (np.zeros(0), None)
        if len(ids):
            sims = vecs @ np.asarray(vector, dtype=np.float32)
            top = np.argsort(-sims)[:CANDIDATES]
            for rank, i in enumerate(top, 1):
                ranks.setdefault(int(ids[i]), {})["vector"] = rank
        fused = sorted(ranks.items(), key=lambda kv: -sum(1 / (RRF_K + r) for r in kv[1].values()))[:k]
        hits = []
        docs: dict[str, Document] = {}
        for chunk_id, r in fused:
            row = self.db.execute("SELECT doc_id, title, body, line_start, line_end FROM chunks WHERE id = ?",
                                  (chunk_id,)).fetchone()
            if row is None:
                continue
            if row[0] not in docs:
                docs[row[0]] = self.document(row[0])
            hits.append(Hit(chunk_id, docs[row[0]], row[1], row[2], row[3], row[4],
                            sum(1 / (RRF_K + x) for x in r.values()), r.get("bm25"), r.get("vector")))
        return hits

    def close(self) -> None:
        self.db.close()

"""The knowledge base as the server uses it: the catalog, one shared embedder, searches over several stores,
and the grounded prompt with its citations.

Work that blocks (embedding, SQLite, groff) runs in a worker thread; the event loop never waits on it.
"""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from pathlib import Path

from aletheia.tasks import GROUNDING_INSTRUCTIONS, Passage, parse_citations, retrieved_context

from .catalog import STORE_ID, Catalog
from .embedder import Embedder, shared_embedder
from .store import Hit, SQLiteStore


@dataclass
class Retrieved:
    store_id: str
    hit: Hit

    def passage(self) -> Passage:
        doc = self.hit.document
        return Passage(text=self.hit.body, source=doc.attributes.get("title") or doc.filename,
                       line_start=self.hit.line_start, line_end=self.hit.line_end, title=_short_title(self.hit))

    def openai(self) -> dict:
        """One result of ``vector_stores.search``, OpenAI's shape plus where the passage lies."""
        doc = self.hit.document
        return {"file_id": doc.id, "filename": doc.filename, "score": round(self.hit.score, 6),
                "attributes": {"title": self.hit.title, "url": self.hit.citation_url, "source": doc.source,
                               "line_start": self.hit.line_start, "line_end": self.hit.line_end,
                               "vector_store_id": self.store_id},
                "content": [{"type": "text", "text": self.hit.body}]}


def _short_title(hit: Hit) -> str:
    """The heading path without the document's own title (the header names the document already)."""
    doc_title = hit.document.attributes.get("title", "")
    parts = hit.title.split(" > ")
    return " > ".join(parts[1:] if parts and parts[0] == doc_title else parts)


class KnowledgeBase:
    def __init__(self, root: Path, model_cache: Path | None = None) -> None:
        self.catalog = Catalog(root)
        self.model_cache = model_cache
        self._embedder: Embedder | None = None
        self._lock = threading.Lock()
        self._stores: dict[str, tuple[SQLiteStore, threading.Lock]] = {}
        self._embedder_lock = threading.Lock()

    @property
    def embedder(self) -> Embedder:
        with self._embedder_lock:
            if self._embedder is None:
                self._embedder = shared_embedder(self.model_cache)
            return self._embedder

    def _searchable(self, ref: str) -> tuple[SQLiteStore, threading.Lock]:
        """An open store kept between searches (its vector matrix stays loaded until another connection
        writes); reopened when its file was deleted and made again."""
        if not STORE_ID.match(ref):
            store = self.catalog.open_store(ref)
            ref = store.id
            store.close()
        with self._lock:
            cached = self._stores.get(ref)
            if cached is not None and cached[0].path.exists():
                return cached
        store = self.catalog.open_store(ref)
        with self._lock:
            old = self._stores.get(ref)
            self._stores[ref] = (store, threading.Lock())
        if old is not None:
            with old[1]:
                old[0].close()
        return self._stores[ref]

    def search_sync(self, store_refs: list[str], query: str, k: int) -> list[Retrieved]:
        stores = [self._searchable(ref) for ref in store_refs]  # StoreNotFound before any embedding
        vector = self.embedder.embed([_fit_query(self.embedder, query)])[0]
        results: list[Retrieved] = []
        for store, lock in stores:
            with lock:
                results += [Retrieved(store.id, h) for h in store.search(query, vector, k)]
        results.sort(key=lambda r: -r.hit.score)
        return results[:k]

    async def search(self, store_refs: list[str], query: str, k: int) -> list[Retrieved]:
        return await asyncio.to_thread(self.search_sync, store_refs, query, k)


def _fit_query(embedder: Embedder, query: str) -> str:
    """A query longer than the window is searched by its first ``window`` word pieces (BM25 still sees it all)."""
    words = query.split()
    while words and embedder.count_tokens(" ".join(words)) > embedder.window:
        words = words[: max(1, len(words) * 9 // 10)]
    return " ".join(words) or query[:100]


def grounded_question(question: str, retrieved: list[Retrieved]) -> str:
    """The user turn with the retrieved-context form (the shared task format from ``aletheia.tasks``)."""
    passages = [r.passage() for r in retrieved]
    if not passages:
        return (f"{question.strip()}\n\n{GROUNDING_INSTRUCTIONS}\n\n"
                "(The knowledge base returned no passages for this question.)")
    return f"{question.strip()}\n\n{GROUNDING_INSTRUCTIONS}\n\n{retrieved_context(passages)}"


def annotations(answer: str, retrieved: list[Retrieved]) -> list[dict]:
    """OpenAI's ``url_citation`` annotations for the ``[n]`` markers in an answer that name a passage."""
    out = []
    for number, start, end in parse_citations(answer):
        if 1 <= number <= len(retrieved):
            r = retrieved[number - 1]
            out.append({"type": "url_citation", "url_citation": {
                "start_index": start, "end_index": end, "url": r.hit.citation_url,
                "title": f"{r.passage().header()}"}})
    return out


def sources(retrieved: list[Retrieved]) -> list[dict]:
    """The passages given to the model, numbered as in the prompt (the ``knowledge`` extension's answer)."""
    return [{"index": i, "vector_store_id": r.store_id, "file_id": r.hit.document.id,
             "filename": r.hit.document.filename, "title": r.hit.title, "url": r.hit.citation_url,
             "line_start": r.hit.line_start, "line_end": r.hit.line_end, "score": round(r.hit.score, 6)}
            for i, r in enumerate(retrieved, 1)]

"""The Vector Stores API (``/v1/vector_stores``): stores, their files, and hybrid search, in OpenAI's shape.

A store here is the same SQLite store the CLI builds (``python -m server kb``); a file attached to a store
is chunked and embedded before the call returns, so its status is ``completed`` (or ``failed``, with the
reason in ``last_error``).
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from ..deps import parse_body
from ..errors import APIError
from ..kb.catalog import StoreNotFound
from ..kb.indexer import DOC_SUFFIXES, Indexer, SkipFile
from ..kb.manpages import page_title
from ..kb.service import KnowledgeBase
from ..kb.store import Document, SQLiteStore
from .files import file_or_404, get_kb

router = APIRouter()


class _Body(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class CreateStoreRequest(_Body):
    name: str | None = None
    file_ids: list[str] = Field(default_factory=list)
    metadata: dict[str, str] | None = None
    expires_after: dict[str, Any] | None = None
    chunking_strategy: dict[str, Any] | None = None
    description: str | None = None


class AttachFileRequest(_Body):
    file_id: str
    attributes: dict[str, str | float | bool] | None = None
    chunking_strategy: dict[str, Any] | None = None


class SearchRequest(_Body):
    query: str | list[str]
    max_num_results: int = Field(10, ge=1, le=50)
    filters: dict[str, Any] | None = None
    ranking_options: dict[str, Any] | None = None
    rewrite_query: bool = False


def open_store(kb: KnowledgeBase, store_id: str) -> SQLiteStore:
    try:
        return kb.catalog.open_store(store_id)
    except StoreNotFound:
        raise APIError(404, f"No vector store found with id '{store_id}'.", param="vector_store_id",
                       code="not_found") from None


def store_object(store: SQLiteStore) -> dict:
    info = store.info()
    n = info["documents"]
    return {"id": store.id, "object": "vector_store", "created_at": info["created_at"], "name": store.name,
            "usage_bytes": info["bytes"], "status": "completed", "last_active_at": info["last_active_at"],
            "file_counts": {"in_progress": 0, "completed": n, "failed": 0, "cancelled": 0, "total": n},
            "expires_after": None, "expires_at": None, "metadata": {}}


def file_object(store_id: str, doc: Document, status: str = "completed", error: str | None = None) -> dict:
    return {"id": doc.id, "object": "vector_store.file", "usage_bytes": doc.bytes, "created_at": doc.created_at,
            "vector_store_id": store_id, "status": status,
            "last_error": {"code": "unsupported_file", "message": error} if error else None,
            "attributes": {k: v for k, v in doc.attributes.items() if isinstance(v, (str, int, float, bool))},
            "chunking_strategy": {"type": "other"}}


def _kind(filename: str) -> str:
    lowered = filename.lower()
    for suffix, kind in DOC_SUFFIXES.items():
        if lowered.endswith(suffix):
            return kind
    return "man" if page_title(Path(filename)) != filename else "text"


def _attach(kb: KnowledgeBase, store: SQLiteStore, file_id: str, attributes: dict | None) -> dict:
    item = kb.catalog.get_file(file_id)
    data = kb.catalog.file_bytes(file_id)
    kind = _kind(item.filename)
    title = page_title(Path(item.filename)) if kind == "man" else item.filename
    doc = Document(id=item.id, source=item.id, filename=item.filename, url=f"/v1/files/{item.id}/content",
                   kind=kind, sha256=hashlib.sha256(data).hexdigest(), bytes=len(data),
                   attributes={"title": title, **(attributes or {})})
    try:
        Indexer(store, kb.embedder).index_bytes(doc, data)
    except SkipFile as exc:
        return file_object(store.id, doc, "failed", f"{item.filename}: {exc}")
    return file_object(store.id, doc)


@router.post("/v1/vector_stores")
async def create_store(request: Request):
    kb = get_kb(request)
    body = await parse_body(request, CreateStoreRequest)
    for file_id in body.file_ids:
        file_or_404(kb.catalog, file_id)
    store = kb.catalog.create_store(body.name or "")
    try:
        for file_id in body.file_ids:
            await asyncio.to_thread(_attach, kb, store, file_id, None)
        return store_object(store)
    finally:
        store.close()


@router.get("/v1/vector_stores")
async def list_stores(request: Request):
    stores = get_kb(request).catalog.list_stores()
    data = [store_object(s) for s in reversed(stores)]  # newest first, as OpenAI lists them
    for s in stores:
        s.close()
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": False}


@router.get("/v1/vector_stores/{store_id}")
async def retrieve_store(request: Request, store_id: str):
    store = open_store(get_kb(request), store_id)
    try:
        return store_object(store)
    finally:
        store.close()


@router.delete("/v1/vector_stores/{store_id}")
async def delete_store(request: Request, store_id: str):
    kb = get_kb(request)
    open_store(kb, store_id).close()
    deleted = kb.catalog.delete_store(store_id)
    return {"id": deleted, "object": "vector_store.deleted", "deleted": True}


@router.post("/v1/vector_stores/{store_id}/files")
async def attach_file(request: Request, store_id: str):
    kb = get_kb(request)
    body = await parse_body(request, AttachFileRequest)
    store = open_store(kb, store_id)
    try:
        file_or_404(kb.catalog, body.file_id)
        return await asyncio.to_thread(_attach, kb, store, body.file_id, body.attributes)
    finally:
        store.close()


@router.get("/v1/vector_stores/{store_id}/files")
async def list_store_files(request: Request, store_id: str):
    store = open_store(get_kb(request), store_id)
    try:
        data = [file_object(store.id, d) for d in reversed(store.documents())]
    finally:
        store.close()
    return {"object": "list", "data": data, "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None, "has_more": False}


@router.get("/v1/vector_stores/{store_id}/files/{file_id}")
async def retrieve_store_file(request: Request, store_id: str, file_id: str):
    store = open_store(get_kb(request), store_id)
    try:
        doc = store.document(file_id)
    finally:
        store.close()
    if doc is None:
        raise APIError(404, f"No file '{file_id}' in vector store '{store_id}'.", param="file_id", code="not_found")
    return file_object(store_id, doc)


@router.delete("/v1/vector_stores/{store_id}/files/{file_id}")
async def delete_store_file(request: Request, store_id: str, file_id: str):
    store = open_store(get_kb(request), store_id)
    try:
        deleted = store.delete_document(file_id)
    finally:
        store.close()
    if not deleted:
        raise APIError(404, f"No file '{file_id}' in vector store '{store_id}'.", param="file_id", code="not_found")
    return {"id": file_id, "object": "vector_store.file.deleted", "deleted": True}


@router.post("/v1/vector_stores/{store_id}/search")
async def search_store(request: Request, store_id: str):
    kb = get_kb(request)
    body = await parse_body(request, SearchRequest)
    if body.filters is not None:
        raise APIError(400, "'filters' is not supported by this server's vector stores.", param="filters",
                       code="unsupported_parameter")
    query = body.query if isinstance(body.query, str) else " ".join(body.query)
    if not query.strip():
        raise APIError(400, "'query' is empty.", param="query", code="invalid_value")
    open_store(kb, store_id).close()
    results = await kb.search([store_id], query, body.max_num_results)
    queries = [body.query] if isinstance(body.query, str) else body.query
    return {"object": "vector_store.search_results.page", "search_query": queries,
            "data": [r.openai() for r in results], "has_more": False, "next_page": None}

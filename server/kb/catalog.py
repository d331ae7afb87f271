"""The knowledge folder shared by the server and the CLI: stores and uploaded files.

Layout under ``kb_dir`` (``--kb-dir`` / ``ALETHEIA_KB_DIR``, default ``artifacts/kb``)::

    stores/vs_<hex>.sqlite      one store each (its id, name and documents inside)
    files/file-<hex>            an uploaded file's bytes
    files/file-<hex>.json       its name, size, purpose, creation time

A store is named by its id or its name; the CLI creates one by name, the API by ``vector_stores.create``.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import sqlite3
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

from .embedder import DIM, MODEL_NAME
from .store import SQLiteStore

DEFAULT_KB_DIR = Path("artifacts/kb")
_FILE_ID = re.compile(r"^file-[0-9a-f]{24}$")
STORE_ID = re.compile(r"^vs_[0-9a-f]{24}$")


def default_kb_dir() -> Path:
    return Path(os.environ.get("ALETHEIA_KB_DIR") or DEFAULT_KB_DIR)


class StoreNotFound(KeyError):
    def __init__(self, ref: str) -> None:
        super().__init__(ref)
        self.ref = ref

    def __str__(self) -> str:
        return f"No vector store found with id or name '{self.ref}'."


@dataclass
class UploadedFile:
    id: str
    filename: str
    bytes: int
    purpose: str
    created_at: int

    def openai(self) -> dict:
        return {"id": self.id, "object": "file", "bytes": self.bytes, "created_at": self.created_at,
                "filename": self.filename, "purpose": self.purpose, "status": "processed",
                "status_details": None, "expires_at": None}


class Catalog:
    def __init__(self, root: Path | None = None) -> None:
        self.root = Path(root or default_kb_dir())
        self.stores_dir = self.root / "stores"
        self.files_dir = self.root / "files"

    # -- stores -----------------------------------------------------------------------------------

    def store_paths(self) -> list[Path]:
        return sorted(self.stores_dir.glob("vs_*.sqlite")) if self.stores_dir.is_dir() else []

    def list_stores(self) -> list[SQLiteStore]:
        stores = []
        for path in self.store_paths():
            try:
                stores.append(SQLiteStore.open(path))
            except (ValueError, sqlite3.Error):  # a half-created or foreign file is not a store
                continue
        return sorted(stores, key=lambda s: (s.created_at, s.id))

    def open_store(self, ref: str) -> SQLiteStore:
        """By id (``vs_...``) or by name; ``StoreNotFound`` otherwise."""
        if STORE_ID.match(ref):
            path = self.stores_dir / f"{ref}.sqlite"
            if path.is_file():
                return SQLiteStore.open(path)
            raise StoreNotFound(ref)
        found = None
        for store in self.list_stores():
            if found is None and store.name == ref:
                found = store
            else:
                store.close()
        if found is None:
            raise StoreNotFound(ref)
        return found

    def create_store(self, name: str) -> SQLiteStore:
        store_id = f"vs_{uuid.uuid4().hex[:24]}"
        return SQLiteStore.create(self.stores_dir / f"{store_id}.sqlite", id=store_id, name=name,
                                  embedder=MODEL_NAME, dim=DIM)

    def open_or_create(self, ref: str) -> tuple[SQLiteStore, bool]:
        """The store named ``ref``, created if there is none; two processes asking at once get the same one."""
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".create.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                return self.open_store(ref), False
            except StoreNotFound:
                if STORE_ID.match(ref):
                    raise
                return self.create_store(ref), True

    def delete_store(self, ref: str) -> str:
        store = self.open_store(ref)
        store_id, path = store.id, store.path
        store.close()
        for p in [path, Path(f"{path}-wal"), Path(f"{path}-shm")]:
            p.unlink(missing_ok=True)
        return store_id

    # -- uploaded files ---------------------------------------------------------------------------

    def save_file(self, filename: str, data: bytes, purpose: str) -> UploadedFile:
        self.files_dir.mkdir(parents=True, exist_ok=True)
        item = UploadedFile(f"file-{uuid.uuid4().hex[:24]}", filename, len(data), purpose, int(time.time()))
        (self.files_dir / item.id).write_bytes(data)
        (self.files_dir / f"{item.id}.json").write_text(json.dumps(asdict(item)))
        return item

    def get_file(self, file_id: str) -> UploadedFile | None:
        if not _FILE_ID.match(file_id):
            return None
        meta = self.files_dir / f"{file_id}.json"
        return UploadedFile(**json.loads(meta.read_text())) if meta.is_file() else None

    def file_bytes(self, file_id: str) -> bytes:
        return (self.files_dir / file_id).read_bytes()

    def list_files(self) -> list[UploadedFile]:
        if not self.files_dir.is_dir():
            return []
        items = [UploadedFile(**json.loads(p.read_text())) for p in self.files_dir.glob("file-*.json")]
        return sorted(items, key=lambda f: (f.created_at, f.id))

    def delete_file(self, file_id: str) -> bool:
        if self.get_file(file_id) is None:
            return False
        (self.files_dir / file_id).unlink(missing_ok=True)
        (self.files_dir / f"{file_id}.json").unlink(missing_ok=True)
        return True

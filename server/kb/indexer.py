"""Incremental indexing: files and man pages into a store, embedding only what changed.

A file's content hash (SHA-256) decides: unchanged files are left alone, changed ones re-chunked and
re-embedded, files gone from an indexed folder removed from the store. Corrupt, binary or huge files are
skipped with a message naming them, and indexing goes on. ``SyncReport.summary()`` says what it did and at
what speed.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import manpages
from .chunking import Chunk, chunk_document
from .embedder import Embedder
from .store import Document, VectorStore

DOC_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".mdx": "markdown", ".rst": "rst", ".rest": "rst",
                ".txt": "text", ".text": "text", ".html": "html", ".htm": "html"}
SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv", ".tox", ".mypy_cache",
             ".pytest_cache", ".ruff_cache", "dist", "build", "artifacts"}
MAX_FILE_BYTES = 5 * 1024 * 1024


class SkipFile(ValueError):
    """The file cannot be indexed; the message says why."""


@dataclass
class SyncReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    chunks: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def chunks_per_second(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        parts = [f"{self.added} added", f"{self.updated} updated", f"{self.unchanged} unchanged",
                 f"{self.removed} removed", f"{len(self.skipped)} skipped"]
        speed = f"{self.chunks} chunks embedded in {self.seconds:.1f}s ({self.chunks_per_second:.1f} chunks/s)"
        return ", ".join(parts) + "; " + speed


def doc_id_for(source: str) -> str:
    return "file-" + hashlib.sha1(source.encode()).hexdigest()[:24]


def _kind(path: Path) -> str | None:
    if manpages.is_man_page(path):
        return "man"
    return DOC_SUFFIXES.get(path.suffix.lower())


def collect(paths: Iterable[Path], report: SyncReport) -> list[Path]:
    """The indexable files under ``paths`` (a file is taken as given; folders are walked)."""
    out: list[Path] = []
    for root in paths:
        root = root.expanduser().resolve()
        if root.is_file():
            out.append(root)
            continue
        if not root.is_dir():
            report.skipped.append((str(root), "no such file or folder"))
            continue
        found = [p for p in _walk(root) if _kind(p)]
        man_tree = root.name == "man" or any(d.name[:3] == "man" and d.name[3:4].isdigit() for d in root.iterdir())
        if man_tree and not any(_kind(p) == "man" for p in found):
            report.notes.append(manpages.NO_MAN_PAGES_HINT.format(root=root))
        out += found
    return sorted(dict.fromkeys(out))


def _walk(root: Path) -> Iterable[Path]:
    for child in sorted(root.iterdir()):
        if child.is_symlink() and child.is_dir():
            continue
        if child.is_dir():
            if child.name not in SKIP_DIRS and not child.name.startswith("."):
                yield from _walk(child)
        elif child.is_file():
            yield child


def decode_text(data: bytes) -> str:
    if b"\0" in data[:8192]:
        raise SkipFile("binary content (NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SkipFile(f"not UTF-8 text (byte {exc.start})") from None


class Indexer:
    def __init__(self, store: VectorStore, embedder: Embedder, *, max_bytes: int = MAX_FILE_BYTES,
                 progress: bool = False) -> None:
        self.store, self.embedder, self.max_bytes, self.progress = store, embedder, max_bytes, progress

    def chunk(self, data: bytes, filename: str, kind: str, title: str) -> list[Chunk]:
        if kind == "man":
            roff = manpages.read_roff_bytes(data, filename)
            if manpages.alias_target(roff):
                return []
            return manpages.chunk_man_page(manpages.render(roff), title, self.embedder.count_tokens,
                                           self.embedder.window)
        suffix = Path(filename).suffix
        return chunk_document(decode_text(data), suffix, title, self.embedder.count_tokens, self.embedder.window)

    def index_bytes(self, doc: Document, data: bytes) -> Document:
        """Chunk, embed and store one document (replacing an earlier version of it); ``SkipFile`` if it cannot."""
        if len(data) > self.max_bytes:
            raise SkipFile(f"{len(data)} bytes is over the limit of {self.max_bytes}")
        try:
            chunks = self.chunk(data, doc.filename, doc.kind, doc.attributes.get("title", doc.filename))
        except manpages.ManPageError as exc:
            raise SkipFile(str(exc)) from None
        vectors = self.embedder.embed([c.text for c in chunks]) if chunks else []
        self.store.put_document(doc, chunks, vectors)
        return doc

    def sync(self, paths: list[Path], *, prune: bool = True) -> SyncReport:
        started = time.perf_counter()
        report = SyncReport()
        files = collect(paths, report)
        for root in paths:
            root = root.expanduser().resolve()
            if root.exists():
                self.store.add_root(str(root))
        known = {d.source: d for d in self.store.documents()}
        with _progress(self.progress, len(files)) as advance:
            for path in files:
                self._sync_file(path, known.get(str(path)), report)
                advance(path.name)
        if prune:
            seen = {str(p) for p in files}
            for root in paths:
                root = root.expanduser().resolve()
                prefix = str(root) if root.is_file() else str(root).rstrip("/") + "/"
                for source, doc in known.items():
                    gone = (source == prefix or source.startswith(prefix)) and source not in seen
                    if gone and self.store.delete_document(doc.id):
                        report.removed += 1
        report.seconds = time.perf_counter() - started
        return report

    def _sync_file(self, path: Path, old: Document | None, report: SyncReport) -> None:
        try:
            size = path.stat().st_size
            if size > self.max_bytes:
                raise SkipFile(f"{size} bytes is over the limit of {self.max_bytes}")
            data = path.read_bytes()
        except OSError as exc:
            report.skipped.append((str(path), f"unreadable ({exc.strerror or exc})"))
            return
        except SkipFile as exc:
            report.skipped.append((str(path), str(exc)))
            return
        digest = hashlib.sha256(data).hexdigest()
        if old is not None and old.sha256 == digest:
            report.unchanged += 1
            return
        kind = _kind(path) or "text"
        title = manpages.page_title(path) if kind == "man" else path.name
        url = f"man:{title}" if kind == "man" else path.as_uri()
        doc = Document(id=doc_id_for(str(path)), source=str(path), filename=path.name, url=url, kind=kind,
                       sha256=digest, bytes=len(data), attributes={"title": title, "path": str(path)})
        t0 = time.perf_counter()
        try:
            self.index_bytes(doc, data)
        except SkipFile as exc:
            report.skipped.append((str(path), str(exc)))
            return
        report.embed_seconds += time.perf_counter() - t0
        report.chunks += doc.chunks
        if old is None:
            report.added += 1
        else:
            report.updated += 1


class _progress:
    """A rich progress bar over files when asked for and rich is installed; otherwise nothing."""

    def __init__(self, enabled: bool, total: int) -> None:
        self.enabled, self.total, self.bar = enabled, total, None

    def __enter__(self):
        if self.enabled:
            try:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
            except ImportError:
                self.enabled = False
            else:
                self.bar = Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                    TextColumn("{task.description}"), transient=True)
                self.bar.start()
                self.task = self.bar.add_task("", total=self.total)

        def advance(name: str) -> None:
            if self.bar is not None:
                self.bar.update(self.task, advance=1, description=name)

        return advance

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()

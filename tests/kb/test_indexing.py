"""Incremental indexing and the ``python -m server kb`` CLI: what changed is embedded, what is gone removed,
bad files skipped by name, two processes writing one store lose nothing, and hybrid search finds passages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from server.kb.catalog import Catalog
from server.kb.embedder import shared_embedder
from server.kb.indexer import Indexer

ROOT = Path(__file__).resolve().parents[2]


def kb_cli(kb_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "server", "kb", "--kb-dir", str(kb_dir), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture()
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "deploy.md").write_text("# Deploy\n\n## Rollback\n\nRun `kubectl rollout undo deployment/api` "
                                      "to roll back the API to its previous revision.\n")
    (folder / "db.rst").write_text("Database\n========\n\nVacuum\n------\n\nRun VACUUM ANALYZE nightly to keep "
                                   "PostgreSQL statistics fresh.\n")
    (folder / "notes.txt").write_text("The on-call rotation changes every Monday at 09:00 UTC.\n")
    return folder


def test_sync_embeds_only_what_changed_and_removes_what_is_gone(tmp_path, docs):
    catalog = Catalog(tmp_path / "kb")
    store, created = catalog.open_or_create("team")
    assert created
    indexer = Indexer(store, shared_embedder())
    first = indexer.sync([docs])
    assert (first.added, first.updated, first.unchanged, first.removed) == (3, 0, 0, 0)
    assert first.chunks == 3 and "chunks/s" in first.summary()

    again = indexer.sync([docs])
    assert (again.added, again.updated, again.unchanged, again.removed, again.chunks) == (0, 0, 3, 0, 0)

    (docs / "notes.txt").write_text("The on-call rotation changes every Tuesday at 10:00 UTC.\n")
    (docs / "db.rst").unlink()
    changed = indexer.sync([docs])
    assert (changed.added, changed.updated, changed.unchanged, changed.removed) == (0, 1, 1, 1)
    assert changed.chunks == 1
    assert sorted(d.filename for d in store.documents()) == ["deploy.md", "notes.txt"]
    hits = store.search("when does on-call change", shared_embedder().embed(["when does on-call change"])[0], 3)
    assert hits[0].document.filename == "notes.txt" and "Tuesday" in hits[0].body
    store.close()


def test_corrupt_binary_and_huge_files_are_skipped_by_name_and_indexing_goes_on(tmp_path, docs):
    (docs / "image.md").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0binary")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    (docs / "huge.md").write_text("# Huge\n\n" + "word " * 30_000)
    man = tmp_path / "man" / "man5"
    man.mkdir(parents=True)
    (man / "broken.5.gz").write_bytes(b"this is not gzip")
    result = kb_cli(tmp_path / "kb", "add", "team", str(docs), str(tmp_path / "man"), "--max-bytes", "100000")
    assert result.returncode == 0, result.stderr
    assert f"skipped {docs / 'image.md'}: binary content" in result.stderr
    assert f"skipped {docs / 'latin1.txt'}: not UTF-8 text" in result.stderr
    assert f"skipped {docs / 'huge.md'}: " in result.stderr and "over the limit of 100000" in result.stderr
    assert f"skipped {man / 'broken.5.gz'}: not a valid gzip file" in result.stderr
    assert "created store 'team'" in result.stdout
    assert "3 added, 0 updated, 0 unchanged, 0 removed, 4 skipped" in result.stdout


def test_an_empty_man_tree_is_reported(tmp_path):
    (tmp_path / "man" / "man1").mkdir(parents=True)
    result = kb_cli(tmp_path / "kb", "add", "manuals", str(tmp_path / "man"))
    assert result.returncode == 0, result.stderr
    assert "no man pages are installed under" in result.stderr and "dpkg" in result.stderr


def test_two_processes_indexing_one_store_lose_nothing(tmp_path):
    folders = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        for i in range(12):
            (folder / f"{name}{i}.md").write_text(f"# Page {name}{i}\n\nFact number {i} of set {name}.\n")
        folders.append(folder)
    kb = tmp_path / "kb"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [subprocess.Popen([sys.executable, "-m", "server", "kb", "--kb-dir", str(kb), "add", "shared",
                               str(folder)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for folder in folders]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    listing = kb_cli(kb, "list")
    assert listing.stdout.count("shared\t") == 1, listing.stdout  # one store, though both created it
    store = Catalog(kb).open_store("shared")
    assert sorted(d.filename for d in store.documents()) == sorted(f"{n}{i}.md" for n in "ab" for i in range(12))
    assert store.info()["chunks"] == 24
    store.close()


def test_cli_search_and_remove(tmp_path, docs):
    kb = tmp_path / "kb"
    assert kb_cli(kb, "add", "team", str(docs)).returncode == 0
    found = kb_cli(kb, "search", "team", "how do I roll back the API deployment", "-k", "2")
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith(f"[1] {(docs / 'deploy.md').as_uri()}#L5 ")
    assert "Deploy > Rollback" in found.stdout
    gone = kb_cli(kb, "remove", "team", "--file", str(docs / "deploy.md"))
    assert gone.returncode == 0 and "removed" in gone.stdout
    missing = kb_cli(kb, "search", "nope", "anything")
    assert missing.returncode == 1 and "No vector store found with id or name 'nope'" in missing.stderr
    assert kb_cli(kb, "remove", "team").returncode == 0
    assert "no stores" in kb_cli(kb, "list").stdout

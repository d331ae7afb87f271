"""``python -m server kb``: build and search knowledge stores from the shell, in the folder the server uses.

    python -m server kb add docs ./docs ./runbooks     # create the store "docs" if needed, then index
    python -m server kb add manuals --man               # the man pages under /usr/share/man
    python -m server kb sync docs                       # re-index what changed under its folders
    python -m server kb search docs "how do I roll back a deploy"
    python -m server kb list
    python -m server kb remove docs [--file PATH_OR_ID]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .catalog import StoreNotFound, default_kb_dir
from .indexer import Indexer, SyncReport
from .manpages import DEFAULT_MAN_ROOT
from .service import KnowledgeBase


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server kb", description="Knowledge stores: index and search.")
    p.add_argument("--kb-dir", type=Path, default=None,
                   help=f"stores and uploaded files (env ALETHEIA_KB_DIR; default {default_kb_dir()})")
    sub = p.add_subparsers(dest="command", required=True)
    add = sub.add_parser("add", help="create STORE if needed, then index PATHs into it")
    add.add_argument("store")
    add.add_argument("paths", nargs="*", type=Path)
    add.add_argument("--man", action="store_true", help=f"also index the man pages under {DEFAULT_MAN_ROOT}")
    sync = sub.add_parser("sync", help="re-index STORE's folders (or PATHs): embed what changed, drop what is gone")
    sync.add_argument("store")
    sync.add_argument("paths", nargs="*", type=Path)
    for cmd in (add, sync):
        cmd.add_argument("--no-progress", action="store_true")
        cmd.add_argument("--max-bytes", type=int, default=None, help="skip files larger than this")
    search = sub.add_parser("search", help="hybrid search (BM25 + vectors) of one or more stores")
    search.add_argument("store", help="a store's name or id; several separated by commas")
    search.add_argument("query")
    search.add_argument("-k", "--max-results", type=int, default=5)
    search.add_argument("--json", action="store_true")
    sub.add_parser("list", help="the stores, their documents and chunks")
    remove = sub.add_parser("remove", help="delete STORE, or only some of its documents")
    remove.add_argument("store")
    remove.add_argument("--file", action="append", default=[], help="a document's path or id (repeatable)")
    return p


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    kb = KnowledgeBase(args.kb_dir or default_kb_dir())
    try:
        return _COMMANDS[args.command](kb, args)
    except StoreNotFound as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _index(kb: KnowledgeBase, args, paths: list[Path], created: bool, store) -> int:
    kwargs = {"max_bytes": args.max_bytes} if args.max_bytes else {}
    indexer = Indexer(store, kb.embedder, progress=not args.no_progress and sys.stderr.isatty(), **kwargs)
    try:
        report = indexer.sync(paths)
    finally:
        store.close()
    _print_report(store, report, created)
    return 0


def _print_report(store, report: SyncReport, created: bool) -> None:
    if created:
        print(f"created store '{store.name}' ({store.id})")
    for path, why in report.skipped:
        print(f"skipped {path}: {why}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"{store.name}: {report.summary()}")


def _add(kb: KnowledgeBase, args) -> int:
    paths = list(args.paths) + ([DEFAULT_MAN_ROOT] if args.man else [])
    if not paths:
        print("error: give at least one PATH (or --man)", file=sys.stderr)
        return 2
    store, created = kb.catalog.open_or_create(args.store)
    return _index(kb, args, paths, created, store)


def _sync(kb: KnowledgeBase, args) -> int:
    store = kb.catalog.open_store(args.store)
    paths = list(args.paths) or [Path(p) for p in store.roots()]
    if not paths:
        store.close()
        print(f"error: store '{args.store}' has no indexed folders; give PATHs", file=sys.stderr)
        return 2
    return _index(kb, args, paths, False, store)


def _search(kb: KnowledgeBase, args) -> int:
    results = kb.search_sync([s for s in args.store.split(",") if s], args.query, args.max_results)
    if args.json:
        print(json.dumps([r.openai() for r in results], indent=2))
        return 0
    if not results:
        print("no results")
    for i, r in enumerate(results, 1):
        body = " ".join(r.hit.body.split())
        print(f"[{i}] {r.hit.citation_url}  score {r.hit.score:.4f}\n    {r.hit.title}\n    {body[:300]}")
    return 0


def _list(kb: KnowledgeBase, args) -> int:
    stores = kb.catalog.list_stores()
    if not stores:
        print(f"no stores in {kb.catalog.root}")
    for store in stores:
        info = store.info()
        print(f"{info['name']}\t{info['id']}\t{info['documents']} documents\t{info['chunks']} chunks\t"
              f"{info['bytes'] / 1e6:.1f} MB")
        store.close()
    return 0


def _remove(kb: KnowledgeBase, args) -> int:
    if not args.file:
        store_id = kb.catalog.delete_store(args.store)
        print(f"removed store {args.store} ({store_id})")
        return 0
    store = kb.catalog.open_store(args.store)
    try:
        by_source = {d.source: d.id for d in store.documents()}
        missing = 0
        for ref in args.file:
            doc_id = by_source.get(str(Path(ref).expanduser().resolve()), ref)
            if store.delete_document(doc_id):
                print(f"removed {ref}")
            else:
                print(f"error: no document {ref} in {args.store}", file=sys.stderr)
                missing += 1
    finally:
        store.close()
    return 1 if missing else 0


_COMMANDS = {"add": _add, "sync": _sync, "search": _search, "list": _list, "remove": _remove}

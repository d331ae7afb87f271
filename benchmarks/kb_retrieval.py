"""Retrieval quality and speed of the knowledge base on the manuals and docs it indexes.

Builds one store from the project's own Markdown docs and man pages under ``/usr/share/man`` (sections 5,
7 and 8; a seeded sample of ``--pages`` pages by default, every page with ``--all-man``), then asks
questions whose source passage is known, made from the indexed chunks themselves:

* ``title`` questions name an entry the way an engineer would look it up: the page or document and the
  entry's heading (``proc(5) /proc/pid/oom_score_adj``, ``README.md Configuration``);
* ``content`` questions are a sentence of the passage (6-30 words, said by no other chunk) with a third of
  its words dropped at random, so that neither ranking gets the exact text.

A question is answered when its source chunk is among the first 5 results. Reported: recall@5 and MRR
(reciprocal rank of the source chunk, 0 beyond 10) for the hybrid search the server runs and, measured in
the same run on the same store, for BM25 alone and vectors alone; indexing speed (chunks/s, groff rendering
and embedding included); search latency p50/p95 (query embedding included) with the BM25-only latency as
the reference ratio.

    .venv/bin/python benchmarks/kb_retrieval.py [--pages 12] [--all-man] [--questions 200] [--out reports]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from server.kb import manpages
from server.kb.catalog import Catalog
from server.kb.embedder import shared_embedder
from server.kb.indexer import Indexer

MODES = ("hybrid", "bm25", "vector")


def doc_paths() -> list[Path]:
    skip = {".venv", "node_modules", "artifacts", ".git"}
    return sorted(p for p in REPO.glob("**/*.md") if not skip & set(p.relative_to(REPO).parts))


def man_sample(n: int | None, seed: int) -> list[Path]:
    pages = manpages.find_man_pages(manpages.DEFAULT_MAN_ROOT, {"5", "7", "8"})
    if n is None or n >= len(pages):
        return pages
    return sorted(random.Random(seed).sample(pages, n))


def make_questions(store, n: int, seed: int) -> list[dict]:
    rows = store.db.execute("SELECT c.id, c.title, c.body, d.attributes FROM chunks c "
                            "JOIN documents d ON d.id = c.doc_id").fetchall()
    sentence_owners: dict[str, set[int]] = {}
    sentences: dict[int, list[str]] = {}
    for chunk_id, _, body, _ in rows:
        for s in re.split(r"(?<=[.!?])\s+", " ".join(body.split())):
            if 6 <= len(s.split()) <= 30:
                sentence_owners.setdefault(s, set()).add(chunk_id)
                sentences.setdefault(chunk_id, []).append(s)
    rng = random.Random(seed)
    questions = []
    titles_seen: dict[str, int] = {}
    for chunk_id, title, _, _ in rows:
        titles_seen[title] = titles_seen.get(title, 0) + 1
    for chunk_id, title, body, attributes in rows:
        parts = title.split(" > ")
        doc = json.loads(attributes).get("title", parts[0])
        if len(parts) > 1 and titles_seen[title] == 1 and len(parts[-1]) > 2:
            questions.append({"kind": "title", "query": f"{doc} {parts[-1]}", "chunk": chunk_id})
        unique = [s for s in sentences.get(chunk_id, []) if len(sentence_owners[s]) == 1]
        if unique:
            words = rng.choice(unique).split()
            kept = [w for w in words if rng.random() > 1 / 3] or words
            questions.append({"kind": "content", "query": " ".join(kept), "chunk": chunk_id})
    rng.shuffle(questions)
    return questions[:n]


def score(store, embedder, questions: list[dict]) -> tuple[dict, dict]:
    results = {m: {"recall@5": 0.0, "mrr": 0.0, "by_kind": {}} for m in MODES}
    latencies = {m: [] for m in MODES}
    for q in questions:
        for mode in MODES:
            started = time.perf_counter()
            vector = embedder.embed([q["query"]])[0] if mode != "bm25" else None
            hits = store.search(q["query"], vector, 10, mode=mode)
            latencies[mode].append(time.perf_counter() - started)
            ranks = [i for i, h in enumerate(hits, 1) if h.chunk_id == q["chunk"]]
            rank = ranks[0] if ranks else None
            kind = results[mode]["by_kind"].setdefault(q["kind"], {"n": 0, "recall@5": 0.0, "mrr": 0.0})
            for bucket in (results[mode], kind):
                bucket["recall@5"] += 1 if rank and rank <= 5 else 0
                bucket["mrr"] += 1 / rank if rank else 0
            kind["n"] += 1
    for mode in MODES:
        for bucket in (results[mode], *results[mode]["by_kind"].values()):
            total = bucket.get("n", len(questions))
            bucket["recall@5"] = round(bucket["recall@5"] / total, 3)
            bucket["mrr"] = round(bucket["mrr"] / total, 3)
    timing = {}
    for mode in MODES:
        ms = sorted(x * 1000 for x in latencies[mode])
        timing[mode] = {"p50_ms": round(statistics.median(ms), 2), "p95_ms": round(ms[int(0.95 * (len(ms) - 1))], 2)}
    return results, timing


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pages", type=int, default=12, help="man pages sampled from sections 5, 7, 8")
    ap.add_argument("--all-man", action="store_true", help="every man page of sections 5, 7, 8")
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None, help="write kb_retrieval.json here")
    args = ap.parse_args()

    pages = man_sample(None if args.all_man else args.pages, args.seed)
    if not pages:
        print("note: " + manpages.NO_MAN_PAGES_HINT.format(root=manpages.DEFAULT_MAN_ROOT) + "; docs only")
    docs = doc_paths()
    embedder = shared_embedder()
    with tempfile.TemporaryDirectory() as tmp:
        store, _ = Catalog(Path(tmp)).open_or_create("bench")
        report = Indexer(store, embedder, progress=sys.stderr.isatty()).sync(docs + pages)
        info = store.info()
        questions = make_questions(store, args.questions, args.seed)
        quality, latency = score(store, embedder, questions)
        store.close()
    out = {
        "corpus": {"docs": len(docs), "man_pages": len(pages), "chunks": info["chunks"],
                   "skipped": len(report.skipped), "store_mb": round(info["bytes"] / 1e6, 1)},
        "indexing": {"seconds": round(report.seconds, 1), "chunks_per_s": round(report.chunks_per_second, 1)},
        "questions": len(questions), "quality": quality, "latency": latency,
        "latency_ratio_hybrid_vs_bm25_p95": round(latency["hybrid"]["p95_ms"] / latency["bm25"]["p95_ms"], 1),
    }
    print(f"corpus: {len(docs)} docs + {len(pages)} man pages = {info['chunks']} chunks "
          f"({len(report.skipped)} files skipped); indexed in {report.seconds:.1f}s "
          f"= {report.chunks_per_second:.1f} chunks/s")
    print(f"{len(questions)} questions; recall@5 / MRR (and by kind: title, content):")
    for mode in MODES:
        q = quality[mode]
        kinds = "  ".join(f"{k} {v['recall@5']:.3f}/{v['mrr']:.3f} (n={v['n']})" for k, v in sorted(q["by_kind"].items()))
        t = latency[mode]
        print(f"  {mode:7s} {q['recall@5']:.3f} / {q['mrr']:.3f}   {kinds}   "
              f"latency p50 {t['p50_ms']:.1f} ms, p95 {t['p95_ms']:.1f} ms")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "kb_retrieval.json").write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

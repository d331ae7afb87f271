"""Blind human preference between two models' answers: a small local web page backed by SQLite.

    python -m evaluation.human --pairs reports/<run>/pairs.jsonl [--db reports/<run>/human.sqlite] [--port 8765]
    python -m evaluation.human --db reports/<run>/human.sqlite --report     # print the win rate and exit

``pairs.jsonl`` (written by ``python -m evaluation.run`` with the winrate suite) has one object a line:
``{"id", "question", "model", "baseline", "model_answer", "baseline_answer"}``. Each page view shows
the question and the two answers as "left" and "right", sides drawn at random and remembered
server-side (the page never says which model is which); the rater picks left, right or tie. The pair
with the fewest votes is shown next. The win rate of ``model`` counts ties as half, with a 95%
bootstrap CI over votes.

Routes: ``GET /`` (the page), ``POST /vote`` (form: presentation, choice = left|right|tie),
``GET /api/next`` (the next pair as JSON), ``GET /api/results`` (win rate as JSON).
Standard library only (``http.server``, ``sqlite3``); it binds to 127.0.0.1 by default.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import random
import sqlite3
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

import numpy as np

from .winrate import bootstrap_ci

SCHEMA = """
CREATE TABLE IF NOT EXISTS pairs (
    id TEXT PRIMARY KEY, question TEXT NOT NULL, model TEXT NOT NULL, baseline TEXT NOT NULL,
    model_answer TEXT NOT NULL, baseline_answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS presentations (
    id INTEGER PRIMARY KEY AUTOINCREMENT, pair_id TEXT NOT NULL REFERENCES pairs(id),
    left_is_model INTEGER NOT NULL, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS votes (
    presentation_id INTEGER PRIMARY KEY REFERENCES presentations(id),
    choice TEXT NOT NULL CHECK (choice IN ('left', 'right', 'tie')), created REAL NOT NULL
);
"""


class PreferenceStore:
    """The SQLite file: pairs, what was shown on which side, and the votes."""

    def __init__(self, path: str | Path, seed: int | None = None):
        self.db = sqlite3.connect(str(path), check_same_thread=False)
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.rng = random.Random(seed)

    def add_pairs(self, rows: list[dict]) -> int:
        with self.lock, self.db:
            cur = self.db.executemany(
                "INSERT OR IGNORE INTO pairs VALUES (:id, :question, :model, :baseline, :model_answer, :baseline_answer)",
                [
                    {
                        k: str(r[k])
                        for k in ("id", "question", "model", "baseline", "model_answer", "baseline_answer")
                    }
                    for r in rows
                ],
            )
            return cur.rowcount

    def next_presentation(self) -> dict | None:
        """A new presentation of a pair with the fewest votes, sides at random; None when there are no pairs."""
        with self.lock, self.db:
            rows = self.db.execute(
                """SELECT p.id, COUNT(v.presentation_id) AS n FROM pairs p
                   LEFT JOIN presentations s ON s.pair_id = p.id
                   LEFT JOIN votes v ON v.presentation_id = s.id
                   GROUP BY p.id ORDER BY n"""
            ).fetchall()
            if not rows:
                return None
            fewest = [pid for pid, n in rows if n == rows[0][1]]
            pair_id = self.rng.choice(fewest)
            left_is_model = self.rng.random() < 0.5
            cur = self.db.execute(
                "INSERT INTO presentations (pair_id, left_is_model, created) VALUES (?, ?, ?)",
                (pair_id, int(left_is_model), time.time()),
            )
            q, ma, ba = self.db.execute(
                "SELECT question, model_answer, baseline_answer FROM pairs WHERE id = ?", (pair_id,)
            ).fetchone()
        left, right = (ma, ba) if left_is_model else (ba, ma)
        return {
            "presentation": cur.lastrowid,
            "pair_id": pair_id,
            "question": q,
            "left": left,
            "right": right,
        }

    def vote(self, presentation: int, choice: str) -> None:
        if choice not in ("left", "right", "tie"):
            raise ValueError(f"choice must be left, right or tie, not {choice!r}")
        with self.lock, self.db:
            if not self.db.execute("SELECT 1 FROM presentations WHERE id = ?", (presentation,)).fetchone():
                raise KeyError(f"unknown presentation {presentation}")
            self.db.execute(
                "INSERT OR REPLACE INTO votes VALUES (?, ?, ?)", (presentation, choice, time.time())
            )

    def results(self, seed: int = 0) -> dict:
        with self.lock:
            rows = self.db.execute(
                """SELECT v.choice, s.left_is_model, p.model, p.baseline FROM votes v
                   JOIN presentations s ON s.id = v.presentation_id JOIN pairs p ON p.id = s.pair_id"""
            ).fetchall()
            n_pairs = self.db.execute("SELECT COUNT(*) FROM pairs").fetchone()[0]
        scores = np.array(
            [
                0.5 if c == "tie" else float((c == "left") == bool(left_is_model))
                for c, left_is_model, _, _ in rows
            ]
        )
        out = {
            "pairs": n_pairs,
            "votes": len(rows),
            "model": rows[0][2] if rows else None,
            "baseline": rows[0][3] if rows else None,
            "wins": int((scores == 1).sum()),
            "ties": int((scores == 0.5).sum()),
            "losses": int((scores == 0).sum()),
            "win_rate": float(scores.mean()) if len(scores) else float("nan"),
        }
        out["ci_low"], out["ci_high"] = bootstrap_ci(scores, seed=seed)
        # JSON has no NaN: no votes yet means no rate
        return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in out.items()}


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Aletheia: which answer is better?</title>
<style>
 body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
 .q {{ background: #f3f4f6; padding: 1rem; border-radius: 6px; white-space: pre-wrap; }}
 .cols {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin-top: 1rem; }}
 .ans {{ border: 1px solid #ccc; border-radius: 6px; padding: 1rem; white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: 0.9rem; }}
 form {{ margin-top: 1rem; display: flex; gap: 1rem; }} button {{ font-size: 1rem; padding: 0.5rem 1.5rem; }}
 .stats {{ color: #555; margin-top: 1.5rem; }}
</style></head><body>
<h1>Which answer is better?</h1>
{body}
<p class="stats">{stats}</p>
</body></html>"""


def render_page(pres: dict | None, stats: dict) -> str:
    if pres is None:
        body = "<p>No pairs loaded. Start with <code>--pairs pairs.jsonl</code>.</p>"
    else:
        e = html.escape
        body = (
            f'<div class="q"><b>Question</b>\n{e(pres["question"])}</div>'
            f'<div class="cols"><div><h2>Left</h2><div class="ans">{e(pres["left"])}</div></div>'
            f'<div><h2>Right</h2><div class="ans">{e(pres["right"])}</div></div></div>'
            f'<form method="post" action="/vote"><input type="hidden" name="presentation" value="{pres["presentation"]}">'
            '<button name="choice" value="left">Left is better</button>'
            '<button name="choice" value="tie">About the same</button>'
            '<button name="choice" value="right">Right is better</button></form>'
        )
    stats_line = f"{stats['votes']} votes on {stats['pairs']} pairs" + (
        f"; model win rate so far {stats['win_rate']:.2f}" if stats["votes"] else ""
    )
    return PAGE.format(body=body, stats=html.escape(stats_line))


def make_handler(store: PreferenceStore):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *args):  # keep test output quiet
            pass

        def _send(self, status: int, body: str, ctype: str) -> None:
            data = body.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _json(self, obj, status: int = 200) -> None:
            self._send(status, json.dumps(obj), "application/json")

        def do_GET(self):
            if self.path == "/":
                self._send(
                    200, render_page(store.next_presentation(), store.results()), "text/html; charset=utf-8"
                )
            elif self.path == "/api/next":
                self._json(store.next_presentation() or {"done": True})
            elif self.path == "/api/results":
                self._json(store.results())
            else:
                self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

        def do_POST(self):
            if self.path != "/vote":
                return self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8")
            is_json = (self.headers.get("Content-Type") or "").startswith("application/json")
            try:
                form = json.loads(raw) if is_json else {k: v[0] for k, v in parse_qs(raw).items()}
                store.vote(int(form["presentation"]), str(form["choice"]))
            except (KeyError, ValueError, TypeError) as exc:
                return self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
            if is_json:
                return self._json({"ok": True})
            self.send_response(HTTPStatus.SEE_OTHER)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


def make_server(store: PreferenceStore, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    return ThreadingHTTPServer((host, port), make_handler(store))


def read_pairs(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m evaluation.human", description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", help="pairs.jsonl to load (added to the database; existing ids are kept)")
    ap.add_argument("--db", help="SQLite file (default: human.sqlite beside --pairs)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument(
        "--report", action="store_true", help="print the win rate from the recorded votes and exit"
    )
    args = ap.parse_args(argv)
    if not args.db and not args.pairs:
        ap.error("give --pairs or --db")
    db = Path(args.db) if args.db else Path(args.pairs).with_name("human.sqlite")
    store = PreferenceStore(db)
    if args.pairs:
        store.add_pairs(read_pairs(args.pairs))
    if args.report:
        print(json.dumps(store.results(), indent=2))
        return 0
    httpd = make_server(store, args.host, args.port)
    print(
        f"serving blind pairs on http://{args.host}:{httpd.server_address[1]}/ (votes in {db}); Ctrl-C to stop"
    )
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
        print(json.dumps(store.results(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

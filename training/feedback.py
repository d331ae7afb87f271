"""``python -m training.feedback export``: the gateway's feedback on real answers, as training data.

Reads the feedback and the chat transcripts the server keeps (``--database-url``, the server's store) and
writes, in the formats of ``training/data/sft.jsonl`` and ``dpo.jsonl``:

* an SFT example for every answer rated up (the conversation as it was), and for every answer rated down
  that came with the answer the user preferred (the conversation with that answer);
* a DPO pair for every answer rated down with a preferred answer: chosen = the preferred answer,
  rejected = the model's, ``rejected_by: user_feedback``.

Every record passes the same schema gates as the hand-written data (``training.dataprep.schema``) and the
exact-duplicate gate before it is written; what fails is counted with its reason, never written. The latest
rating of a response wins. Feed the files to a run with ``--set data.sft_path=... --set data.dpo_path=...``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from aletheia.tasks import SYSTEM_PROMPT
from training.dataprep.filters import exact_duplicates
from training.dataprep.schema import Record, check_dpo, check_sft

SOURCE, TOPIC = "qa", "user_feedback"


def _text(content) -> str | None:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # OpenAI content parts: keep the text ones
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "".join(parts) if parts else None
    return None


def conversation(messages: list) -> list[dict] | None:
    """The request's messages as plain {role, content} turns (developer -> system), with the system prompt
    first when the client sent none; None when they hold anything training cannot take (tool turns)."""
    out = []
    for m in messages:
        if not isinstance(m, dict):
            return None
        role = "system" if m.get("role") == "developer" else m.get("role")
        text = _text(m.get("content"))
        if role not in ("system", "user", "assistant") or text is None or not text.strip() or m.get("tool_calls"):
            return None
        out.append({"role": role, "content": text})
    if not out or out[-1]["role"] != "user":
        return None
    if out[0]["role"] != "system":
        out.insert(0, {"role": "system", "content": SYSTEM_PROMPT})
    return out


def _id(kind: str, response_id: str) -> str:
    return f"feedback-{kind}-{hashlib.sha256(response_id.encode()).hexdigest()[:16]}"


def records(rows: list[dict]) -> tuple[list[dict], list[dict], Counter]:
    """(SFT records, DPO records, dropped reasons) from joined feedback + transcript rows, oldest first."""
    latest: dict[str, dict] = {}
    for row in rows:
        latest[row["response_id"]] = row
    sft, dpo, dropped = [], [], Counter()
    for rid, row in latest.items():
        prompt = conversation(row["messages"])
        if prompt is None:
            dropped["conversation has tool turns or no final user message"] += 1
            continue
        answer, preferred = row["answer"].strip(), (row["preferred"] or "").strip()
        if row["rating"] > 0:
            sft.append({"id": _id("sft", rid), "messages": prompt + [{"role": "assistant", "content": answer}],
                        "source": SOURCE, "topic": TOPIC})
        elif preferred:
            sft.append({"id": _id("sft", rid), "messages": prompt + [{"role": "assistant", "content": preferred}],
                        "source": SOURCE, "topic": TOPIC})
            dpo.append({"id": _id("dpo", rid), "prompt": prompt,
                        "chosen": [{"role": "assistant", "content": preferred}],
                        "rejected": [{"role": "assistant", "content": answer}],
                        "rejected_by": "user_feedback", "source": SOURCE, "topic": TOPIC})
        else:
            dropped["rated down without a preferred answer"] += 1
    return sft, dpo, dropped


def _gate(items: list[dict], check, label: str, dropped: Counter) -> list[dict]:
    valid = []
    for obj in items:
        problem = check(obj)
        if problem:
            dropped[f"{label}: {problem}"] += 1
        else:
            valid.append(obj)
    kept, dups = exact_duplicates([Record(o, label, i + 1) for i, o in enumerate(valid)])
    for reason in dups.values():
        dropped[f"{label}: {reason.split(' of ')[0]}"] += 1
    return [r.data for r in kept]


def load(database_url: str, since: float | None = None) -> list[dict]:
    from server.gateway.store import feedback, open_store, transcripts

    db = open_store(database_url)
    query = (sa.select(feedback.c.response_id, feedback.c.rating, feedback.c.preferred, transcripts.c.messages,
                       transcripts.c.answer)
             .join(transcripts, transcripts.c.response_id == feedback.c.response_id)
             .order_by(feedback.c.created_at, feedback.c.id))
    if since is not None:
        query = query.where(feedback.c.created_at >= since)
    try:
        with db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]
    finally:
        db.dispose()


def _write(path: Path, items: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for obj in items:
            fh.write(json.dumps(obj, ensure_ascii=False, sort_keys=True) + "\n")


def export(database_url: str, out_dir: Path, since: float | None = None) -> dict:
    sft, dpo, dropped = records(load(database_url, since))
    sft = _gate(sft, check_sft, "sft", dropped)
    dpo = _gate(dpo, check_dpo, "dpo", dropped)
    _write(out_dir / "sft.jsonl", sft)
    _write(out_dir / "dpo.jsonl", dpo)
    return {"sft": len(sft), "dpo": len(dpo), "dropped": dict(dropped),
            "sft_path": str(out_dir / "sft.jsonl"), "dpo_path": str(out_dir / "dpo.jsonl")}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.feedback", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    ex = sub.add_parser("export", help="write sft.jsonl and dpo.jsonl from the feedback in the ledger")
    ex.add_argument("--database-url", help="the server's store (default: ALETHEIA_DATABASE_URL, else "
                    "sqlite:///artifacts/gateway.sqlite)")
    ex.add_argument("--out-dir", type=Path, default=Path("artifacts/feedback"))
    ex.add_argument("--since", help="only feedback from this ISO date/datetime or unix seconds on")
    args = p.parse_args(argv)
    from server.gateway.store import StoreUnreachable
    from server.gateway.usage import parse_time

    url = args.database_url
    if not url:
        from server.settings import Settings

        url = Settings().database_url
    try:
        summary = export(url, args.out_dir, parse_time(args.since, "since"))
    except (StoreUnreachable, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""``python -m server keys ...``: manage API keys and export the ledger, on the store the server uses.

    python -m server keys create --owner NAME [--models ID,ID] [--rpm N] [--tpm N] [--max-concurrent N]
                                 [--budget TOKENS/day|TOKENS/month] [--expires DATE] [--database-url URL]
    python -m server keys list [--json]
    python -m server keys update KEY_ID [the limits of create] [--owner NAME]
    python -m server keys revoke KEY_ID
    python -m server keys usage [--group-by key|model|variant|day] [--since T] [--until T] [--format csv|json]
    python -m server keys export [--since T] [--until T] [--format csv|json] [--output FILE]

``create`` prints the new key as the last line of its output (it is shown only this once); every other
command prints the key's record (or the rows) and never a secret. ``none`` clears a limit in ``update``.
Exit status: 0 done, 1 no such key, 2 bad arguments or an unreachable store.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from typing import TextIO

from . import keys as keystore
from . import usage as ledger_usage
from .store import StoreUnreachable, open_store


def _limit(text: str) -> int | None:
    if text.lower() == "none":
        return None
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1 (or 'none')")
    return value


def _add_limits(p: argparse.ArgumentParser, *, update: bool) -> None:
    p.add_argument("--owner", required=not update, help="who the key is for (a person, team or service)")
    p.add_argument("--models", help="comma-separated model ids (or experiment names) it may use; default all")
    p.add_argument("--rpm", type=_limit, help="requests per minute")
    p.add_argument("--tpm", type=_limit, help="tokens per minute (prompt + completion, as the model counts)")
    p.add_argument("--max-concurrent", type=_limit, help="requests running at once")
    p.add_argument("--budget", help="tokens per UTC day or month: TOKENS/day or TOKENS/month")
    p.add_argument("--expires", help="ISO date or datetime (UTC unless it says otherwise)")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m server keys", description="API keys and the usage ledger.")
    p.add_argument("--database-url", help="default: ALETHEIA_DATABASE_URL, else sqlite:///artifacts/gateway.sqlite")
    sub = p.add_subparsers(dest="command", required=True)
    create = sub.add_parser("create", help="make a key (printed once, as the last line)")
    _add_limits(create, update=False)
    lst = sub.add_parser("list", help="every key with its limits and state")
    lst.add_argument("--json", action="store_true")
    update = sub.add_parser("update", help="change a key's owner, scopes or limits")
    update.add_argument("key_id")
    _add_limits(update, update=True)
    revoke = sub.add_parser("revoke", help="stop a key from working (kept in the ledger)")
    revoke.add_argument("key_id")
    for name, helptext in (("usage", "usage grouped by key, model, variant or day"),
                           ("export", "every ledger row")):
        q = sub.add_parser(name, help=helptext)
        if name == "usage":
            q.add_argument("--group-by", choices=sorted(ledger_usage.GROUPS), default="key")
        q.add_argument("--since", help="ISO date/datetime or unix seconds")
        q.add_argument("--until", help="ISO date/datetime or unix seconds")
        q.add_argument("--format", choices=["csv", "json"], default="csv")
        q.add_argument("--output", help="a file (default: standard output)")
    for sp in sub.choices.values():  # --database-url is accepted after the command too
        sp.add_argument("--database-url", dest="database_url_sub", help=argparse.SUPPRESS)
    return p


def _limits(args: argparse.Namespace, given: set[str]) -> dict:
    out: dict = {}
    if "models" in given:
        out["models"] = [m.strip() for m in (args.models or "").split(",") if m.strip() and m != "none"]
    for name in ("rpm", "tpm", "max_concurrent"):
        if name in given:
            out[name] = getattr(args, name)
    if "budget" in given:
        tokens, period = (None, None) if args.budget.lower() == "none" else keystore.parse_budget(args.budget)
        out.update(budget_tokens=tokens, budget_period=period)
    if "expires" in given:
        out["expires_at"] = None if args.expires.lower() == "none" else keystore.parse_expiry(args.expires)
    if "owner" in given:
        out["owner"] = args.owner
    return out


def _show(key: keystore.ApiKey, out: TextIO) -> None:
    d = key.public()
    models = ",".join(d["models"]) or "all"
    print(f"{d['id']}  owner={d['owner']}  prefix={d['prefix']}  state={d['state']}  models={models}  "
          f"rpm={d['rpm']}  tpm={d['tpm']}  max_concurrent={d['max_concurrent']}  budget={d['budget']}  "
          f"expires={d['expires_at']}", file=out)


def _write_rows(rows: list[dict], fmt: str, out: TextIO) -> None:
    if fmt == "json":
        json.dump(rows, out, indent=1, default=str)
        out.write("\n")
        return
    if not rows:
        return
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    given = {a.lstrip("-").split("=")[0].replace("-", "_") for a in (argv or sys.argv[1:]) if a.startswith("--")}
    url = args.database_url_sub or args.database_url
    if not url:
        from ..settings import Settings

        url = Settings().database_url
    try:
        db = open_store(url)
    except StoreUnreachable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = sys.stdout
    try:
        if args.command == "create":
            secret, key = keystore.create_key(db, args.owner, **_limits(args, given - {"owner"}))
            _show(key, out)
            print("The key is shown only this once; store it now:", file=out)
            print(secret, file=out)
        elif args.command == "list":
            found = keystore.list_keys(db)
            if args.json:
                json.dump([k.public() for k in found], out, indent=1)
                out.write("\n")
            for key in found if not args.json else []:
                _show(key, out)
        elif args.command == "update":
            _show(keystore.update_key(db, args.key_id, **_limits(args, given)), out)
        elif args.command == "revoke":
            _show(keystore.revoke_key(db, args.key_id), out)
        else:
            since = ledger_usage.parse_time(args.since, "since")
            until = ledger_usage.parse_time(args.until, "until")
            rows = (ledger_usage.usage(db, args.group_by, since, until) if args.command == "usage"
                    else ledger_usage.rows(db, since, until))
            if args.output:
                with open(args.output, "w", newline="", encoding="utf-8") as fh:
                    _write_rows(rows, args.format, fh)
                print(f"{len(rows)} rows written to {args.output}", file=sys.stderr)
            else:
                _write_rows(rows, args.format, out)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    return 0

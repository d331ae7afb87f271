"""The gateway's tables (keys, ledger, transcripts, feedback) in SQLAlchemy Core, on SQLite or PostgreSQL.

One ``--database-url`` names the store for the server and the CLI alike. SQLite runs in WAL mode with
``synchronous=NORMAL``: a committed row survives ``kill -9`` of the server (not a power cut). PostgreSQL is
reached through psycopg 3 (``postgresql://`` URLs are given to SQLAlchemy as ``postgresql+psycopg://``).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DEFAULT_DATABASE_URL = "sqlite:///artifacts/gateway.sqlite"

metadata = sa.MetaData()

api_keys = sa.Table(
    "gateway_api_keys", metadata,
    sa.Column("id", sa.String(40), primary_key=True),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("models", sa.Text, nullable=False, default=""),  # comma-separated model ids; "" = all
    sa.Column("rpm", sa.Integer),
    sa.Column("tpm", sa.Integer),
    sa.Column("max_concurrent", sa.Integer),
    sa.Column("budget_tokens", sa.BigInteger),
    sa.Column("budget_period", sa.String(8)),  # day | month
    sa.Column("expires_at", sa.Float),  # unix seconds
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("revoked_at", sa.Float),
)

ledger = sa.Table(
    "gateway_ledger", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(140), nullable=False),
    sa.Column("response_id", sa.String(140)),
    sa.Column("created_at", sa.Float, nullable=False, index=True),
    sa.Column("day", sa.String(10), nullable=False),  # UTC YYYY-MM-DD, so group_by=day is portable SQL
    sa.Column("key_id", sa.String(40), index=True),  # "admin" for the admin key, NULL on an open server
    sa.Column("owner", sa.String(200)),
    sa.Column("endpoint", sa.String(64), nullable=False),
    sa.Column("model", sa.String(200)),  # the name the client asked for (an experiment's name included)
    sa.Column("served_model", sa.String(200)),  # the model id that answered
    sa.Column("experiment", sa.String(200)),
    sa.Column("variant", sa.String(200)),
    sa.Column("user", sa.String(200)),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("cached_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("completion_tokens", sa.Integer, nullable=False, default=0),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("ttft_ms", sa.Float),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("finish_reason", sa.String(40)),
    sa.Column("client_disconnected", sa.Boolean, nullable=False, default=False),
)

transcripts = sa.Table(
    "gateway_transcripts", metadata,
    sa.Column("response_id", sa.String(140), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("model", sa.String(200)),
    sa.Column("messages", sa.JSON, nullable=False),  # the request's chat messages
    sa.Column("answer", sa.Text, nullable=False),  # the first choice's text
)

feedback = sa.Table(
    "gateway_feedback", metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("response_id", sa.String(140), nullable=False, index=True),
    sa.Column("rating", sa.Integer, nullable=False),  # +1 thumbs up, -1 thumbs down
    sa.Column("comment", sa.Text),
    sa.Column("preferred", sa.Text),  # the answer the user would have wanted
    sa.Column("key_id", sa.String(40)),
    sa.Column("created_at", sa.Float, nullable=False),
)


def normalise_url(url: str) -> str:
    for plain in ("postgresql://", "postgres://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url[len(plain):]
    return url


def open_store(url: str = DEFAULT_DATABASE_URL) -> Engine:
    """An engine on ``url`` with the gateway's tables created (idempotent)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = sa.engine.make_url(url).database
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
    else:
        engine = sa.create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)
    try:
        metadata.create_all(engine)
    except sa.exc.OperationalError as exc:
        raise StoreUnreachable(f"cannot open the gateway database {engine.url.render_as_string()}: "
                               f"{exc.orig}") from None
    return engine


class StoreUnreachable(RuntimeError):
    """The database named by --database-url cannot be opened."""

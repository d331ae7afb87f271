"""The usage ledger's writer: rows are written in batches by one thread, off the event loop (group commit).

``await writer.write(table, row)`` returns once the row's batch is committed: a response counts as finished
only when its ledger row is durable, so ``kill -9`` of the server loses at most the requests in flight, while
concurrent requests share one transaction (one fsync) between them.

The writer keeps one connection. On PostgreSQL it commits with ``synchronous_commit = off``: a commit is in
the database server's memory when it returns and on its disk within ~0.6 s (3 x ``wal_writer_delay``), so
``kill -9`` of *this* server loses nothing committed, and only a crash of the PostgreSQL machine itself could
lose the last fraction of a second; it saves a disk flush per request.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections import defaultdict

import sqlalchemy as sa
from sqlalchemy.engine import Engine

log = logging.getLogger("server.gateway")

MAX_BATCH = 512


class LedgerWriter:
    def __init__(self, db: Engine) -> None:
        self.db = db
        self._queue: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="ledger-writer", daemon=True)
        self._thread.start()
        self.written = 0

    async def write(self, table: sa.Table, row: dict) -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        self._queue.put((table, row, loop, done))
        await asyncio.shield(done)

    def write_nowait(self, table: sa.Table, row: dict) -> None:
        """Queue a row without waiting for its commit (a request being cancelled cannot wait)."""
        self._queue.put((table, row, None, None))

    def _connection(self):
        conn = self.db.connect()
        if self.db.dialect.name == "postgresql":
            conn.exec_driver_sql("SET synchronous_commit = off")
            conn.commit()
        return conn

    def _run(self) -> None:
        self._conn = None
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list) -> None:
        by_table: dict[sa.Table, list[dict]] = defaultdict(list)
        for table, row, _, _ in batch:
            by_table[table].append(row)
        error: BaseException | None = None
        for attempt in range(3):
            try:
                if self._conn is None:
                    self._conn = self._connection()
                with self._conn.begin():
                    for table, rows in by_table.items():
                        self._conn.execute(table.insert(), rows)
                error = None
                break
            except Exception as exc:  # noqa: BLE001 - retried on a new connection, then reported to every waiter
                error = exc
                log.warning("ledger write failed (attempt %d): %s", attempt + 1, exc)
                if self._conn is not None:
                    try:
                        self._conn.close()
                    except Exception:  # noqa: BLE001 - the connection is being replaced anyway
                        pass
                    self._conn = None
        if error is None:
            self.written += len(batch)
        else:
            log.error("ledger rows lost after 3 attempts: %d rows", len(batch))
        for _, _, loop, done in batch:
            if loop is not None:
                loop.call_soon_threadsafe(_resolve, done, error)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)
        if getattr(self, "_conn", None) is not None:
            self._conn.close()


def _resolve(done: asyncio.Future, error: BaseException | None) -> None:
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)

"""What the gateway costs per request (auth + limits + ledger): the same server with and without it, in one
run, with SQLite and with PostgreSQL + Redis.

    .venv/bin/python benchmarks/gateway_overhead.py [--rounds 4] [--concurrency 64] [--serial 30]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0] [--out FILE]

Three servers on the bundled model run side by side: ``--database-url none`` (no gateway: the one shared
``--api-key``, no ledger), the gateway on SQLite (WAL), and the gateway on PostgreSQL + Redis (a database
made for the run and dropped after). The gateway servers are called with a key that has rpm, tpm,
concurrency and budget limits (set high enough never to refuse), so every limit is checked and settled.
Each round sends ``--concurrency`` chat requests with ``max_tokens: 1`` at once to each server in turn
(servers alternate so drifting load hits all alike); then ``--serial`` requests one at a time isolate the
per-request cost from queueing. Reported: p50/p99 latency and its difference to the no-gateway server,
throughput ratio, and whether every request has its ledger row. Goal (issue 16): under 2 ms added at p50
and no lost rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.process import ServerProcess  # noqa: E402 (after the sys.path line)

ADMIN = "bench-admin"
BODY = {"model": "aletheia-base", "messages": [{"role": "user", "content": "Say ok."}], "max_tokens": 1,
        "temperature": 0}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


async def burst(url: str, key: str, n: int) -> tuple[list[float], float, int]:
    limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}, limits=limits,
                                 timeout=300) as client:
        async def one() -> tuple[float, int]:
            t0 = time.perf_counter()
            r = await client.post("/v1/chat/completions", json=BODY)
            return time.perf_counter() - t0, r.status_code

        await client.get("/health")
        t0 = time.perf_counter()
        results = await asyncio.gather(*(one() for _ in range(n)))
        wall = time.perf_counter() - t0
    return [r[0] * 1000 for r in results], wall, sum(1 for r in results if r[1] != 200)


def serial(url: str, key: str, n: int) -> list[float]:
    out = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=300) as client:
        client.post("/v1/chat/completions", json=BODY)  # warm the connection
        for _ in range(n):
            t0 = time.perf_counter()
            client.post("/v1/chat/completions", json=BODY).raise_for_status()
            out.append((time.perf_counter() - t0) * 1000)
    return out


def make_key(url: str) -> str:
    r = httpx.post(f"{url}/v1/admin/keys", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60,
                   json={"owner": "bench", "rpm": 1_000_000, "tpm": 100_000_000, "max_concurrent": 10_000,
                         "budget": "1000000000/day"})
    r.raise_for_status()
    return r.json()["key"]


def ledger_count(database_url: str) -> int:
    import sqlalchemy as sa

    db = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with db.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM gateway_ledger WHERE owner = 'bench'")).scalar_one()
    db.dispose()
    return int(n)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--serial", type=int, default=30)
    ap.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    ap.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", help="write the figures as JSON here too")
    args = ap.parse_args()

    import psycopg

    pg_name = f"aletheia_gw_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.postgres, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{pg_name}"')
    pg_url = f"{args.postgres.rsplit('/', 1)[0]}/{pg_name}"
    tmp = Path(tempfile.mkdtemp(prefix="gateway-bench-"))
    sqlite_url = f"sqlite:///{tmp / 'ledger.sqlite'}"
    common = ["--api-key", ADMIN, "--parallel", "8", "--threads", str(args.threads), "--ctx-size", "512",
              "--queue-size", str(args.concurrency * 2), "--models-dir", str(tmp)]
    setups = {"none": ["--database-url", "none"], "sqlite": ["--database-url", sqlite_url],
              "postgres+redis": ["--database-url", pg_url, "--redis-url", args.redis]}
    servers = {name: ServerProcess(extra_args=common + extra, log_path=tmp / f"{name}.log")
               for name, extra in setups.items()}
    try:
        for srv in servers.values():
            srv.start()
        keys = {"none": ADMIN, **{name: make_key(servers[name].url) for name in ("sqlite", "postgres+redis")}}
        lat: dict[str, list[float]] = {n: [] for n in servers}
        walls: dict[str, float] = {n: 0.0 for n in servers}
        errors: dict[str, int] = {n: 0 for n in servers}
        sent: dict[str, int] = {n: 0 for n in servers}
        asyncio.run(burst(servers["none"].url, ADMIN, 8))  # warm-up
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for name in order:
                values, wall, errs = asyncio.run(burst(servers[name].url, keys[name], args.concurrency))
                lat[name] += values
                walls[name] += wall
                errors[name] += errs
                sent[name] += args.concurrency
                time.sleep(0.5)
        ser: dict[str, list[float]] = {n: [] for n in servers}
        for _ in range(2):
            for name in servers:
                ser[name] += serial(servers[name].url, keys[name], args.serial // 2)
                sent[name] += args.serial // 2 + 1
        figures = {}
        for name in servers:
            rps = sent[name] and (args.rounds * args.concurrency) / walls[name]
            figures[name] = {
                "concurrent_p50_ms": pct(lat[name], 0.5), "concurrent_p99_ms": pct(lat[name], 0.99),
                "serial_p50_ms": statistics.median(ser[name]), "serial_p99_ms": pct(ser[name], 0.99),
                "requests_per_s": rps, "errors": errors[name],
            }
        base = figures["none"]
        for name in ("sqlite", "postgres+redis"):
            f = figures[name]
            f["added_concurrent_p50_ms"] = f["concurrent_p50_ms"] - base["concurrent_p50_ms"]
            f["added_concurrent_p99_ms"] = f["concurrent_p99_ms"] - base["concurrent_p99_ms"]
            f["added_serial_p50_ms"] = f["serial_p50_ms"] - base["serial_p50_ms"]
            f["added_serial_p99_ms"] = f["serial_p99_ms"] - base["serial_p99_ms"]
            f["throughput_ratio"] = f["requests_per_s"] / base["requests_per_s"]
            url = sqlite_url if name == "sqlite" else pg_url
            f["ledger_rows"], f["requests_sent"] = ledger_count(url), sent[name]
            f["lost_rows"] = sent[name] - f["ledger_rows"]
    finally:
        for srv in servers.values():
            srv.stop()
        with psycopg.connect(args.postgres, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    print(f"{args.rounds} rounds x {args.concurrency} concurrent requests (max_tokens 1) + {args.serial} serial, "
          "per server; times in ms")
    cols = ["concurrent_p50_ms", "concurrent_p99_ms", "serial_p50_ms", "serial_p99_ms", "requests_per_s"]
    print(f"{'server':16}" + "".join(f"{c:>20}" for c in cols))
    for name, f in figures.items():
        print(f"{name:16}" + "".join(f"{f[c]:>20.2f}" for c in cols))
    for name in ("sqlite", "postgres+redis"):
        f = figures[name]
        print(f"{name}: added p50 {f['added_serial_p50_ms']:+.2f} ms serial / {f['added_concurrent_p50_ms']:+.2f} ms "
              f"at {args.concurrency}; added p99 {f['added_serial_p99_ms']:+.2f} / {f['added_concurrent_p99_ms']:+.2f}"
              f" ms; throughput x{f['throughput_ratio']:.3f}; ledger rows {f['ledger_rows']}/{f['requests_sent']} "
              f"(lost {f['lost_rows']})")
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What the gateway costs per request (auth + limits + ledger): the same server with and without it, in one
run, with SQLite and with PostgreSQL + Redis.

    .venv/bin/python benchmarks/gateway_overhead.py [--rounds 2] [--concurrency 64] [--serial 30]
        [--isolated-rounds 10] [--postgres postgresql://postgres@127.0.0.1:5432/test]
        [--redis redis://127.0.0.1:6379/0] [--out FILE]

Two parts. **Isolated** (in-process): the FastAPI app itself, driven through httpx's ASGI transport, on an
engine that answers one token at once (no model), so the only difference between the three set-ups is the
gateway; this is the figure to compare with the goal, since on a shared 2-core machine the model's own time
varies by more than the gateway costs. **End to end**: three servers on the bundled model run side by side:
``--database-url none`` (no gateway: the one shared ``--api-key``, no ledger), the gateway on SQLite (WAL), and
the gateway on PostgreSQL + Redis (a database made for the run and dropped after). The gateway servers are
called with a key that has rpm, tpm, concurrency and budget limits (set high enough never to refuse), so every
limit is checked and settled. Both parts use these three set-ups. Each round sends ``--concurrency`` chat
requests with ``max_tokens: 1`` at once to each server in turn (servers alternate so drifting load hits all
alike); then ``--serial`` requests one at a time isolate the per-request cost from queueing. Reported: p50/p99
latency and its difference to the no-gateway server, throughput ratio, and whether every request has its ledger
row. Goal (issue 16): under 2 ms added at p50 and no lost rows.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.app import create_app  # noqa: E402 (after the sys.path line)
from server.engines.base import Engine, GenerationRequest, TokenOutput  # noqa: E402
from server.process import ServerProcess  # noqa: E402
from server.registry import ModelRegistry, ModelSpec, bundled_model_path  # noqa: E402
from server.settings import Settings  # noqa: E402

ADMIN = "bench-admin"
BODY = {"model": "aletheia-base", "messages": [{"role": "user", "content": "Say ok."}], "max_tokens": 1,
        "temperature": 0}


class InstantEngine(Engine):
    """One token at once, bytes as tokens: an engine that costs (almost) nothing, to isolate the gateway."""

    model_path, n_ctx, n_parallel = "instant", 512, 64
    chat_template = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}assistant:"
    special_tokens = {"bos_token": "", "eos_token": ""}

    def tokenize(self, text: str, *, add_special: bool = True) -> list[int]:
        return list(text.encode())

    def token_bytes(self, token: int) -> bytes:
        return bytes([token % 256])

    def detokenize(self, tokens: list[int]) -> str:
        return bytes(t % 256 for t in tokens).decode("utf-8", "replace")

    def generate(self, request: GenerationRequest):
        async def stream():
            for i in range(request.n):
                yield TokenOutput(index=i, token=111, text="o", finish_reason="length")

        return stream()

    async def embed(self, inputs):
        return [[0.0] for _ in inputs]

    def stats(self) -> dict[str, int]:
        return {"running": 0, "waiting": 0, "slots": self.n_parallel}


async def isolated(setups: dict[str, dict], rounds: int, concurrency: int, serial_n: int) -> dict[str, dict]:
    """Each set-up's app in this process on the instant engine: latencies of concurrent bursts and of
    serial requests, set-ups interleaved request by request (serial) and burst by burst."""
    apps, clients, keys = {}, {}, {}
    for name, extra in setups.items():
        settings = Settings(api_key=ADMIN, **extra)
        registry = ModelRegistry([ModelSpec(id="aletheia-base", path=bundled_model_path(), created=0)],
                                 lambda spec: InstantEngine())
        registry.load()
        apps[name] = app = create_app(settings, registry)
        clients[name] = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                          timeout=300)
        key = ADMIN
        if name != "none":
            r = await clients[name].post("/v1/admin/keys", headers={"Authorization": f"Bearer {ADMIN}"}, json={
                "owner": "bench", "rpm": 1_000_000, "tpm": 100_000_000, "max_concurrent": 10_000,
                "budget": "1000000000/day"})
            key = r.json()["key"]
        keys[name] = {"Authorization": f"Bearer {key}"}

    async def one(name: str) -> float:
        t0 = time.perf_counter()
        r = await clients[name].post("/v1/chat/completions", json=BODY, headers=keys[name])
        r.raise_for_status()
        return (time.perf_counter() - t0) * 1000

    out = {n: {"burst": [], "serial": [], "wall": 0.0, "sent": 0} for n in setups}
    for name in setups:  # warm-up
        await asyncio.gather(*(one(name) for _ in range(8)))
        out[name]["sent"] += 8
    for r in range(rounds):
        for name in (list(setups) if r % 2 == 0 else list(reversed(setups))):
            t0 = time.perf_counter()
            out[name]["burst"] += await asyncio.gather(*(one(name) for _ in range(concurrency)))
            out[name]["wall"] += time.perf_counter() - t0
            out[name]["sent"] += concurrency
    for _ in range(serial_n):
        for name in setups:
            out[name]["serial"].append(await one(name))
            out[name]["sent"] += 1
    for name in setups:
        await clients[name].aclose()
        gateway = getattr(apps[name].state, "gateway", None)
        if gateway is not None:
            await gateway.close()
        apps[name].state.server.registry.close()
    figures = {}
    for name, o in out.items():
        figures[name] = {"concurrent_p50_ms": pct(o["burst"], 0.5), "concurrent_p99_ms": pct(o["burst"], 0.99),
                         "serial_p50_ms": pct(o["serial"], 0.5), "serial_p99_ms": pct(o["serial"], 0.99),
                         "requests_per_s": rounds * concurrency / o["wall"], "sent": o["sent"]}
    return figures


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
                   json={"owner": "bench-e2e", "rpm": 1_000_000, "tpm": 100_000_000, "max_concurrent": 10_000,
                         "budget": "1000000000/day"})
    r.raise_for_status()
    return r.json()["key"]


def ledger_count(database_url: str, owner: str) -> int:
    import sqlalchemy as sa

    db = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with db.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM gateway_ledger WHERE owner = :o"), {"o": owner}).scalar_one()
    db.dispose()
    return int(n)


def end_to_end(setups: dict[str, list[str]], tmp: Path, args) -> dict[str, dict]:
    common = ["--api-key", ADMIN, "--parallel", "8", "--threads", str(args.threads), "--ctx-size", "512",
              "--queue-size", str(args.concurrency * 2), "--models-dir", str(tmp)]
    servers = {name: ServerProcess(extra_args=common + extra, log_path=tmp / f"{name}.log")
               for name, extra in setups.items()}
    try:
        for srv in servers.values():
            srv.start()
        keys = {name: ADMIN if name == "none" else make_key(srv.url) for name, srv in servers.items()}
        lat: dict[str, list[float]] = {n: [] for n in servers}
        walls = dict.fromkeys(servers, 0.0)
        errors = dict.fromkeys(servers, 0)
        sent = dict.fromkeys(servers, 0)
        asyncio.run(burst(servers["none"].url, ADMIN, 8))  # warm-up
        for r in range(args.rounds):
            for name in list(servers) if r % 2 == 0 else list(reversed(servers)):
                values, wall, errs = asyncio.run(burst(servers[name].url, keys[name], args.concurrency))
                lat[name] += values
                walls[name] += wall
                errors[name] += errs
                sent[name] += args.concurrency
                time.sleep(0.5)
        ser: dict[str, list[float]] = {n: [] for n in servers}
        for _ in range(2):
            for name, srv in servers.items():
                ser[name] += serial(srv.url, keys[name], args.serial // 2)
                sent[name] += args.serial // 2 + 1
    finally:
        for srv in servers.values():
            srv.stop()
    return {name: {"concurrent_p50_ms": pct(lat[name], 0.5), "concurrent_p99_ms": pct(lat[name], 0.99),
                   "serial_p50_ms": statistics.median(ser[name]), "serial_p99_ms": pct(ser[name], 0.99),
                   "requests_per_s": args.rounds * args.concurrency / walls[name], "errors": errors[name],
                   "sent": sent[name]} for name in servers}


def compare(figures: dict[str, dict], urls: dict[str, str], owner: str) -> None:
    base = figures["none"]
    for name, url in urls.items():
        f = figures[name]
        for k in ("concurrent_p50_ms", "concurrent_p99_ms", "serial_p50_ms", "serial_p99_ms"):
            f["added_" + k] = f[k] - base[k]
        f["throughput_ratio"] = f["requests_per_s"] / base["requests_per_s"]
        f["ledger_rows"] = ledger_count(url, owner)
        f["lost_rows"] = f["sent"] - f["ledger_rows"]


def report(title: str, figures: dict[str, dict], concurrency: int) -> None:
    print(title)
    cols = ["concurrent_p50_ms", "concurrent_p99_ms", "serial_p50_ms", "serial_p99_ms", "requests_per_s"]
    print(f"{'':16}" + "".join(f"{c:>20}" for c in cols))
    for name, f in figures.items():
        print(f"{name:16}" + "".join(f"{f[c]:>20.2f}" for c in cols))
    for name, f in figures.items():
        if name == "none":
            continue
        print(f"  {name}: added p50 {f['added_serial_p50_ms']:+.2f} ms serial, {f['added_concurrent_p50_ms']:+.2f} ms "
              f"at {concurrency} concurrent; added p99 {f['added_serial_p99_ms']:+.2f} / "
              f"{f['added_concurrent_p99_ms']:+.2f} ms; throughput x{f['throughput_ratio']:.3f}; "
              f"ledger rows {f['ledger_rows']}/{f['sent']} (lost {f['lost_rows']})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2, help="end-to-end bursts per server (0: skip that part)")
    ap.add_argument("--isolated-rounds", type=int, default=10, help="in-process bursts per set-up")
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
    urls = {"sqlite": f"sqlite:///{tmp / 'ledger.sqlite'}", "postgres+redis": pg_url}
    results: dict = {"load_average_at_start": os.getloadavg()}
    print(f"machine: {os.cpu_count()} CPUs, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())} at start "
          "(figures taken under load vary by more than the gateway costs; compare runs on a quiet machine)")
    try:
        iso = asyncio.run(isolated({"none": {"database_url": "none"}, "sqlite": {"database_url": urls["sqlite"]},
                                    "postgres+redis": {"database_url": pg_url, "redis_url": args.redis}},
                                   args.isolated_rounds, args.concurrency, args.serial))
        compare(iso, urls, "bench")
        results["isolated"] = iso
        report(f"Isolated (in-process app, instant engine): {args.isolated_rounds} x {args.concurrency} concurrent "
               f"+ {args.serial} serial requests per set-up; ms", iso, args.concurrency)
        if args.rounds:
            e2e = end_to_end({"none": ["--database-url", "none"], "sqlite": ["--database-url", urls["sqlite"]],
                              "postgres+redis": ["--database-url", pg_url, "--redis-url", args.redis]}, tmp, args)
            compare(e2e, urls, "bench-e2e")
            results["end_to_end"] = e2e
            report(f"End to end (servers on the bundled model, max_tokens 1): {args.rounds} x {args.concurrency} "
                   f"concurrent + {args.serial} serial requests per server; ms", e2e, args.concurrency)
    finally:
        with psycopg.connect(args.postgres, autocommit=True, connect_timeout=5) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
    results["load_average_at_end"] = os.getloadavg()
    print(f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

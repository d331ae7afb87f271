"""Load with faults, and does the server slow down after it? One stream's decode speed on a fresh server, then
``--seconds`` of mixed load with clients that hang up at random points, then the stream again (a ratio).
After the load: every request the clients did not abandon got a complete answer, running and waiting are 0,
and the server's descriptors, threads and memory are compared with before (``fault_soak``; a short run of it
is tests/server/test_soak.py).

    .venv/bin/python benchmarks/soak.py [--seconds 300] [--concurrency 8] [--gguf PATH]

The mixed load (closed loop, ``--concurrency`` clients) cycles through: chats that share long system
prompts (prefix reuse across slots), long prompts near the context, n=2, JSON mode, tool calls, legacy
completions with echo + logprobs, full streams, streams left at a random point, and non-streamed requests
whose client gives up after a random delay. The single-stream probe is
serve_overhead's raw SSE client (median of ``--repeats``), with a pause before it so llama.cpp's worker
threads are idle. A ratio near 1.0 means no state the engine keeps between requests (cached prefixes, KV
cells, samplers) makes later requests slower.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import random
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx
from openai import APITimeoutError, AsyncOpenAI
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from serve_overhead import prompt, run_http  # noqa: E402

from aletheia.models import bundled_gguf  # noqa: E402
from server.process import ServerProcess  # noqa: E402

MODEL = "aletheia-base"
SYSTEMS = [f"You are the on-call assistant of the {team} team. " + "Answer with the exact commands to run. " * n
           for team, n in (("storage", 20), ("network", 40), ("payments", 60))]
QUESTIONS = ["Why is my pod in CrashLoopBackOff?", "How do I find what fills /var?", "Explain TCP TIME_WAIT.",
             "What does fsync guarantee?", "How do I read a Go panic trace?", "Why is nginx returning 502?"]
TOOLS = [{"type": "function", "function": {
    "name": "run_command", "description": "Run a shell command on the host",
    "parameters": {"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]}}}]


class Abandoned(Exception):
    """The client hung up on purpose (a fault the soak injects): not counted as an error."""


async def one_request(client: AsyncOpenAI, kind: str, i: int, rng: random.Random) -> None:
    """One request of ``kind``; raises if the answer is incomplete, ``Abandoned`` when it hangs up on purpose."""
    q = QUESTIONS[i % len(QUESTIONS)]
    chat = client.chat.completions.create
    if kind == "shared_system":
        r = await chat(model=MODEL, max_tokens=48, messages=[
            {"role": "system", "content": SYSTEMS[i % len(SYSTEMS)]}, {"role": "user", "content": q}])
    elif kind == "long_prompt":
        r = await chat(model=MODEL, max_tokens=32, messages=[
            {"role": "user", "content": f"Log line {i}: worker restarted after OOM. " * 120 + q}])
    elif kind == "n2":
        r = await chat(model=MODEL, max_tokens=32, n=2, temperature=0.8, seed=i, messages=[{"role": "user", "content": q}])
    elif kind == "json":
        r = await chat(model=MODEL, max_tokens=64, response_format={"type": "json_object"},
                       messages=[{"role": "user", "content": f"{q} Answer as JSON."}])
    elif kind == "tools":
        r = await chat(model=MODEL, max_tokens=64, tools=TOOLS, tool_choice="required",
                       messages=[{"role": "user", "content": q}])
    elif kind == "echo_logprobs":
        r = await client.completions.create(model=MODEL, prompt=f"{q}\n", max_tokens=1, echo=True, logprobs=1)
    elif kind == "stream":
        stream = await chat(model=MODEL, max_tokens=48, stream=True, messages=[{"role": "user", "content": q}])
        finish = None
        async with stream:
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
        if finish is None:
            raise RuntimeError("a stream ended without a finish_reason")
        return
    elif kind == "hang_up":  # a stream left at a random point, from before the first token to mid-answer
        stream = await chat(model=MODEL, max_tokens=64, stream=True, messages=[{"role": "user", "content": q}])
        async with stream:  # leaving the block closes the connection: the server must free the slot
            stop_after = rng.randint(0, 12)
            received = 0
            async for _ in stream:
                if received == stop_after:
                    break
                received += 1
        raise Abandoned()
    elif kind == "give_up":  # a non-streamed request whose client gives up mid-way
        with contextlib.suppress(APITimeoutError):
            await chat(model=MODEL, max_tokens=64, messages=[{"role": "user", "content": q}],
                       timeout=rng.uniform(0.05, 1.5))
        raise Abandoned()
    else:
        raise ValueError(kind)
    if not r.choices or any(c.finish_reason is None for c in r.choices):
        raise RuntimeError(f"an incomplete answer: {r}")


KINDS = ["shared_system", "long_prompt", "n2", "json", "tools", "echo_logprobs", "stream", "hang_up", "give_up"]


@dataclass
class SoakReport:
    requests: dict[str, int] = field(default_factory=dict)  # completed, by kind
    abandoned: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # by exception type
    latencies: list[float] = field(default_factory=list)  # of completed requests, seconds

    def percentile(self, q: float) -> float:
        xs = sorted(self.latencies)
        return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


async def soak(base_url: str, seconds: float, concurrency: int, seed: int = 0) -> SoakReport:
    """``concurrency`` closed-loop clients for ``seconds``, cycling through ``KINDS``."""
    rng = random.Random(seed)
    counter = itertools.count()
    report = SoakReport(requests={k: 0 for k in KINDS})
    deadline = time.monotonic() + seconds

    async def worker(client: AsyncOpenAI) -> None:
        while time.monotonic() < deadline:
            i = next(counter)
            kind = KINDS[i % len(KINDS)]
            started = time.monotonic()
            try:
                await one_request(client, kind, i, rng)
                report.requests[kind] += 1
                report.latencies.append(time.monotonic() - started)
            except Abandoned:
                report.abandoned += 1
            except Exception as exc:  # noqa: BLE001 - a load test counts failures instead of stopping
                name = type(exc).__name__
                report.errors[name] = report.errors.get(name, 0) + 1
                print(f"{kind}: {name}: {exc}"[:300], file=sys.stderr)

    async with AsyncOpenAI(base_url=base_url, api_key="none", timeout=600, max_retries=0) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return report


@dataclass
class ProcessState:
    """What a leak would show in the server process: open descriptors, threads, resident memory."""

    fds: int
    threads: int
    rss_mb: float

    @classmethod
    def of(cls, pid: int) -> ProcessState:
        proc = Path(f"/proc/{pid}")
        rss = next(line for line in (proc / "status").read_text().splitlines() if line.startswith("VmRSS:"))
        return cls(len(list((proc / "fd").iterdir())), len(list((proc / "task").iterdir())),
                   int(rss.split()[1]) / 1024)


def engine_counts(url: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", timeout=30).text
    out = {"running": 0.0, "waiting": 0.0}
    for line in text.splitlines():
        for name in out:
            if line.startswith(f"aletheia_requests_{name}{{"):
                out[name] += float(line.split()[-1])
    return out


async def fault_soak(url: str, pid: int, seconds: float, concurrency: int, seed: int = 0) -> dict:
    """The load with faults, and what it left behind: a short warm-up fills the server's thread pools and
    caches, then the process is measured before and after ``seconds`` of load."""
    await soak(f"{url}/v1", min(5.0, seconds / 4), concurrency, seed + 1)
    await asyncio.sleep(2)
    before = ProcessState.of(pid)
    report = await soak(f"{url}/v1", seconds, concurrency, seed)
    for _ in range(100):  # hung-up requests are reaped at the engine's next step
        counts = engine_counts(url)
        if not any(counts.values()):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2)  # let closed connections finish closing
    after = ProcessState.of(pid)
    return {"requests": report.requests, "completed": sum(report.requests.values()), "abandoned": report.abandoned,
            "errors": report.errors, "p50_s": report.percentile(0.5), "p99_s": report.percentile(0.99),
            "engine_after": counts, "before": asdict(before), "after": asdict(after)}


def probe(client: httpx.Client, url: str, tokens: int, repeats: int) -> float:
    rates = []
    for i in range(repeats):
        time.sleep(1.0)  # llama.cpp's worker threads spin for a while after work: let them settle
        rates.append(run_http(client, url, tokens, prompt(i))[1])
    return statistics.median(rates)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--gguf", type=Path, default=None, help="default: the bundled model")
    ap.add_argument("--seed", type=int, default=0, help="where clients hang up")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    console = Console()
    gguf = args.gguf or bundled_gguf()
    with ServerProcess(models=[f"{MODEL}={gguf}"]) as srv, httpx.Client() as client:
        run_http(client, srv.url, 8, prompt(99))  # warm-up
        fresh = probe(client, srv.url, args.tokens, args.repeats)
        console.print(f"fresh server: {fresh:.1f} tokens/s, one stream")
        faults = asyncio.run(fault_soak(srv.url, srv.proc.pid, args.seconds, args.concurrency, args.seed))
        console.print_json(data=faults)
        after = probe(client, srv.url, args.tokens, args.repeats)
    result = {"fresh_tokens_per_s": fresh, "after_tokens_per_s": after, "ratio": after / fresh,
              "soak_seconds": args.seconds, "faults": faults}
    console.print(f"after the load: {after:.1f} tokens/s, one stream; ratio {result['ratio']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

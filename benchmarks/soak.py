"""Does the server slow down after long mixed use? One stream's decode speed on a fresh server, then again
after ``--seconds`` of mixed load through every engine path, same server, same prompt, as a ratio.

    .venv/bin/python benchmarks/soak.py [--seconds 300] [--concurrency 8] [--gguf PATH]

The mixed load (closed loop, ``--concurrency`` clients) cycles through: chats that share long system
prompts (prefix reuse across slots), long prompts near the context, n=2, JSON mode, tool calls, legacy
completions with echo + logprobs, and clients that hang up after a few tokens. The single-stream probe is
serve_overhead's raw SSE client (median of ``--repeats``), with a pause before it so llama.cpp's worker
threads are idle. A ratio near 1.0 means no state the engine keeps between requests (cached prefixes, KV
cells, samplers) makes later requests slower.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
from openai import AsyncOpenAI
from rich.console import Console
from rich.progress import Progress

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


async def one_request(client: AsyncOpenAI, kind: str, i: int) -> None:
    q = QUESTIONS[i % len(QUESTIONS)]
    chat = client.chat.completions.create
    if kind == "shared_system":
        await chat(model=MODEL, max_tokens=48, messages=[
            {"role": "system", "content": SYSTEMS[i % len(SYSTEMS)]}, {"role": "user", "content": q}])
    elif kind == "long_prompt":
        await chat(model=MODEL, max_tokens=32, messages=[
            {"role": "user", "content": f"Log line {i}: worker restarted after OOM. " * 120 + q}])
    elif kind == "n2":
        await chat(model=MODEL, max_tokens=32, n=2, temperature=0.8, seed=i, messages=[{"role": "user", "content": q}])
    elif kind == "json":
        await chat(model=MODEL, max_tokens=64, response_format={"type": "json_object"},
                   messages=[{"role": "user", "content": f"{q} Answer as JSON."}])
    elif kind == "tools":
        await chat(model=MODEL, max_tokens=64, tools=TOOLS, tool_choice="required",
                   messages=[{"role": "user", "content": q}])
    elif kind == "echo_logprobs":
        await client.completions.create(model=MODEL, prompt=f"{q}\n", max_tokens=1, echo=True, logprobs=1)
    elif kind == "hang_up":
        stream = await chat(model=MODEL, max_tokens=256, stream=True, messages=[{"role": "user", "content": q}])
        async with stream:  # leaving the block closes the connection: the server must free the slot
            received = 0
            async for _ in stream:
                received += 1
                if received == 3:
                    break


KINDS = ["shared_system", "long_prompt", "n2", "json", "tools", "echo_logprobs", "hang_up"]


async def soak(base_url: str, seconds: float, concurrency: int) -> dict[str, int]:
    client = AsyncOpenAI(base_url=base_url, api_key="none", timeout=600, max_retries=0)
    counter = itertools.count()
    done = {k: 0 for k in KINDS} | {"errors": 0}
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < deadline:
            i = next(counter)
            kind = KINDS[i % len(KINDS)]
            try:
                await one_request(client, kind, i)
                done[kind] += 1
            except Exception as exc:  # noqa: BLE001 - a load test counts failures instead of stopping
                done["errors"] += 1
                print(f"{kind}: {type(exc).__name__}: {exc}"[:300], file=sys.stderr)

    with Progress(transient=True) as progress:
        task = progress.add_task(f"mixed load, {concurrency} clients", total=seconds)
        workers = asyncio.gather(*(worker() for _ in range(concurrency)))
        while not workers.done():
            progress.update(task, completed=min(seconds, seconds - (deadline - time.monotonic())))
            await asyncio.sleep(0.5)
        await workers
    await client.close()
    return done


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
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    console = Console()
    gguf = args.gguf or bundled_gguf()
    with ServerProcess(models=[f"{MODEL}={gguf}"]) as srv, httpx.Client() as client:
        run_http(client, srv.url, 8, prompt(99))  # warm-up
        fresh = probe(client, srv.url, args.tokens, args.repeats)
        console.print(f"fresh server: {fresh:.1f} tokens/s, one stream")
        done = asyncio.run(soak(srv.base_url, args.seconds, args.concurrency))
        console.print(f"mixed load for {args.seconds:.0f} s: {done}")
        after = probe(client, srv.url, args.tokens, args.repeats)
    result = {"fresh_tokens_per_s": fresh, "after_tokens_per_s": after, "ratio": after / fresh,
              "soak_seconds": args.seconds, "requests": done}
    console.print(f"after the load: {after:.1f} tokens/s, one stream; ratio {result['ratio']:.3f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

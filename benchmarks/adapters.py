"""What serving a LoRA adapter costs: tokens/s of the adapter model against the base alone, 1 and 8 concurrent
streams, and with base and adapter requests mixed; one server, one run, ratios against the base.

    .venv/bin/python benchmarks/adapters.py [--adapter models/aletheia/adapter.gguf] [--max-tokens 96] [--rounds 2]

The server serves the bundled base and the adapter over it (one llama.cpp context each, sharing the weights
and taking turns in llama_decode). Each request asks its own question (no prefix-cache help); greedy decoding,
``max_tokens`` generated unless the model stops. Throughput is completion tokens over the wall time of a level.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTIONS = [
    "How do I find which process holds a deleted file open?", "What does vm.swappiness change?",
    "Why would a pod stay in CrashLoopBackOff?", "How do I rotate nginx logs without dropping lines?",
    "What is the difference between SIGTERM and SIGKILL?", "How do I read the last boot's journal?",
    "Why is my PostgreSQL autovacuum slow?", "What does TCP keepalive do?", "How do I limit a container's memory?",
    "What is a systemd drop-in?", "Why do DNS lookups time out intermittently?", "How do I trace slow syscalls?",
]


async def level(client, models: list[str], max_tokens: int, offset: int) -> tuple[float, int]:
    async def one(i: int, model: str) -> int:
        q = f"({offset + i}) {QUESTIONS[(offset + i) % len(QUESTIONS)]}"
        r = await client.chat.completions.create(model=model, messages=[{"role": "user", "content": q}],
                                                 temperature=0, max_tokens=max_tokens)
        return r.usage.completion_tokens

    t0 = time.perf_counter()
    tokens = await asyncio.gather(*(one(i, m) for i, m in enumerate(models)))
    return sum(tokens) / (time.perf_counter() - t0), sum(tokens)


async def measure(base_url: str, adapter: str, max_tokens: int, rounds: int) -> list[dict]:
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="none", max_retries=0, timeout=900)
    cases = [("base, 1 stream", ["aletheia-base"]), ("adapter, 1 stream", [adapter]),
             ("base, 8 streams", ["aletheia-base"] * 8), ("adapter, 8 streams", [adapter] * 8),
             ("4 base + 4 adapter", ["aletheia-base", adapter] * 4)]
    rows = {name: [] for name, _ in cases}
    offset = 0
    try:
        await level(client, ["aletheia-base", adapter], 8, 10_000)  # warm-up: both contexts built
        for _ in range(rounds):  # interleaved, so drift on a shared machine hits every case
            for name, models in cases:
                rate, _ = await level(client, models, max_tokens, offset)
                offset += len(models)
                rows[name].append(rate)
    finally:
        await client.close()
    return [{"case": name, "tokens_per_s": sum(v) / len(v)} for name, v in rows.items()]


def main(argv: list[str] | None = None) -> int:
    from server.process import ServerProcess

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--adapter", default=str(ROOT / "models" / "aletheia" / "adapter.gguf"))
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    extra = ["--lora", f"tuned={args.adapter}", "--models-dir", "/nonexistent", "--shipped-models-dir", "/nonexistent"]
    with ServerProcess(extra_args=extra) as srv:
        rows = asyncio.run(measure(srv.base_url, "tuned", args.max_tokens, args.rounds))
    ref = {1: rows[0]["tokens_per_s"], 8: rows[2]["tokens_per_s"]}
    print("| case | tokens/s | vs base at the same concurrency |\n|---|---|---|")
    for r in rows:
        n = 1 if "1 stream" in r["case"] else 8
        print(f"| {r['case']} | {r['tokens_per_s']:.1f} | {r['tokens_per_s'] / ref[n]:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

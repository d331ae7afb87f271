"""What serving over HTTP costs: one greedy generation in-process with llama-cpp-python vs. through our
streaming endpoint, same GGUF, same prompt, measured in one run and reported as ratios.

    .venv/bin/python benchmarks/serve_overhead.py [--tokens 256] [--repeats 5] [--threads 2]

The reference is llama-cpp-python's own high-level ``Llama.create_completion(stream=True)`` in this
process. Our side is ``python -m server`` in a subprocess, read with a raw SSE client (httpx) so the
client's own parsing adds as little as possible; like any real client (the openai SDK included) it keeps
one ``httpx.Client`` and its connection alive across requests. (A new ``httpx.Client`` per request builds
an SSL context first, 10-20 ms here, which is the client's cost, not the server's.) Runs alternate (reference, ours, reference, ...) so
drifting machine load hits both alike, with a pause between them (llama.cpp's worker threads spin-wait
for a moment after work, which would otherwise slow whichever side runs next); medians are reported. Targets (issue 2): throughput through HTTP
>= 0.95x in-process, time-to-first-token overhead <= 10 ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from server.process import ServerProcess  # noqa: E402
from server.registry import bundled_model_path  # noqa: E402

PROMPT = "A numbered list of 60 useful Linux commands for on-call engineers, one per line:\n1."


TEAMS = ["Payments", "Search", "Billing", "Storage", "Identity", "Messaging", "Analytics", "Checkout", "Mobile",
         "Platform", "Security", "Network"]


def prompt(i: int) -> str:
    """A different prompt per run from its first word on: our server's prefix cache must not serve it."""
    return f"{TEAMS[i % len(TEAMS)]} team. {PROMPT}"


def run_in_process(llm, tokens: int, text: str) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    first, n = None, 0
    for _ in llm.create_completion(text, max_tokens=tokens, temperature=0.0, stream=True):
        n += 1
        if first is None:
            first = time.perf_counter()
    end = time.perf_counter()
    return first - t0, (n - 1) / (end - first), n


def run_http(client: httpx.Client, url: str, tokens: int, text: str) -> tuple[float, float, int]:
    body = {"model": "aletheia-base", "prompt": text, "max_tokens": tokens, "temperature": 0, "stream": True}
    t0 = time.perf_counter()
    first, n = None, 0
    with client.stream("POST", f"{url}/v1/completions", json=body, timeout=300) as r:
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            choice = json.loads(line[6:])["choices"][0]
            if choice.get("text"):
                n += 1
                if first is None:
                    first = time.perf_counter()
    end = time.perf_counter()
    return first - t0, (n - 1) / (end - first), n


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tokens", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    from llama_cpp import Llama

    console = Console()
    llm = Llama(str(bundled_model_path()), n_ctx=2048, n_threads=args.threads, n_threads_batch=args.threads,
                verbose=False)
    ref, ours = [], []
    with ServerProcess(extra_args=["--threads", str(args.threads)]) as srv, httpx.Client() as client:
        # warm both up (and open the client's connection)
        run_in_process(llm, 8, prompt(len(TEAMS) - 1)), run_http(client, srv.url, 8, prompt(len(TEAMS) - 1))
        for i in range(args.repeats):
            llm.reset()  # no prompt cache reuse: both sides evaluate the whole prompt every time
            ref.append(run_in_process(llm, args.tokens, prompt(i)))
            time.sleep(1.0)  # llama.cpp's worker threads spin for a while after work: let them settle
            ours.append(run_http(client, srv.url, args.tokens, prompt(i)))
            time.sleep(1.0)

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    result = {
        "tokens": [med(ref, 2), med(ours, 2)],
        "in_process": {"ttft_ms": med(ref, 0) * 1000, "tokens_per_s": med(ref, 1)},
        "http": {"ttft_ms": med(ours, 0) * 1000, "tokens_per_s": med(ours, 1)},
    }
    result["throughput_ratio"] = result["http"]["tokens_per_s"] / result["in_process"]["tokens_per_s"]
    result["ttft_overhead_ms"] = result["http"]["ttft_ms"] - result["in_process"]["ttft_ms"]

    table = Table(title=f"{args.tokens}-token greedy generation, median of {args.repeats}")
    for col in ("", "TTFT (ms)", "decode tokens/s", "tokens"):
        table.add_column(col, justify="right")
    table.add_row("llama-cpp-python in-process", f"{result['in_process']['ttft_ms']:.1f}",
                  f"{result['in_process']['tokens_per_s']:.1f}", f"{med(ref, 2):.0f}")
    table.add_row("our server over HTTP (SSE)", f"{result['http']['ttft_ms']:.1f}",
                  f"{result['http']['tokens_per_s']:.1f}", f"{med(ours, 2):.0f}")
    console.print(table)
    ok_tp, ok_ttft = result["throughput_ratio"] >= 0.95, result["ttft_overhead_ms"] <= 10
    console.print(f"throughput ratio {result['throughput_ratio']:.3f} (target >= 0.95: {'met' if ok_tp else 'MISSED'}); "
                  f"TTFT overhead {result['ttft_overhead_ms']:+.1f} ms (target <= 10 ms: {'met' if ok_ttft else 'MISSED'})")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

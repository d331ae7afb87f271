"""Load profile of OpenAI-compatible servers: streaming chat requests at rising concurrency.

    python -m evaluation.perf --base-url http://127.0.0.1:8000/v1 --concurrency 1,2,4,8 --max-tokens 128 --out DIR
    python -m evaluation.perf --base-url URL --compare-llama-cpp-server ...   # ours vs llama_cpp.server

Per concurrency level ``c`` it sends ``max(requests_per_level, c)`` requests, ``c`` in flight at a time
(a closed loop: a worker sends its next request when the previous one ends), each a question of its own,
so a level never finds its prompts in a prefix cache an earlier one filled, and measures per request:

* TTFT: time from sending to the first streamed content token;
* inter-token latency (ITL): ``(t_last_token - t_first_token) / (tokens - 1)``, the mean gap per request;
* end-to-end latency; output tokens (the server's ``usage`` when streamed, else content chunks).

Per level: p50/p95 of each, errors, and aggregate output tokens/s = all tokens / the level's wall time.
The traffic goes only to the given URLs (loopback in practice); every request has a timeout and each
level a fixed request count, so a run always ends.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from openai import AsyncOpenAI

from aletheia.models import bundled_gguf

PROMPTS = [
    "Explain what a Kubernetes readiness probe is and how it differs from a liveness probe.",
    "Why would a Linux process be killed with SIGKILL by the OOM killer, and how do I find out?",
    "What does `ss -tlnp` show, and how do I find which process listens on port 8080?",
    "How do I make an nginx reverse proxy pass the client's real IP address to the backend?",
    "What is the difference between `CMD` and `ENTRYPOINT` in a Dockerfile?",
    "How should a systemd service restart on failure without restarting in a tight loop?",
    "What causes 'too many open files' errors and how do I raise the limit for one service?",
    "Explain PostgreSQL connection pooling and when to use PgBouncer in transaction mode.",
]

WARM_UP = "Say hello."


def fresh_prompts(n: int) -> list[str]:
    """``n`` different prompts (PROMPTS, each led by its own ticket number): sent once each, they share only
    the chat template's opening with one another, as questions from different users do."""
    return [f"Ticket {k + 1}. {PROMPTS[k % len(PROMPTS)]}" for k in range(n)]


@dataclass
class RequestRecord:
    ok: bool
    ttft: float = float("nan")
    itl: float = float("nan")
    e2e: float = float("nan")
    tokens: int = 0
    error: str = ""


@dataclass
class LevelResult:
    server: str
    concurrency: int
    requests: int
    errors: int
    wall_s: float
    output_tokens: int
    tokens_per_s: float
    ttft_p50: float
    ttft_p95: float
    itl_p50: float
    itl_p95: float
    e2e_p50: float
    e2e_p95: float
    error_messages: list[str] = field(default_factory=list)


def _pct(values: list[float], q: float) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.percentile(vals, q)) if vals else float("nan")


async def stream_request(client: AsyncOpenAI, model: str, prompt: str, max_tokens: int) -> RequestRecord:
    t0 = time.perf_counter()
    first = last = None
    chunks = 0
    usage_tokens = None
    try:
        stream = await client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": prompt}],
            max_tokens=max_tokens,
            temperature=0.0,
            stream=True,
            stream_options={"include_usage": True},
        )
        async for chunk in stream:
            if chunk.usage is not None and chunk.usage.completion_tokens is not None:
                usage_tokens = chunk.usage.completion_tokens
            if chunk.choices and chunk.choices[0].delta and chunk.choices[0].delta.content:
                now = time.perf_counter()
                first = first if first is not None else now
                last = now
                chunks += 1
    except Exception as exc:  # noqa: BLE001 - a load test counts failures instead of stopping
        return RequestRecord(
            ok=False, e2e=time.perf_counter() - t0, error=f"{type(exc).__name__}: {exc}"[:300]
        )
    end = time.perf_counter()
    tokens = usage_tokens if usage_tokens is not None else chunks
    if first is None:
        return RequestRecord(ok=False, e2e=end - t0, tokens=tokens, error="no content streamed")
    itl = (last - first) / (tokens - 1) if tokens > 1 else float("nan")
    return RequestRecord(ok=True, ttft=first - t0, itl=itl, e2e=end - t0, tokens=tokens)


async def profile_level(
    client: AsyncOpenAI,
    server: str,
    model: str,
    concurrency: int,
    n_requests: int,
    max_tokens: int,
    prompts: Iterator[str],
) -> LevelResult:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for _ in range(n_requests):
        queue.put_nowait(next(prompts))
    records: list[RequestRecord] = []

    async def worker() -> None:
        while True:
            try:
                prompt = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            records.append(await stream_request(client, model, prompt, max_tokens))

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    ok = [r for r in records if r.ok]
    tokens = sum(r.tokens for r in ok)
    return LevelResult(
        server=server,
        concurrency=concurrency,
        requests=len(records),
        errors=len(records) - len(ok),
        wall_s=wall,
        output_tokens=tokens,
        tokens_per_s=tokens / wall if wall > 0 else float("nan"),
        ttft_p50=_pct([r.ttft for r in ok], 50),
        ttft_p95=_pct([r.ttft for r in ok], 95),
        itl_p50=_pct([r.itl for r in ok], 50),
        itl_p95=_pct([r.itl for r in ok], 95),
        e2e_p50=_pct([r.e2e for r in ok], 50),
        e2e_p95=_pct([r.e2e for r in ok], 95),
        error_messages=sorted({r.error for r in records if not r.ok})[:5],
    )


async def profile_server(
    server: str,
    base_url: str,
    model: str,
    concurrency: list[int],
    *,
    max_tokens: int = 128,
    requests_per_level: int = 8,
    prompts: list[str] | None = None,
    request_timeout: float = 300.0,
    api_key: str = "none",
) -> list[LevelResult]:
    """``prompts`` are sent in order, cycling, each level carrying on where the last one stopped. By default
    every request asks its own question (``fresh_prompts``), so no level finds its prompts in the prefix
    cache an earlier level filled."""
    client = AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=request_timeout, max_retries=0)
    prompts = prompts or fresh_prompts(sum(max(requests_per_level, c) for c in concurrency))
    queue = itertools.cycle(prompts)
    results = []
    try:
        await stream_request(client, model, WARM_UP, 4)  # not counted
        for c in concurrency:
            res = await profile_level(
                client, server, model, c, max(requests_per_level, c), max_tokens, queue
            )
            print(
                f"[perf] {server} c={c}: {res.tokens_per_s:.1f} tok/s, TTFT p50 {res.ttft_p50 * 1000:.0f} ms, "
                f"e2e p95 {res.e2e_p95:.2f} s, errors {res.errors}/{res.requests}",
                file=sys.stderr,
            )
            results.append(res)
    finally:
        await client.close()
    return results


# ---------------------------------------------------------------------------------------------- output


def plot_levels(levels: list[LevelResult], out_dir: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    servers = list(dict.fromkeys(lv.server for lv in levels))
    panels = [
        ("tokens_per_s", None, "aggregate output tokens/s"),
        ("ttft_p50", "ttft_p95", "time to first token (s)"),
        ("itl_p50", "itl_p95", "inter-token latency (s)"),
        ("e2e_p50", "e2e_p95", "end-to-end latency (s)"),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    for ax, (p50, p95, title) in zip(axes.flat, panels):
        for i, server in enumerate(servers):
            rows = [lv for lv in levels if lv.server == server]
            xs = [lv.concurrency for lv in rows]
            color = f"C{i}"
            ax.plot(
                xs,
                [getattr(lv, p50) for lv in rows],
                "o-",
                color=color,
                label=f"{server}" + (" p50" if p95 else ""),
            )
            if p95:
                ax.plot(
                    xs,
                    [getattr(lv, p95) for lv in rows],
                    "s--",
                    color=color,
                    alpha=0.6,
                    label=f"{server} p95",
                )
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted({lv.concurrency for lv in levels}))
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.set_xlabel("concurrent requests")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Load profile (streaming chat completions)")
    fig.tight_layout()
    path = out_dir / "perf.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def markdown_table(levels: list[LevelResult]) -> str:
    head = "| server | conc. | requests | errors | tok/s | TTFT p50 | TTFT p95 | ITL p50 | ITL p95 | e2e p50 | e2e p95 |"
    lines = [head, "|" + "---|" * 11]
    for lv in levels:
        lines.append(
            f"| {lv.server} | {lv.concurrency} | {lv.requests} | {lv.errors} | {lv.tokens_per_s:.1f} | "
            f"{lv.ttft_p50 * 1000:.0f} ms | {lv.ttft_p95 * 1000:.0f} ms | {lv.itl_p50 * 1000:.1f} ms | "
            f"{lv.itl_p95 * 1000:.1f} ms | {lv.e2e_p50:.2f} s | {lv.e2e_p95:.2f} s |"
        )
    return "\n".join(lines)


def levels_as_dicts(levels: list[LevelResult]) -> list[dict]:
    return [asdict(lv) for lv in levels]


# ---------------------------------------------------------------------------------------------- CLI


def llama_cpp_server(model_alias: str = "aletheia-base", n_ctx: int = 2048, threads: int | None = None,
                     model_path: str | Path | None = None):
    """``python -m llama_cpp.server`` on ``model_path`` (default: the bundled GGUF) on a free loopback port
    (context manager).

    Its defaults would skew a comparison: a new request interrupts the running stream
    (``interrupt_requests``), and it decodes on half the cores. Here requests queue, and it uses
    ``threads`` (default: all cores)."""
    import os

    from .servers import ExternalServer, free_port

    threads = threads or os.cpu_count() or 1
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path or bundled_gguf())]
    cmd += ["--model_alias", model_alias, "--host", "127.0.0.1", "--port", str(port), "--n_ctx", str(n_ctx)]
    cmd += ["--interrupt_requests", "False", "--n_threads", str(threads), "--n_threads_batch", str(threads)]
    return ExternalServer(cmd, port)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m evaluation.perf", description=__doc__.split("\n")[0])
    ap.add_argument("--base-url", help="OpenAI base URL of the server to profile (default: start ours)")
    ap.add_argument("--model", default="aletheia-base")
    ap.add_argument("--label", default="aletheia")
    ap.add_argument("--compare-base-url", help="a second server to profile in the same run")
    ap.add_argument("--compare-model", help="model id on the second server (default: --model)")
    ap.add_argument("--compare-label", default="compare")
    ap.add_argument(
        "--compare-llama-cpp-server",
        action="store_true",
        help="start `python -m llama_cpp.server` on the bundled GGUF and profile it second",
    )
    ap.add_argument("--concurrency", default="1,2,4,8,16")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--requests-per-level", type=int, default=8)
    ap.add_argument("--request-timeout", type=float, default=300.0)
    ap.add_argument("--out", default="reports/perf")
    return ap.parse_args(argv)


async def run_profiles(targets: list[tuple[str, str, str]], args) -> list[LevelResult]:
    levels: list[LevelResult] = []
    conc = [int(c) for c in str(args.concurrency).split(",") if c.strip()]
    for label, url, model in targets:  # one server at a time: they share the CPU
        levels += await profile_server(
            label,
            url,
            model,
            conc,
            max_tokens=args.max_tokens,
            requests_per_level=args.requests_per_level,
            request_timeout=args.request_timeout,
        )
    return levels


def write_outputs(levels: list[LevelResult], out: Path, args) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "perf.json").write_text(
        json.dumps({"max_tokens": args.max_tokens, "levels": levels_as_dicts(levels)}, indent=2)
    )
    plot_levels(levels, out)
    (out / "perf.md").write_text(
        f"# Load profile\n\nStreaming chat completions, max_tokens={args.max_tokens}, greedy.\n\n"
        f"{markdown_table(levels)}\n\n![load profile](perf.png)\n"
    )


def main(argv: list[str] | None = None) -> int:
    from contextlib import ExitStack

    from server.process import ServerProcess

    args = parse_args(argv)
    out = Path(args.out)
    with ExitStack() as stack:
        base_url = args.base_url
        if not base_url:
            base_url = stack.enter_context(ServerProcess(models=[])).base_url
        targets = [(args.label, base_url, args.model)]
        if args.compare_base_url:
            targets.append((args.compare_label, args.compare_base_url, args.compare_model or args.model))
        if args.compare_llama_cpp_server:
            srv = stack.enter_context(llama_cpp_server(model_alias=args.model))
            targets.append(("llama_cpp.server", srv.base_url, args.model))
        levels = asyncio.run(run_profiles(targets, args))
    write_outputs(levels, out, args)
    print(markdown_table(levels))
    print(f"wrote {out / 'perf.md'}", file=sys.stderr)
    return 0 if all(lv.errors == 0 for lv in levels) else 1


if __name__ == "__main__":
    raise SystemExit(main())

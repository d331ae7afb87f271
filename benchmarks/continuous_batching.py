"""Continuous batching vs. a serialising server: our server and ``python -m llama_cpp.server`` on the same
GGUF, same machine, same run, at 1, 2, 4, 8 and 16 concurrent streaming clients with 128-token answers.

    .venv/bin/python benchmarks/continuous_batching.py [--levels 1,2,4,8,16] [--max-tokens 128] [--out DIR]
        [--gguf PATH]   # default: the bundled SmolLM2-135M Q4_1; both servers always load the same file

The load generator is evaluation.perf's (closed loop, streaming chat, temperature 0). The reference runs
with ``--interrupt_requests False`` (so a new request queues instead of cutting the running one off) and
the same thread count. Targets (issue 4): at 8 clients >= 200 tokens/s aggregate, >= 3x the reference, and
TTFT p95 < 0.5 s; at 1 client >= 0.95x the reference.

A third row is this machine's ceiling, measured in the same run: in-process ``llama_decode`` over the same
number of sequences with the same chat prompts, each level as one batched prefill of all its prompts followed
by ``--max-tokens`` batched decode steps, with no sampling, HTTP or clients. No server on this llama.cpp build
and CPU can beat it, so "ours / ceiling" says how much the server leaves on the table and whether a target is
within the hardware's reach at all.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aletheia.models import bundled_gguf  # noqa: E402
from evaluation.perf import fresh_prompts, llama_cpp_server, markdown_table, plot_levels, profile_server  # noqa: E402
from server.process import ServerProcess  # noqa: E402


def machine_line(gguf: Path) -> str:
    """What the figures depend on: the file's weight type and the CPU's vector extensions (llama.cpp's fast
    batched kernels differ by both: e.g. Q4_1 has no AVX2 GEMM, so on AVX2-only CPUs batching gains little)."""
    from gguf import GGUFReader

    types = collections.Counter(t.tensor_type.name for t in GGUFReader(str(gguf)).tensors)
    cpu = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
            elif line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                break
    except OSError:
        pass
    simd = sorted(f for f in flags if f in {"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8"})
    return (f"GGUF {gguf.name} (tensor types: {dict(types.most_common(3))}); CPU {cpu}, {os.cpu_count()} threads, "
            f"{' '.join(simd) or 'no AVX2'}")


def decode_ceiling(gguf: Path, levels: list[int], max_tokens: int, threads: int) -> dict[int, tuple[float, float]]:
    """{clients: (aggregate tokens/s, time to first tokens)} for raw batched ``llama_decode``: the prompts'
    common opening (the chat template's) decoded once beforehand and copied to every sequence, as a warm
    prefix cache does; then, timed, all prompts' own tokens in one batch and ``max_tokens - 1`` decode steps."""
    import llama_cpp

    from server.chat_template import render
    from server.engines.llama_model import LlamaModel

    model = LlamaModel(gguf)
    special = {"bos_token": model.token_text(model.bos), "eos_token": model.token_text(model.eos)}
    n_seq = max(levels)
    prompts = [model.tokenize(render(model.chat_template, [{"role": "user", "content": p}], special_tokens=special),
                              add_special=model.add_bos) for p in fresh_prompts(n_seq)]
    shared = len(os.path.commonprefix(prompts))
    n_batch = max(512, sum(map(len, prompts)))
    ctx = model.new_context(n_ctx=2048 * n_seq, n_seq_max=n_seq, n_batch=n_batch, n_threads=threads)
    batch = llama_cpp.llama_batch_init(n_batch, 0, 1)
    mem = llama_cpp.llama_get_memory(ctx)

    def decode(tokens: list[tuple[int, int, int, bool]]) -> None:
        for i, (token, pos, seq, logits) in enumerate(tokens):
            batch.token[i], batch.pos[i], batch.n_seq_id[i], batch.logits[i] = token, pos, 1, logits
            batch.seq_id[i][0] = seq
        batch.n_tokens = len(tokens)
        if llama_cpp.llama_decode(ctx, batch) != 0:
            raise RuntimeError("llama_decode failed")

    out = {}
    try:
        for c in levels:
            llama_cpp.llama_memory_clear(mem, True)
            decode([(t, pos, 0, False) for pos, t in enumerate(prompts[0][:shared])])
            for seq in range(1, c):
                llama_cpp.llama_memory_seq_cp(mem, 0, seq, -1, -1)
            t0 = time.perf_counter()
            decode([(p[pos], pos, s, pos == len(p) - 1) for s, p in enumerate(prompts[:c]) for pos in range(shared, len(p))])
            first = time.perf_counter() - t0
            for step in range(max_tokens - 1):
                decode([(p[-1], len(p) + step, s, True) for s, p in enumerate(prompts[:c])])
            out[c] = (c * max_tokens / (time.perf_counter() - t0), first)
    finally:
        llama_cpp.llama_batch_free(batch)
        llama_cpp.llama_free(ctx)
        model.close()
    return out


async def profile_both(levels: list[int], max_tokens: int, threads: int, gguf: Path) -> list:
    results = []
    args = ["--threads", str(threads), "--parallel", str(max(levels)), "--ctx-size", "2048"]
    with ServerProcess(models=[f"aletheia-base={gguf}"], extra_args=args) as ours:
        results += await profile_server("aletheia", ours.base_url, "aletheia-base", levels, max_tokens=max_tokens,
                                        requests_per_level=max(levels))
    with llama_cpp_server(threads=threads, model_path=gguf) as ref:
        results += await profile_server("llama_cpp.server", ref.base_url, "aletheia-base", levels,
                                        max_tokens=max_tokens, requests_per_level=max(levels))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", default="1,2,4,8,16")
    ap.add_argument("--max-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--out", type=Path, default=Path("reports/continuous_batching"))
    ap.add_argument("--gguf", type=Path, default=None, help="the GGUF both servers load (default: the bundled one)")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    gguf = (args.gguf or bundled_gguf()).resolve()

    results = asyncio.run(profile_both(levels, args.max_tokens, args.threads, gguf))
    ceiling = decode_ceiling(gguf, levels, args.max_tokens, args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    plot_levels(results, args.out)
    by = {(r.server, r.concurrency): r for r in results}
    lines = [machine_line(gguf), "", markdown_table(results), "",
             ("| clients | ours / reference | TTFT p95 ours | TTFT p95 ref | ceiling tok/s | ours / ceiling | "
              "ceiling time to first tokens |"), "|---|---|---|---|---|---|---|"]
    for c in levels:
        ours, ref = by[("aletheia", c)], by[("llama_cpp.server", c)]
        top, prefill = ceiling[c]
        lines.append(f"| {c} | {ours.tokens_per_s / ref.tokens_per_s:.2f}x | {ours.ttft_p95:.3f} s | "
                     f"{ref.ttft_p95:.3f} s | {top:.1f} | {ours.tokens_per_s / top:.2f} | {prefill:.3f} s |")
    verdicts = []
    if 8 in levels:
        o8, r8 = by[("aletheia", 8)], by[("llama_cpp.server", 8)]
        verdicts += [f"8 clients: {o8.tokens_per_s:.0f} tok/s (target >= 200: {'met' if o8.tokens_per_s >= 200 else 'missed'}), "
                     f"{o8.tokens_per_s / r8.tokens_per_s:.2f}x the reference (target >= 3x: "
                     f"{'met' if o8.tokens_per_s >= 3 * r8.tokens_per_s else 'missed'}), TTFT p95 {o8.ttft_p95:.3f} s "
                     f"(target < 0.5 s: {'met' if o8.ttft_p95 < 0.5 else 'missed'})"]
    if 1 in levels:
        o1, r1 = by[("aletheia", 1)], by[("llama_cpp.server", 1)]
        ratio = o1.tokens_per_s / r1.tokens_per_s
        verdicts.append(f"1 client: {ratio:.2f}x the reference (target >= 0.95x: {'met' if ratio >= 0.95 else 'missed'})")
    report = "\n".join(lines + [""] + verdicts)
    (args.out / "report.md").write_text(report + "\n\n![load profile](perf.png)\n")
    (args.out / "results.json").write_text(json.dumps([r.__dict__ for r in results], indent=2, default=str))
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())

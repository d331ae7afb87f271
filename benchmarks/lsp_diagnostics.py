"""Static diagnostics latency on a generated 2,000-line multi-document Kubernetes manifest.

Measures, over N runs each (p50/p95, ms):
  * yaml-compose     PyYAML's C composer alone: the floor any YAML rule engine pays (reference)
  * ruamel-load      ruamel.yaml round-trip load: the alternative parser, for comparison
  * analyse          lsp.analysers.analyse: detection, parsing and every K8S rule
  * analyse+convert  the above plus conversion to LSP Diagnostic objects (UTF-16 ranges)
  * lsp-roundtrip    didChange -> publishDiagnostics through `python -m lsp` over stdio (debounce 0)

    python benchmarks/lsp_diagnostics.py [--runs 50] [--lines 2000]

Target: analyse p95 < 50 ms. Ratios are against yaml-compose measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml
from lsprotocol import types

from lsp.analysers import analyse


def manifest(lines: int) -> str:
    """Deployments, Services and ConfigMaps with typical defects, until ``lines`` lines."""
    docs, i = [], 0
    while sum(d.count("\n") for d in docs) < lines:
        docs.append(
            textwrap.dedent(f"""\
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: svc-{i}
              labels: {{app: svc-{i}, tier: backend}}
            spec:
              replicas: 3
              selector:
                matchLabels: {{app: svc-{i}}}
              template:
                metadata:
                  labels: {{app: svc-{i}}}
                spec:
                  containers:
                    - name: app
                      image: registry.example.com/team/svc-{i}:{"latest" if i % 3 == 0 else "1.4." + str(i)}
                      ports:
                        - containerPort: 8080
                      env:
                        - name: LOG_LEVEL
                          value: info
                        - name: DB_PASSWORD
                          value: "pw-{i}"
                      resources:
                        requests: {{cpu: 100m, memory: 128Mi}}
                      securityContext:
                        privileged: {"true" if i % 5 == 0 else "false"}
            ---
            apiVersion: v1
            kind: Service
            metadata:
              name: svc-{i}
              namespace: prod
            spec:
              selector: {{app: svc-{i}}}
              ports:
                - port: 80
                  targetPort: 8080
            """)
        )
        i += 1
    return "---\n".join(docs)


def percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return statistics.median(s), s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def timed(fn, runs: int) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds per call (CPU time excludes waiting for a busy machine's cores)."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - c) * 1000)
        wall.append((time.perf_counter() - t) * 1000)
    return wall, cpu


async def lsp_roundtrip(text: str, runs: int) -> list[float]:
    from pygls.lsp.client import LanguageClient

    client = LanguageClient("bench", "1")
    published: asyncio.Queue = asyncio.Queue()

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(params: types.PublishDiagnosticsParams):
        published.put_nowait(params)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    await client.start_io(sys.executable, "-m", "lsp", env=env)
    await client.initialize_async(
        types.InitializeParams(
            capabilities=types.ClientCapabilities(),
            initialization_options={"aletheia": {"diagnostics": {"debounceMs": 0}}},
        )
    )
    client.initialized(types.InitializedParams())
    uri = "file:///bench/deploy.yaml"
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="yaml", version=1, text=text)
        )
    )
    await published.get()
    samples = []
    for version in range(2, runs + 2):
        edited = text + f"# edit {version}\n"
        t = time.perf_counter()
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=edited)],
            )
        )
        params = await published.get()
        samples.append((time.perf_counter() - t) * 1000)
        assert params.version == version and params.diagnostics
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return samples


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--lines", type=int, default=2000)
    ap.add_argument("--no-lsp", action="store_true", help="skip the stdio round trip")
    args = ap.parse_args()

    from pygls.workspace import TextDocument
    from ruamel.yaml import YAML

    from lsp.diagnostics import config_diagnostics

    text = manifest(args.lines)
    n_lines = text.count("\n")
    result = analyse(text, "deploy.yaml")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    doc = TextDocument("file:///bench/deploy.yaml", text)
    rows = {
        "yaml-compose": timed(lambda: list(yaml.compose_all(text, Loader=loader)), args.runs),
        "ruamel-load": timed(lambda: list(YAML(typ="rt").load_all(text)), max(5, args.runs // 5)),
        "analyse": timed(lambda: analyse(text, "deploy.yaml"), args.runs),
        "analyse+convert": timed(lambda: config_diagnostics(doc, analyse(text, "deploy.yaml")), args.runs),
    }
    if not args.no_lsp:
        rows["lsp-roundtrip"] = (asyncio.run(lsp_roundtrip(text, args.runs)), [])

    ref = percentiles(rows["yaml-compose"][0])[0]
    print(
        f"Kubernetes manifest: {n_lines:,} lines, {text.count('kind:')} objects, "
        f"{len(result.findings)} findings ({result.kind}); {args.runs} runs (ruamel: {max(5, args.runs // 5)})"
    )
    header = f"{'stage':<18}{'p50 ms':>9}{'p95 ms':>9}{'cpu p50':>9}{'cpu p95':>9}{'p50 / yaml-compose':>21}"
    print(header)
    print("-" * len(header))
    for name, (wall, cpu) in rows.items():
        p50, p95 = percentiles(wall)
        c50, c95 = percentiles(cpu) if cpu else (float("nan"), float("nan"))
        print(f"{name:<18}{p50:>9.1f}{p95:>9.1f}{c50:>9.1f}{c95:>9.1f}{p50 / ref:>20.1f}x")
    p95 = percentiles(rows["analyse"][0])[1]
    c95 = percentiles(rows["analyse"][1])[1]
    load = os.getloadavg()[0]
    print(f"\nload average {load:.1f} on {os.cpu_count()} CPUs (wall times grow with load; CPU times and ratios less)")
    verdict = "meets" if p95 < 50 else "MISSES"
    print(f"analyse p95 {p95:.1f} ms wall ({verdict} the 50 ms target), {c95:.1f} ms CPU")


if __name__ == "__main__":
    main()

"""Language-runtime failures: a Go nil-pointer panic, Celery workers killed by the OOM killer, the
Node.js heap limit, and an ACME certificate rate limit."""

from __future__ import annotations

import random

from .common import Clock, Event, Scenario, hexid


def go_nil_panic(rng: random.Random, clock: Clock) -> Scenario:
    svc = rng.choice(["inventory-svc", "gateway", "quota-api", "geo-resolver"])
    pkg = svc.split("-")[0]
    fn = rng.choice(["(*Handler).GetItem", "(*Cache).Lookup", "(*Client).Refresh", "(*Server).handleQuota"])
    file = {
        "(*Handler).GetItem": "handler.go",
        "(*Cache).Lookup": "cache.go",
        "(*Client).Refresh": "client.go",
        "(*Server).handleQuota": "server.go",
    }[fn]
    line = rng.randint(40, 400)
    addr = f"0x{rng.randint(0x400000, 0x9FFFFF):x}"

    def nz(c: Clock) -> str:
        return (
            f"{c.iso()} INFO {rng.choice(['request completed', 'cache refreshed', 'health ok'])} "
            f"method={rng.choice(['GET', 'POST'])} path=/v1/{rng.choice(['items', 'quota', 'lookup'])} "
            f"status=200 duration={rng.randint(1, 80)}ms"
        )

    def panic(c: Clock) -> list[str]:
        return [
            "panic: runtime error: invalid memory address or nil pointer dereference",
            f"[signal SIGSEGV: segmentation violation code=0x1 addr=0x{rng.choice([0, 8, 16, 24, 48]):x} pc={addr}]",
            "",
            f"goroutine {rng.randint(20, 9000)} [running]:",
            f"example.com/{pkg}/internal/{pkg}.{fn}(0xc000{hexid(rng, 6)}, {{0x{hexid(rng, 6)}, 0xc000{hexid(rng, 6)}}})",
            f"\t/src/internal/{pkg}/{file}:{line} +0x{hexid(rng, 2)}",
            "net/http.HandlerFunc.ServeHTTP(0xc000a1b2c0?, {0xb5e0f0?, 0xc0001f6000?}, 0x0?)",
            "\t/usr/local/go/src/net/http/server.go:2220 +0x29",
        ]

    def restart(c: Clock) -> list[str]:
        return [
            f"{c.iso()} INFO starting {svc} version={rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)} listen=:8080"
        ]

    return Scenario(
        source=f"kubectl logs {svc} --previous",
        noise=nz,
        events=[Event(panic, (0, 5)), Event(restart, (), gap=(0, 1))],
        root_cause=f"The process crashed on a nil pointer dereference in {pkg}.{fn} at internal/{pkg}/{file}:{line}: the method used a pointer (a receiver field, map value or returned object) that was nil, the panic was not recovered, and the whole process exited and was restarted.",
        fix=f"Fix the nil case at {file}:{line} (check the error or ok value of the call that produced the pointer and return an error instead of dereferencing), add a test that reproduces it with the missing value, and consider a recovery middleware so one request cannot kill the server.",
        decoys=[
            "The container exceeded its memory limit and was OOM-killed.",
            "A data race corrupted memory.",
            "The liveness probe killed the container.",
        ],
        summary="`panic: runtime error: invalid memory address or nil pointer dereference`",
        lead=(2, 5),
        tail=(0, 0),
    )


def celery_sigkill(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["reports", "media-jobs", "exports"])
    mod = app.replace("-", "_")
    task = rng.choice(["render_pdf", "resize_video", "build_export", "aggregate_month"])
    tid = f"{hexid(rng, 8)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 4)}-{hexid(rng, 12)}"
    child = rng.randint(100, 60000)

    def received(c: Clock) -> list[str]:
        return [f"[{c.python()}: INFO/MainProcess] Task {mod}.tasks.{task}[{tid}] received"]

    def lost(c: Clock) -> list[str]:
        return [
            f"[{c.python()}: ERROR/MainProcess] Process 'ForkPoolWorker-{rng.randint(1, 8)}' pid:{child} exited with 'signal 9 (SIGKILL)'",
            f"[{c.python()}: ERROR/MainProcess] Task handler raised error: WorkerLostError('Worker exited prematurely: signal 9 (SIGKILL) Job: {rng.randint(0, 400)}.')",
        ]

    def nz(c: Clock) -> str:
        return f"[{c.python()}: INFO/ForkPoolWorker-{rng.randint(1, 8)}] Task {mod}.tasks.{rng.choice(['send_mail', 'cleanup', 'ping'])}[{hexid(rng, 8)}-{hexid(rng, 4)}] succeeded in {rng.uniform(0.01, 2):.3f}s: None"

    return Scenario(
        source=f"celery worker ({app})",
        noise=nz,
        events=[Event(received, (0,)), Event(lost, (0, 1), gap=(1, 3))],
        root_cause=f"The pool process running {task} was killed with SIGKILL from outside Celery, almost always by the kernel or cgroup OOM killer because the task's memory grew beyond what the container or host allows; Celery reports it as WorkerLostError.",
        fix=f"Confirm in `dmesg`/`journalctl -k` or the pod's OOMKilled status, then reduce {task}'s peak memory (stream or chunk the work), run such tasks in a dedicated queue with `--concurrency` low enough for the memory limit, and set `worker_max_memory_per_child` so bloated children are recycled; use `acks_late` with idempotent tasks so killed work is redelivered.",
        decoys=[
            "The task exceeded its time limit and Celery killed it.",
            "The broker connection was lost.",
            "An unhandled exception in the task code.",
        ],
        summary="`WorkerLostError: Worker exited prematurely: signal 9 (SIGKILL)`",
        lead=(1, 4),
    )


def node_heap(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["ssr-frontend", "bff-api", "pdf-renderer"])
    limit = rng.choice([2048, 4096, 1536])
    pid = rng.randint(1, 60000)

    def nz(c: Clock) -> str:
        return (
            f'{{"level":30,"time":{int(c.now.timestamp() * 1000)},"pid":{pid},"msg":"request completed",'
            f'"req":{{"method":"GET","url":"/{rng.choice(["products", "cart", "search"])}"}},"res":{{"statusCode":200}},'
            f'"responseTime":{rng.randint(3, 400)}}}'
        )

    def gc(c: Clock) -> list[str]:
        ms = int(c.now.timestamp() * 1000) % 10**7
        return [
            (
                f"[{pid}:0x{hexid(rng, 12)}] {ms} ms: Mark-Compact {limit - rng.randint(5, 40)}.{rng.randint(1, 9)} ({limit + rng.randint(20, 90)}.{rng.randint(1, 9)}) -> "
                f"{limit - rng.randint(1, 20)}.{rng.randint(1, 9)} ({limit + rng.randint(20, 90)}.{rng.randint(1, 9)}) MB, {rng.randint(900, 3000)}.{rng.randint(1, 9)} / 0.0 ms  "
                "(average mu = 0.121, current mu = 0.034) allocation failure; scavenge might not succeed"
            ),
            "",
            "<--- JS stacktrace --->",
            "",
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        ]

    return Scenario(
        source=f"{app} stdout",
        noise=nz,
        events=[Event(gc, (0, 4), gap=(1, 3))],
        root_cause=f"The Node.js process hit V8's old-space heap limit (about {limit} MB): the last mark-compact GC freed almost nothing, allocation failed and V8 aborted the process. The application holds on to more objects than the heap allows (a leak such as an unbounded cache, or a very large response built in memory).",
        fix="Take heap snapshots (`node --heapsnapshot-near-heap-limit=2` or `--inspect` with Chrome DevTools) and compare them to find the growing objects, bound caches and stream large payloads; set `--max-old-space-size` to fit the container (about 75% of its memory limit) rather than only raising it.",
        decoys=[
            "The container's memory limit was hit and the cgroup OOM killer killed Node.",
            "An infinite loop blocked the event loop.",
            "A native addon crashed with a segmentation fault.",
        ],
        summary="`FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory`",
        tail=(0, 0),
    )


def acme_rate_limit(rng: random.Random, clock: Clock) -> Scenario:
    domain = rng.choice(["shop.example.com", "api.northwind.io", "status.globex.dev"])
    ns = rng.choice(["ingress", "prod", "web"])
    cert = domain.split(".")[0] + "-tls"

    def nz(c: Clock) -> str:
        return (
            f"I{c.now:%m%d %H:%M:%S}.{c.now.microsecond:06d}       1 controller.go:{rng.randint(100, 200)}] "
            f'"re-queuing item due to optimistic locking on resource" resource_name="{rng.choice(["web", "api", "grafana"])}-tls" resource_namespace="{ns}"'
        )

    def err(c: Clock) -> list[str]:
        return [
            (
                f'E{c.now:%m%d %H:%M:%S}.{c.now.microsecond:06d}       1 controller.go:{rng.randint(150, 170)}] "re-queuing item due to error processing" '
                'err="failed to finalize order: 429 urn:ietf:params:acme:error:rateLimited: too many certificates (5) already issued for this exact set of identifiers in the last 168h0m0s" '
                f'key="{ns}/{cert}-{rng.randint(1, 9)}"'
            )
        ]

    return Scenario(
        source="cert-manager controller logs",
        noise=nz,
        events=[Event(err, (0,), gap=(1, 3)), Event(err, (0,), gap=(0, 2))],
        root_cause=f"Let's Encrypt refuses to issue the certificate {ns}/{cert} (for {domain}) because the duplicate-certificate rate limit (5 certificates for the same set of names per 7 days) has been reached, typically after the certificate was re-issued repeatedly (the Secret was deleted or recreated by CI, or several clusters request the same names).",
        fix=f"Stop the re-issuing loop (keep the `{cert}` Secret, do not recreate Certificates on every deploy), wait for the window to pass or add or remove a name to form a different identifier set, and use the Let's Encrypt staging issuer for testing; check `kubectl -n {ns} describe certificate {cert}` and the Order/Challenge resources.",
        decoys=[
            "The HTTP-01 challenge fails because port 80 is blocked.",
            "DNS for the domain points at the wrong load balancer.",
            "The ACME account key was revoked.",
        ],
        summary="`urn:ietf:params:acme:error:rateLimited`",
    )


SCENARIOS = {
    "go_nil_panic": go_nil_panic,
    "celery_worker_sigkill": celery_sigkill,
    "node_heap_limit": node_heap,
    "acme_rate_limit": acme_rate_limit,
}

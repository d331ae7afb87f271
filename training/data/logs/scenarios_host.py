"""Host-level failures: kernel OOM killer, full disks, file-descriptor limits, ports in use, missing
environment at start-up."""

from __future__ import annotations

import random

from . import noise
from .common import Clock, Event, Scenario, host

_PROCS = [
    ("java", "orders.service", "/usr/bin/java"),
    ("python3", "ingest-worker.service", "/opt/ingest/venv/bin/python3"),
    ("node", "web-frontend.service", "/usr/bin/node"),
    ("postgres", "postgresql@16-main.service", "/usr/lib/postgresql/16/bin/postgres"),
    ("mysqld", "mysql.service", "/usr/sbin/mysqld"),
    ("ruby", "sidekiq.service", "/usr/bin/ruby"),
]


def kernel_oom(rng: random.Random, clock: Clock) -> Scenario:
    hn = host(rng)
    proc, unit, _ = rng.choice(_PROCS)
    pid = rng.randint(2000, 90000)
    rss_gb = rng.uniform(5.5, 28)
    total_kb = int(rss_gb * 1024 * 1024)
    boot = rng.uniform(10000, 9_000_000)
    mems = rng.choice(["0", "0-1", "0-1", "0-3"])
    oom_line = rng.random() < 0.4  # systemd >= 243 also says the OOM killer hit the unit

    def invoked(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} kernel: {c.kernel(boot)} {proc} invoked oom-killer: gfp_mask=0x140cca(GFP_HIGHUSER_MOVABLE|__GFP_COMP), order=0, oom_score_adj=0"
        ]

    def killed(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} kernel: {c.kernel(boot + 0.0021)} oom-kill:constraint=CONSTRAINT_NONE,nodemask=(null),cpuset=/,mems_allowed={mems},global_oom,task_memcg=/system.slice/{unit},task={proc},pid={pid},uid={rng.choice([999, 1001, 113])}",
            f"{c.syslog()} {hn} kernel: {c.kernel(boot + 0.0022)} Out of memory: Killed process {pid} ({proc}) total-vm:{total_kb + rng.randint(10**5, 10**6)}kB, anon-rss:{total_kb}kB, file-rss:{rng.randint(1000, 90000)}kB, shmem-rss:0kB, UID:{rng.choice([999, 1001, 113])} pgtables:{rng.randint(9000, 60000)}kB oom_score_adj:0",
        ]

    def unit_dead(c: Clock) -> list[str]:
        lines = [
            f"{c.syslog()} {hn} systemd[1]: {unit}: Main process exited, code=killed, status=9/KILL",
            f"{c.syslog()} {hn} systemd[1]: {unit}: Failed with result '{'oom-kill' if oom_line else 'signal'}'.",
        ]
        if oom_line:
            lines.insert(
                0,
                f"{c.syslog()} {hn} systemd[1]: {unit}: A process of this unit has been killed by the OOM killer.",
            )
        return lines

    return Scenario(
        source=rng.choice(["/var/log/syslog", "/var/log/kern.log", f"journalctl -b on {hn}"]),
        noise=noise.syslog(rng, hn),
        events=[
            Event(invoked, (0,)),
            Event(killed, (1,), gap=(0, 1)),
            Event(unit_dead, (1 if oom_line else 0,), gap=(0, 2)),
        ],
        root_cause=f"The host ran out of memory and the kernel OOM killer killed {proc} (PID {pid}, about {rss_gb:.1f} GB resident); systemd then marked {unit} failed with status 9/KILL.",
        fix=f"Find why {proc} grew (heap dump, memory metrics), cap it below the host's RAM (e.g. `MemoryMax=` in {unit} or a smaller heap/cache setting) or add memory; check `journalctl -k | grep -i oom` for repeats.",
        decoys=[
            f"{unit} crashed with a segmentation fault in {proc}.",
            f"An administrator stopped {unit} with `systemctl kill -s KILL`.",
            f"{proc} was killed because the disk holding its data directory was full.",
        ],
        summary=f"`Out of memory: Killed process <*> ({proc})` (1 occurrence)",
    )


def disk_full(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["report-builder", "media-ingest", "export-api", "etl-runner"])
    mod = app.replace("-", "_")
    mount = rng.choice(["/var/lib/" + app, "/data", "/srv/uploads", "/tmp"])
    fname = (
        rng.choice(["chunk-", "export-", "part-", "upload-"])
        + str(rng.randint(1000, 99999))
        + rng.choice([".parquet", ".csv.gz", ".bin"])
    )

    def trace(c: Clock) -> list[str]:
        return [
            f"{c.python()} ERROR [{mod}.writer] failed to write {mount}/{fname}",
            "Traceback (most recent call last):",
            f'  File "/opt/{app}/{mod}/writer.py", line {rng.randint(40, 300)}, in flush',
            "    fh.write(buf)",
            "OSError: [Errno 28] No space left on device",
        ]

    def df(c: Clock) -> list[str]:
        return [
            f"{c.python()} WARNING [{mod}.health] disk usage on {mount}: {rng.randint(99, 100)}% ({rng.uniform(0, 0.2):.2f} GiB free)"
        ]

    evs = [Event(df, (0,), gap=(1, 4)), Event(trace, (0, 4), gap=(0, 3))]
    if rng.random() < 0.5:
        evs.reverse()
        evs[1].gap = (0, 2)
    return Scenario(
        source=f"/var/log/{app}/app.log",
        noise=noise.python_app(rng, app),
        events=evs,
        root_cause=f"The filesystem holding {mount} is full (ENOSPC, errno 28), so {app} cannot write {fname}.",
        fix=f"Free space now (`df -h {mount}`, `du -xh --max-depth=2 {mount} | sort -h | tail`), delete or rotate old output, then add retention/cleanup and a disk-usage alert at ~80%.",
        decoys=[
            f"{app} lacks write permission on {mount}.",
            f"The file {fname} is locked by another process.",
            "The disk is failing and returning I/O errors.",
        ],
        summary="`OSError: [Errno 28] No space left on device` (errno 28)",
    )


def open_files(rng: random.Random, clock: Clock) -> Scenario:
    variant = rng.choice(["nginx", "java"])
    limit = rng.choice([1024, 4096])
    if variant == "nginx":

        def acc(c: Clock) -> list[str]:
            return [
                f"{c.nginx()} [crit] {rng.randint(800, 40000)}#{rng.randint(800, 40000)}: accept4() failed (24: Too many open files)"
            ]

        def open_fail(c: Clock) -> list[str]:
            return [
                f'{c.nginx()} [crit] {rng.randint(800, 40000)}#0: *{rng.randint(10**5, 10**7)} open() "/usr/share/nginx/html/index.html" failed (24: Too many open files), client: 203.0.113.{rng.randint(2, 250)}'
            ]

        return Scenario(
            source="/var/log/nginx/error.log",
            noise=noise.nginx_error(rng),
            events=[Event(acc, (0,)), Event(open_fail, (0,), gap=(0, 2)), Event(acc, (0,), gap=(0, 2))],
            root_cause=f"nginx workers hit their open-file limit (EMFILE, errno 24; the limit is {limit}), so they cannot accept new connections or open files.",
            fix="Raise the limit: `worker_rlimit_nofile 65535;` in nginx.conf and `LimitNOFILE=65535` in the nginx unit (systemctl edit nginx), keep `worker_connections` below it, then `systemctl restart nginx`.",
            decoys=[
                "The backend is down, so nginx returns 502 errors.",
                "A SYN flood is filling the listen backlog.",
                "index.html was deleted from the document root.",
            ],
            summary="`accept4() failed (24: Too many open files)`",
        )
    app = rng.choice(["gateway", "quote-service", "notification-hub"])
    pkg = app.replace("-", "")

    def exc(c: Clock) -> list[str]:
        return [
            f"{c.java()} ERROR 1 --- [http-nio-8080-Acceptor] org.apache.tomcat.util.net.Acceptor     : Socket accept failed",
            "java.io.IOException: Too many open files",
            "\tat java.base/sun.nio.ch.Net.accept(Native Method)",
            "\tat java.base/sun.nio.ch.ServerSocketChannelImpl.implAccept(ServerSocketChannelImpl.java:433)",
            "\tat org.apache.tomcat.util.net.NioEndpoint.serverSocketAccept(NioEndpoint.java:518)",
        ]

    def leak(c: Clock) -> list[str]:
        return [
            f"{c.java()}  WARN 1 --- [scheduling-1] c.a.{pkg}.health.FdMonitor   : open file descriptors {limit - rng.randint(0, 3)}/{limit}"
        ]

    return Scenario(
        source=f"/var/log/{app}/{app}.log",
        noise=noise.java_app(rng, app),
        events=[Event(leak, (0,), gap=(1, 4)), Event(exc, (0, 1), gap=(0, 3))],
        root_cause=f"The JVM reached its open-file limit ({limit} descriptors), so Tomcat cannot accept sockets (`Too many open files`); with the count climbing steadily, a descriptor leak is likely.",
        fix="Check `ls /proc/<pid>/fd | wc -l` and `lsof -p <pid>` for leaked sockets/files (unclosed HTTP clients or streams) and fix the leak; raise `LimitNOFILE=65536` (or the container's nofile ulimit) for headroom.",
        decoys=[
            "Tomcat's thread pool is exhausted by slow requests.",
            "The port 8080 is already in use by another process.",
            "The JVM ran out of heap memory.",
        ],
        summary="`java.io.IOException: Too many open files`",
    )


def port_in_use(rng: random.Random, clock: Clock) -> Scenario:
    hn = host(rng)
    port = rng.choice([3000, 8080, 8000, 9090, 5000])
    kind = rng.choice(["node", "go", "python"])
    unit = rng.choice(["web-frontend", "api-server", "metrics-gw", "admin-ui"]) + ".service"
    p = rng.randint(2000, 90000)

    def fail(c: Clock) -> list[str]:
        if kind == "node":
            err = [
                f"Error: listen EADDRINUSE: address already in use :::{port}",
                "    at Server.setupListenHandle [as _listen2] (node:net:1872:16)",
            ]
        elif kind == "go":
            err = [f"{c.nginx()} listen tcp :{port}: bind: address already in use"]
        else:
            err = [f"[ERROR] Connection in use: ('0.0.0.0', {port})", "[ERROR] Retrying in 1 second."]
        return [f"{c.syslog()} {hn} {unit.split('.')[0]}[{p}]: {e}" for e in err]

    def exited(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} systemd[1]: {unit}: Main process exited, code=exited, status=1/FAILURE",
            f"{c.syslog()} {hn} systemd[1]: {unit}: Failed with result 'exit-code'.",
        ]

    def limit(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} systemd[1]: {unit}: Start request repeated too quickly.",
            f"{c.syslog()} {hn} systemd[1]: Failed to start {unit} - {unit.split('.')[0]}.",
        ]

    return Scenario(
        source=rng.choice([f"journalctl -b on {hn}", "/var/log/syslog"]),
        noise=noise.syslog(rng, hn),
        events=[Event(fail, (0,)), Event(exited, (0,), gap=(0, 1)), Event(limit, (0,), gap=(0, 3))],
        root_cause=f"Port {port} is already bound by another process, so {unit} exits at start-up with 'address already in use' until systemd's start limit stops retrying.",
        fix=f"Find the holder with `ss -ltnp 'sport = :{port}'` (often an old instance or a second copy started by hand), stop it or move one of them to another port, then `systemctl reset-failed {unit} && systemctl start {unit}`.",
        decoys=[
            f"{unit} lacks the capability to bind ports below 1024.",
            "The host firewall blocks the port.",
            f"{unit} crashes because of a bad configuration file.",
        ],
        summary="`address already in use` then `Start request repeated too quickly`",
    )


def missing_env(rng: random.Random, clock: Clock) -> Scenario:
    hn = host(rng)
    app = rng.choice(["billing-sync", "catalog-api", "webhook-relay", "auth-svc"])
    mod = app.replace("-", "_")
    var = rng.choice(["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "S3_BUCKET", "BROKER_URL"])
    p = rng.randint(2000, 90000)
    line_no = rng.randint(8, 60)

    def trace(c: Clock) -> list[str]:
        pre = f"{c.syslog()} {hn} {app}[{p}]: "
        return [
            pre + "Traceback (most recent call last):",
            pre + f'  File "/opt/{app}/{mod}/__main__.py", line {rng.randint(3, 20)}, in <module>',
            pre + f"    from {mod}.settings import settings",
            pre + f'  File "/opt/{app}/{mod}/settings.py", line {line_no}, in <module>',
            pre + f'    {var.lower()} = os.environ["{var}"]',
            pre + "                 ~~~~~~~~~~^^^^^^^^^^^^^^^",
            pre + f"KeyError: '{var}'",
        ]

    def dead(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} systemd[1]: {app}.service: Main process exited, code=exited, status=1/FAILURE"
        ]

    return Scenario(
        source=rng.choice([f"journalctl -b on {hn}", "/var/log/syslog"]),
        noise=noise.syslog(rng, hn),
        events=[Event(trace, (4, 6)), Event(dead, (0,), gap=(0, 1))],
        root_cause=f"The environment variable {var} is not set for {app}.service, so settings.py line {line_no} raises KeyError at import and the process exits with status 1.",
        fix=f"Provide {var} to the unit (`Environment=` or an `EnvironmentFile=/etc/{app}/env` readable by the service user), `systemctl daemon-reload`, restart; use `os.environ.get` with a clear error message for required settings.",
        decoys=[
            f"The Python package {mod} is not installed in the virtualenv.",
            f"{app} cannot reach its database.",
            "settings.py has a syntax error.",
        ],
        summary=f"`KeyError: '{var}'` at start-up",
    )


SCENARIOS = {
    "kernel_oom": kernel_oom,
    "disk_full": disk_full,
    "too_many_open_files": open_files,
    "port_in_use": port_in_use,
    "missing_env": missing_env,
}

"""Benign background lines for each log format, so planted events sit among realistic noise."""

from __future__ import annotations

import random
from collections.abc import Callable

from .common import Clock, hexid, ip

Noise = Callable[[Clock], str]


def _chooser(rng: random.Random, makers: list[Callable[[Clock], str]]) -> Noise:
    return lambda c: rng.choice(makers)(c)


def syslog(rng: random.Random, hostname: str) -> Noise:
    users = ["deploy", "ubuntu", "ops", "ansible", "backup"]
    # long-running daemons keep their PID for the whole excerpt; sshd/CRON fork per session
    daemon = {name: rng.randint(300, 9000) for name in ("timesyncd", "logind", "dhclient", "node_exporter")}

    def p() -> int:
        return rng.randint(300, 65000)

    makers = [
        lambda c: (
            f"{c.syslog()} {hostname} sshd[{p()}]: Accepted publickey for {rng.choice(users)} from {ip(rng)} port {rng.randint(30000, 65000)} ssh2: ED25519 SHA256:{hexid(rng, 20)}"
        ),
        lambda c: f"{c.syslog()} {hostname} CRON[{p()}]: (root) CMD (/usr/lib/sysstat/debian-sa1 1 1)",
        lambda c: (
            f"{c.syslog()} {hostname} CRON[{p()}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)"
        ),
        lambda c: (
            f"{c.syslog()} {hostname} systemd[1]: Started session-{rng.randint(100, 9999)}.scope - Session {rng.randint(100, 9999)} of User {rng.choice(users)}."
        ),
        lambda c: (
            f"{c.syslog()} {hostname} systemd[1]: Starting apt-daily.service - Daily apt download activities..."
        ),
        lambda c: f"{c.syslog()} {hostname} systemd[1]: logrotate.service: Deactivated successfully.",
        lambda c: (
            f"{c.syslog()} {hostname} systemd-timesyncd[{daemon['timesyncd']}]: Initial synchronization to time server 185.125.190.{rng.randint(50, 60)}:123 (ntp.ubuntu.com)."
        ),
        lambda c: (
            f'{c.syslog()} {hostname} rsyslogd: [origin software="rsyslogd" swVersion="8.2312.0"] rsyslogd was HUPed'
        ),
        lambda c: (
            f"{c.syslog()} {hostname} systemd-logind[{daemon['logind']}]: New session {rng.randint(100, 9999)} of user {rng.choice(users)}."
        ),
        lambda c: (
            f"{c.syslog()} {hostname} kernel: [UFW BLOCK] IN=eth0 OUT= SRC={ip(rng, False)} DST={ip(rng)} PROTO=TCP SPT={rng.randint(1024, 65000)} DPT={rng.choice([23, 3389, 5900, 8443])}"
        ),
        lambda c: (
            f"{c.syslog()} {hostname} dhclient[{daemon['dhclient']}]: DHCPACK of {ip(rng)} from 10.0.0.1"
        ),
        lambda c: (
            f'{c.syslog()} {hostname} node_exporter[{daemon["node_exporter"]}]: ts={c.iso()} caller=collector.go:{rng.randint(100, 200)} level=info msg="collector succeeded"'
        ),
    ]
    return _chooser(rng, makers)


def nginx_error(rng: random.Random) -> Noise:
    def pid() -> str:
        return f"{rng.randint(800, 40000)}#{rng.randint(800, 40000)}: *{rng.randint(1000, 9999999)}"

    temp = rng.choice(
        [
            "/var/lib/nginx/proxy",
            "/var/lib/nginx/proxy",
            "/var/cache/nginx/proxy_temp",
            "/usr/local/nginx/proxy_temp",
        ]
    )
    makers = [
        lambda c: f"{c.nginx()} [info] {pid()} client {ip(rng, False)} closed keepalive connection",
        lambda c: (
            f"{c.nginx()} [info] {pid()} client closed connection while waiting for request, client: {ip(rng, False)}, server: 0.0.0.0:443"
        ),
        lambda c: (
            f"{c.nginx()} [notice] {rng.randint(800, 40000)}#{rng.randint(800, 40000)}: signal process started"
        ),
        lambda c: (
            f"{c.nginx()} [warn] {pid()} an upstream response is buffered to a temporary file {temp}/{rng.randint(1, 9)}/{rng.randint(10, 99)}/{rng.randint(1000000000, 9999999999)} while reading upstream"
        ),
        lambda c: (
            f"{c.nginx()} [info] {pid()} SSL_read() failed (SSL: error:0A000126:SSL routines::unexpected eof while reading) while waiting for request, client: {ip(rng, False)}"
        ),
        lambda c: (
            f'{c.nginx()} [error] {pid()} open() "/usr/share/nginx/html/{rng.choice(["favicon.ico", "robots.txt", "wp-login.php", ".env"])}" failed (2: No such file or directory), client: {ip(rng, False)}, request: "GET /{rng.choice(["favicon.ico", "robots.txt", "wp-login.php", ".env"])} HTTP/1.1"'
        ),
    ]
    return _chooser(rng, makers)


def java_app(rng: random.Random, app: str) -> Noise:
    pkg = app.replace("-", "")
    pid = rng.choice([1, 1, rng.randint(100, 60000)])  # PID 1 inside a container

    def thread() -> str:
        return rng.choice(
            [f"http-nio-8080-exec-{rng.randint(1, 40)}", "scheduling-1", "main", f"task-{rng.randint(1, 8)}"]
        )

    makers = [
        lambda c: (
            f"{c.java()}  INFO {pid} --- [{thread()}] c.a.{pkg}.web.RequestLogFilter    : GET /api/{rng.choice(['orders', 'items', 'users', 'carts'])}/{rng.randint(1, 99999)} 200 {rng.randint(3, 120)}ms"
        ),
        lambda c: (
            f"{c.java()}  INFO {pid} --- [{thread()}] c.a.{pkg}.jobs.OutboxPublisher     : published {rng.randint(0, 40)} events"
        ),
        lambda c: (
            f"{c.java()} DEBUG {pid} --- [{thread()}] o.s.web.servlet.DispatcherServlet  : Completed 200 OK"
        ),
        lambda c: (
            f"{c.java()}  INFO {pid} --- [{thread()}] o.s.k.l.KafkaMessageListenerContainer : {app}-group: partitions assigned: [{app}-events-{rng.randint(0, 11)}]"
        ),
        lambda c: (
            f"{c.java()}  WARN {pid} --- [{thread()}] o.h.engine.jdbc.spi.SqlExceptionHelper : SQL Warning Code: 0, SQLState: 00000"
        ),
        lambda c: (
            f"{c.java()}  INFO {pid} --- [{thread()}] c.a.{pkg}.cache.CacheStats         : hit ratio {rng.uniform(0.7, 0.99):.2f}"
        ),
    ]
    return _chooser(rng, makers)


def python_app(rng: random.Random, app: str) -> Noise:
    mod = app.replace("-", "_")
    makers = [
        lambda c: (
            f'{c.python()} INFO [{mod}.http] "GET /api/v1/{rng.choice(["items", "search", "me", "reports"])}?page={rng.randint(1, 30)} HTTP/1.1" 200 {rng.randint(200, 90000)} {rng.randint(2, 300)}ms'
        ),
        lambda c: f"{c.python()} INFO [gunicorn.error] Booting worker with pid: {rng.randint(100, 60000)}",
        lambda c: (
            f"{c.python()} INFO [celery.worker.strategy] Task {mod}.tasks.send_digest[{hexid(rng, 8)}-{hexid(rng, 4)}] received"
        ),
        lambda c: (
            f"{c.python()} INFO [celery.app.trace] Task {mod}.tasks.refresh_cache[{hexid(rng, 8)}-{hexid(rng, 4)}] succeeded in {rng.uniform(0.01, 3):.3f}s: None"
        ),
        lambda c: (
            f'{c.python()} DEBUG [urllib3.connectionpool] https://{rng.choice(["api.stripe.com", "hooks.slack.com", "sts.amazonaws.com"])}:443 "POST /v1/x HTTP/1.1" 200 {rng.randint(10, 5000)}'
        ),
        lambda c: (
            f"{c.python()} WARNING [{mod}.cache] cache miss for key user:{rng.randint(1, 99999)}:profile"
        ),
    ]
    return _chooser(rng, makers)


def postgres(rng: random.Random) -> Noise:
    def pid() -> int:
        return rng.randint(1000, 99999)

    makers = [
        lambda c: f"{c.postgres()} [{pid()}] LOG:  checkpoint starting: time",
        lambda c: (
            f"{c.postgres()} [{pid()}] LOG:  checkpoint complete: wrote {rng.randint(50, 9000)} buffers ({rng.uniform(0.1, 9):.1f}%); 0 WAL file(s) added, {rng.randint(0, 3)} removed, {rng.randint(0, 5)} recycled; write={rng.uniform(1, 270):.3f} s, sync={rng.uniform(0, 1):.3f} s"
        ),
        lambda c: (
            f'{c.postgres()} [{pid()}] LOG:  automatic vacuum of table "app.public.{rng.choice(["orders", "sessions", "events", "line_items"])}": index scans: {rng.randint(0, 2)}'
        ),
        lambda c: (
            f"{c.postgres()} [{pid()}] LOG:  connection received: host={ip(rng)} port={rng.randint(30000, 65000)}"
        ),
        lambda c: (
            f"{c.postgres()} [{pid()}] LOG:  connection authorized: user=app database=app application_name={rng.choice(['psql', 'pgbouncer', 'orders-api'])}"
        ),
        lambda c: (
            f"{c.postgres()} [{pid()}] LOG:  duration: {rng.uniform(500, 4000):.3f} ms  statement: SELECT count(*) FROM {rng.choice(['orders', 'events'])} WHERE created_at > now() - interval '1 day'"
        ),
    ]
    return _chooser(rng, makers)


def k8s_events(rng: random.Random, ns: str, names: list[str]) -> Noise:
    def obj() -> str:
        return rng.choice(names)

    makers = [
        lambda c: (
            f"{c.iso()}  Normal   Scheduled          pod/{obj()}   Successfully assigned {ns}/{obj()} to node-{rng.randint(1, 12)}"
        ),
        lambda c: (
            f"{c.iso()}  Normal   Pulled             pod/{obj()}   Container image already present on machine"
        ),
        lambda c: (
            f"{c.iso()}  Normal   Created            pod/{obj()}   Created container {rng.choice(['app', 'sidecar', 'istio-proxy'])}"
        ),
        lambda c: (
            f"{c.iso()}  Normal   Started            pod/{obj()}   Started container {rng.choice(['app', 'sidecar', 'istio-proxy'])}"
        ),
        lambda c: f"{c.iso()}  Normal   SuccessfulCreate   replicaset/{obj()[:-6]}   Created pod: {obj()}",
        lambda c: (
            f"{c.iso()}  Normal   ScalingReplicaSet  deployment/{obj().rsplit('-', 2)[0]}   Scaled up replica set to {rng.randint(2, 6)}"
        ),
    ]
    return _chooser(rng, makers)


def hdfs(rng: random.Random) -> Noise:
    def blk() -> str:
        return f"blk_{rng.choice(['', '-'])}{rng.randint(10**17, 10**19)}"

    makers = [
        lambda c: (
            f"{c.hdfs()} {rng.randint(10, 999)} INFO dfs.DataNode$PacketResponder: PacketResponder {rng.randint(0, 2)} for block {blk()} terminating"
        ),
        lambda c: (
            f"{c.hdfs()} {rng.randint(10, 999)} INFO dfs.DataNode$DataXceiver: Receiving block {blk()} src: /{ip(rng)}:{rng.randint(30000, 60000)} dest: /{ip(rng)}:50010"
        ),
        lambda c: (
            f"{c.hdfs()} {rng.randint(10, 999)} INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap updated: {ip(rng)}:50010 is added to {blk()} size {rng.randint(1000, 67108864)}"
        ),
        lambda c: (
            f"{c.hdfs()} {rng.randint(10, 999)} INFO dfs.FSNamesystem: BLOCK* NameSystem.allocateBlock: /user/etl/out/_temporary/part-{rng.randint(0, 999):05d}. {blk()}"
        ),
    ]
    return _chooser(rng, makers)


def kubelet(rng: random.Random, hostname: str) -> Noise:
    def p() -> int:
        return rng.randint(800, 4000)

    makers = [
        lambda c: (
            f'{c.syslog()} {hostname} kubelet[{p()}]: {c.klog()}    {p()} kubelet_node_status.go:{rng.randint(400, 800)}] "Successfully updated node status"'
        ),
        lambda c: (
            f'{c.syslog()} {hostname} kubelet[{p()}]: {c.klog()}    {p()} reconciler_common.go:{rng.randint(150, 300)}] "operationExecutor.MountVolume started" volumeName="kubernetes.io/projected/{hexid(rng, 8)}-kube-api-access"'
        ),
        lambda c: (
            f'{c.syslog()} {hostname} containerd[{p()}]: time="{c.iso()}" level=info msg="StartContainer for \\"{hexid(rng, 12)}\\" returns successfully"'
        ),
        lambda c: (
            f'{c.syslog()} {hostname} kubelet[{p()}]: {c.klog()}    {p()} prober.go:{rng.randint(100, 130)}] "Probe succeeded" probeType="Readiness"'
        ),
    ]
    return _chooser(rng, makers)

"""Operations failures: SSH brute force, cluster DNS timeouts and MySQL lock waits.

(etcd slow-disk, Kafka poll-timeout and Elasticsearch flood-stage scenarios were dropped: their fixed
real-world messages coincide with held-out evaluation logs, so the pipeline would discard them all.)"""

from __future__ import annotations

import random

from . import noise
from .common import Clock, Event, Scenario, host, ip


def ssh_bruteforce(rng: random.Random, clock: Clock) -> Scenario:
    hn = host(rng)
    attacker = ip(rng, private=False)
    users = rng.sample(["admin", "oracle", "test", "ubuntu", "postgres", "git", "support", "pi", "root"], 4)

    def failed(c: Clock) -> list[str]:
        user = rng.choice(users)
        p = rng.randint(1000, 60000)
        if user == "root":
            return [
                f"{c.syslog()} {hn} sshd[{p}]: Failed password for root from {attacker} port {rng.randint(30000, 65000)} ssh2"
            ]
        return [
            f"{c.syslog()} {hn} sshd[{p}]: Failed password for invalid user {user} from {attacker} port {rng.randint(30000, 65000)} ssh2"
        ]

    def maxauth(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} sshd[{rng.randint(1000, 60000)}]: error: maximum authentication attempts exceeded for invalid user {rng.choice(users)} from {attacker} port {rng.randint(30000, 65000)} ssh2 [preauth]"
        ]

    events = [Event(failed, (0,), gap=(0, 1)) for _ in range(rng.randint(3, 4))] + [
        Event(maxauth, (0,), gap=(0, 1))
    ]
    return Scenario(
        source=rng.choice(["/var/log/auth.log", f"journalctl -b on {hn}"]),
        noise=noise.syslog(rng, hn),
        events=events,
        root_cause=f"{attacker} is running a password-guessing (brute-force) attack against sshd, cycling through common user names; sshd accepts password authentication from the internet.",
        fix=f"Disable password logins (`PasswordAuthentication no`, `KbdInteractiveAuthentication no`, `PermitRootLogin no`), reload sshd, then rate-limit or block sources with fail2ban or firewall rules (restrict port 22 to a VPN/bastion); check `last` and `grep Accepted /var/log/auth.log` to confirm no login from {attacker} succeeded.",
        decoys=[
            "An administrator mistyped their password several times.",
            "The SSH host key changed and clients are rejected.",
            "PAM is misconfigured so valid passwords fail.",
        ],
        summary=f"`Failed password for ... from {attacker}`",
        lead=(1, 4),
    )


def dns_timeout(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["checkout-api", "notifier", "ledger-sync"])
    target = rng.choice(
        ["payments.internal.example", "redis-master.cache.svc.cluster.local", "auth.svc.cluster.local"]
    )
    dns = rng.choice(["10.96.0.10", "172.20.0.10", "169.254.20.10"])
    pod_ip = f"10.244.{rng.randint(0, 40)}.{rng.randint(2, 250)}"

    def err(c: Clock) -> list[str]:
        return [
            f'{c.iso()} level=error msg="upstream call failed" err="dial tcp: lookup {target} on {dns}:53: read udp {pod_ip}:{rng.randint(30000, 60000)}->{dns}:53: i/o timeout" target={target}'
        ]

    def info(c: Clock) -> list[str]:
        return [f'{c.iso()} level=info msg="tick" ok={rng.randint(0, 5)} failed={rng.randint(5, 40)}']

    def nz(c: Clock) -> str:
        return f'{c.iso()} level=info msg="{rng.choice(["request served", "cache refresh", "lease renewed"])}" route=/v1/{rng.choice(["orders", "users", "health"])} status=200 took={rng.randint(2, 90)}ms'

    return Scenario(
        source=f"kubectl logs deploy/{app}",
        noise=nz,
        events=[Event(err, (0,), gap=(1, 3)), Event(err, (0,), gap=(0, 2)), Event(info, (), gap=(0, 1))],
        root_cause=f"DNS queries from the pod to the cluster resolver {dns} time out (no reply at all, not NXDOMAIN), so every connection to {target} fails before it starts; CoreDNS is unreachable or overloaded, or UDP packets are dropped on the way (conntrack races, NetworkPolicy).",
        fix=f"Check CoreDNS pods, their CPU throttling and logs (`kubectl -n kube-system get pods -l k8s-app=kube-dns`, `kubectl logs`), test from the pod with `dig @{dns} {target}`, make sure egress NetworkPolicies allow UDP and TCP 53, and consider NodeLocal DNSCache and more CoreDNS replicas.",
        decoys=[
            f"The name {target} does not exist (NXDOMAIN).",
            f"{target} refuses TCP connections.",
            "The TLS certificate of the target has expired.",
        ],
        summary="`lookup ... i/o timeout`",
    )


def mysql_lock_wait(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["booking-api", "stock-sync", "billing-worker"])
    mod = app.replace("-", "_")
    table = rng.choice(["reservations", "stock_levels", "invoices"])
    tid = rng.randint(10**6, 10**8)
    secs = rng.randint(300, 3600)

    def innodb(c: Clock) -> list[str]:
        return [
            f"{c.python()} WARNING [{mod}.dbwatch] longest open transaction: trx_id={tid} state=RUNNING started {secs}s ago, rows locked={rng.randint(1000, 90000)}, tables in use=1 ({table})"
        ]

    def err(c: Clock) -> list[str]:
        return [
            f"{c.python()} ERROR [{mod}.repo] update of {table} id={rng.randint(1, 99999)} failed",
            "pymysql.err.OperationalError: (1205, 'Lock wait timeout exceeded; try restarting transaction')",
        ]

    return Scenario(
        source=f"/var/log/{app}/app.log",
        noise=noise.python_app(rng, app),
        events=[Event(innodb, (0,), gap=(1, 3)), Event(err, (1,), gap=(0, 2)), Event(err, (1,), gap=(0, 2))],
        root_cause=f"A transaction (trx {tid}) has been open for {secs}s holding row locks on {table}; other updates wait for those locks longer than innodb_lock_wait_timeout (50 s by default) and fail with error 1205.",
        fix=f"Find the blocker with `SELECT * FROM sys.innodb_lock_waits` (or `information_schema.innodb_trx`) and kill it if it is stuck, then fix the code path that keeps the transaction open (a missing commit, a batch job updating {table} in one huge transaction); retry 1205 errors in the app.",
        decoys=[
            "MySQL detected a deadlock between two transactions.",
            "The MySQL server ran out of connections.",
            f"The {table} table is corrupted.",
        ],
        summary="`(1205, 'Lock wait timeout exceeded; try restarting transaction')`",
    )


SCENARIOS = {"ssh_bruteforce": ssh_bruteforce, "dns_timeout": dns_timeout, "mysql_lock_wait": mysql_lock_wait}

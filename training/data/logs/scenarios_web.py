"""Web and application failures: nginx upstream errors, unresolvable hosts, expired certificates,
JVM connection-pool exhaustion and heap exhaustion."""

from __future__ import annotations

import random
from datetime import timedelta

from . import noise
from .common import Clock, Event, Scenario, hexid, ip

_PATHS = [
    "/api/v1/orders",
    "/api/v1/checkout",
    "/graphql",
    "/api/search",
    "/login",
    "/api/v2/invoices/export",
]


def _nginx_ctx(rng: random.Random) -> dict:
    return {
        "server": rng.choice(["shop.example.com", "api.northwind.io", "app.globex.dev"]),
        "up": rng.choice(["127.0.0.1", ip(rng)]),
        "port": rng.choice([8000, 8080, 3000, 9000]),
        "pid": f"{rng.randint(800, 40000)}#{rng.randint(800, 40000)}",
    }


def nginx_refused(rng: random.Random, clock: Clock) -> Scenario:
    x = _nginx_ctx(rng)

    def err(c: Clock) -> list[str]:
        path = rng.choice(_PATHS)
        return [
            (
                f"{c.nginx()} [error] {x['pid']}: *{rng.randint(10**4, 10**7)} connect() failed (111: Connection refused) while connecting to upstream, "
                f'client: {ip(rng, False)}, server: {x["server"]}, request: "GET {path} HTTP/1.1", upstream: "http://{x["up"]}:{x["port"]}{path}", host: "{x["server"]}"'
            )
        ]

    events = [Event(err, (0,), gap=(0, 3)) for _ in range(2)]
    if rng.random() < 0.5:

        def no_live(c: Clock) -> list[str]:
            return [
                f"{c.nginx()} [error] {x['pid']}: *{rng.randint(10**4, 10**7)} no live upstreams while connecting to upstream, client: {ip(rng, False)}, server: {x['server']}"
            ]

        events.append(Event(no_live, (0,), gap=(0, 2)))
    return Scenario(
        source="/var/log/nginx/error.log",
        noise=noise.nginx_error(rng),
        events=events,
        root_cause=f"Nothing is listening on the upstream {x['up']}:{x['port']}: every proxied request gets ECONNREFUSED, so clients see 502 Bad Gateway. The backend process is down or listens on another port/interface.",
        fix=f"On {x['up']} check `ss -ltnp 'sport = :{x['port']}'` and the backend's service status/logs; restart it, or fix the port/bind address (e.g. it listens on 127.0.0.1 while nginx connects to the private IP) so it matches the `upstream` block.",
        decoys=[
            "The backend is too slow and nginx times out waiting for the response.",
            "A client sent a malformed request, which nginx rejected.",
            "nginx's worker_connections limit is exhausted.",
        ],
        summary="`connect() failed (111: Connection refused) while connecting to upstream`",
    )


def nginx_timeout(rng: random.Random, clock: Clock) -> Scenario:
    x = _nginx_ctx(rng)
    path = rng.choice(
        [
            "/api/v2/invoices/export",
            "/api/reports/annual",
            "/admin/search/reindex",
            "/api/v1/analytics/summary",
        ]
    )
    timeout = rng.choice([30, 60])

    def err(c: Clock) -> list[str]:
        return [
            (
                f"{c.nginx()} [error] {x['pid']}: *{rng.randint(10**4, 10**7)} upstream timed out (110: Connection timed out) while reading response header from upstream, "
                f'client: {ip(rng, False)}, server: {x["server"]}, request: "GET {path}?from=2024-01-01 HTTP/1.1", upstream: "http://{x["up"]}:{x["port"]}{path}?from=2024-01-01", host: "{x["server"]}"'
            )
        ]

    events = [Event(err, (0,), gap=(0, 4)) for _ in range(2)]
    return Scenario(
        source="/var/log/nginx/error.log",
        noise=noise.nginx_error(rng),
        events=events,
        root_cause=f"The backend accepts the connection but does not send response headers for {path} within proxy_read_timeout ({timeout}s), so nginx gives up and returns 504 Gateway Timeout; only this slow endpoint is affected.",
        fix=f"Profile {path} in the backend (slow query, missing index, synchronous export) and make it fast or asynchronous (job + polling); raise `proxy_read_timeout` for that location only if the long request is legitimate.",
        decoys=[
            "The backend is down and refuses connections.",
            "DNS resolution for the upstream fails.",
            "The client's network connection dropped.",
        ],
        summary="`upstream timed out (110: Connection timed out) while reading response header`",
    )


def nginx_host_not_found(rng: random.Random, clock: Clock) -> Scenario:
    name = rng.choice(["api.internal", "backend.svc.cluster.local", "auth.prod.local", "legacy-app"])
    conf = rng.choice(
        ["/etc/nginx/conf.d/default.conf", "/etc/nginx/sites-enabled/app", "/etc/nginx/conf.d/proxy.conf"]
    )
    line = rng.randint(5, 60)
    port = rng.choice([80, 8080, 9000])
    hn = f"proxy-{rng.randint(1, 9):02d}"
    p = rng.randint(300, 9000)

    def emerg(c: Clock) -> list[str]:
        return [
            f'{c.syslog()} {hn} nginx[{p}]: nginx: [emerg] host not found in upstream "{name}:{port}" in {conf}:{line}',
            f"{c.syslog()} {hn} nginx[{p}]: nginx: configuration file /etc/nginx/nginx.conf test failed",
        ]

    def failed(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} systemd[1]: nginx.service: Control process exited, code=exited, status=1/FAILURE",
            f"{c.syslog()} {hn} systemd[1]: Failed to start nginx.service - A high performance web server and a reverse proxy server.",
        ]

    return Scenario(
        source=rng.choice([f"journalctl -b on {hn}", "/var/log/syslog"]),
        noise=noise.syslog(rng, hn),
        events=[Event(emerg, (0,)), Event(failed, (1,), gap=(0, 1))],
        root_cause=f"nginx resolves upstream host names once at start-up; `{name}` does not resolve on this host, so the config test fails ({conf}:{line}) and nginx does not start.",
        fix=f"Make `{name}` resolvable (DNS record, /etc/hosts, correct search domain) or use an IP; for names that change, set `resolver <dns-ip> valid=30s;` and put the name in a variable in `proxy_pass` so it is resolved at request time. Check with `nginx -t`.",
        decoys=[
            "Port 80 is already in use by another web server.",
            "nginx lacks permission to read its config file.",
            "The upstream server is down and refuses connections.",
        ],
        summary="`host not found in upstream` (nginx -t failed)",
    )


def tls_expired(rng: random.Random, clock: Clock) -> Scenario:
    target = rng.choice(
        ["payments.partner-api.com", "ldap.corp.example", "vault.internal:8200", "s3.minio.lan:9000"]
    )
    expired = clock.now.replace(hour=rng.randint(0, 23)) - timedelta(days=rng.randint(1, 9))
    variant = rng.choice(["go", "java", "python"])
    app = rng.choice(["settlement", "sync-agent", "report-api"])
    if variant == "go":

        def err(c: Clock) -> list[str]:
            return [
                f'{c.iso()} level=error msg="request failed" err="Get \\"https://{target}/v1/health\\": tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time {c.now.strftime("%Y-%m-%dT%H:%M:%SZ")} is after {expired.strftime("%Y-%m-%dT%H:%M:%SZ")}"'
            ]

        lines = [Event(err, (0,)), Event(err, (0,), gap=(1, 3))]

        def nz(c: Clock) -> str:
            return f'{c.iso()} level=info msg="{rng.choice(["sync done", "cache warm", "lease renewed", "tick"])}" items={rng.randint(0, 500)}'
    elif variant == "java":

        def err(c: Clock) -> list[str]:
            return [
                f"{c.java()} ERROR 1 --- [task-{rng.randint(1, 8)}] c.a.{app.replace('-', '')}.client.PartnerClient : call to https://{target} failed",
                "javax.net.ssl.SSLHandshakeException: PKIX path validation failed: java.security.cert.CertPathValidatorException: validity check failed",
                "\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:130)",
                "\tat java.base/sun.security.ssl.TransportContext.fatal(TransportContext.java:378)",
                f"Caused by: java.security.cert.CertificateExpiredException: NotAfter: {expired.strftime('%a %b %d %H:%M:%S UTC %Y')}",
                "\tat java.base/sun.security.x509.CertificateValidity.valid(CertificateValidity.java:277)",
            ]

        lines = [Event(err, (1, 4))]
        nz = noise.java_app(rng, app)
    else:

        def err(c: Clock) -> list[str]:
            return [
                f"{c.python()} ERROR [{app.replace('-', '_')}.client] https://{target} unreachable",
                (
                    f"requests.exceptions.SSLError: HTTPSConnectionPool(host='{target.split(':')[0]}', port={target.split(':')[1] if ':' in target else 443}): Max retries exceeded with url: /v1/status "
                    "(Caused by SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: certificate has expired (_ssl.c:1006)')))"
                ),
            ]

        lines = [Event(err, (1,)), Event(err, (1,), gap=(1, 4))]
        nz = noise.python_app(rng, app)
    return Scenario(
        source=f"{app} logs",
        noise=nz,
        events=lines,
        root_cause=f"The TLS certificate presented by {target} has expired (NotAfter {expired.strftime('%Y-%m-%d')}), so certificate verification fails and every call from {app} is rejected during the handshake.",
        fix=f"Renew the certificate on {target} (e.g. `certbot renew` or reissue from the internal CA), deploy it with the full chain and reload the server; verify with `openssl s_client -connect {target if ':' in target else target + ':443'} | openssl x509 -noout -enddate` and alert on expiry 14-30 days ahead. Do not disable verification in the client.",
        decoys=[
            f"{app}'s clock is wrong by a few hours.",
            f"{target} is down and refuses connections.",
            f"{app} does not trust the certificate's issuing CA.",
        ],
        summary="certificate has expired / CertificateExpiredException",
    )


def hikari_exhausted(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["orders-api", "ledger", "inventory"])
    pkg = app.replace("-", "")
    pool = rng.choice([10, 15, 20, 25])
    wait = rng.choice([30000, 10000, 5000, 20000])
    name = rng.choice(
        ["HikariPool-1", f"{pkg.capitalize()}Pool", f"{pkg}-db", "primary-pool", "ReadWritePool"]
    )
    driver = rng.choice(
        [
            "org.postgresql.jdbc.PgConnection",
            "com.mysql.cj.jdbc.ConnectionImpl",
            "org.mariadb.jdbc.Connection",
        ]
    )
    ctrl = rng.choice(["OrderController", "AccountController", "StockController"])

    def stats(c: Clock) -> list[str]:
        return [
            f"{c.java()} DEBUG 1 --- [{name} housekeeper] com.zaxxer.hikari.pool.HikariPool        : {name} - Pool stats (total={pool}, active={pool}, idle=0, waiting={rng.randint(12, 90)})"
        ]

    def exc(c: Clock) -> list[str]:
        return [
            f"{c.java()} ERROR 1 --- [http-nio-8080-exec-{rng.randint(1, 200)}] o.a.c.c.C.[.[.[/].[dispatcherServlet]    : Servlet.service() threw exception",
            "org.springframework.transaction.CannotCreateTransactionException: Could not open JPA EntityManager for transaction",
            "\tat org.springframework.orm.jpa.JpaTransactionManager.doBegin(JpaTransactionManager.java:466)",
            f"\tat c.a.{pkg}.web.{ctrl}.create({ctrl}.java:{rng.randint(40, 200)})",
            f"Caused by: java.sql.SQLTransientConnectionException: {name} - Connection is not available, request timed out after {wait}ms (total={pool}, active={pool}, idle=0, waiting={rng.randint(12, 90)})",
            "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:686)",
        ]

    events = [Event(stats, (0,), gap=(1, 3)), Event(exc, (4,), gap=(0, 3))]
    if rng.random() < 0.5:

        def leak(c: Clock) -> list[str]:
            return [
                f"{c.java()}  WARN 1 --- [{name} housekeeper] com.zaxxer.hikari.pool.ProxyLeakTask     : Connection leak detection triggered for {driver}@{hexid(rng, 8)} on thread http-nio-8080-exec-{rng.randint(1, 200)}, stack trace follows"
            ]

        events.insert(0, Event(leak, (0,), gap=(1, 3)))
        cause = f"All {pool} connections of the Hikari pool {name} are checked out and not returned (the leak detector fired), so new requests wait {wait} ms for a connection and fail."
        fix = "Use the leak-detection stack trace to find the code path that keeps a connection (a transaction or stream left open, e.g. around a remote call) and close it; keep `leakDetectionThreshold` on. Raising `maximumPoolSize` only delays the failure."
    else:
        cause = f"The Hikari pool {name} is exhausted: all {pool} connections are busy (active={pool}, idle=0) with many threads waiting, so requests time out after {wait} ms waiting for a connection."
        fix = "Find what holds connections long (slow queries in `pg_stat_activity`, transactions spanning remote calls); fix those first, then size `spring.datasource.hikari.maximum-pool-size` against the database's max_connections; enable `leakDetectionThreshold` to catch leaks."
    return Scenario(
        source=f"/var/log/{app}/{app}.log",
        noise=noise.java_app(rng, app),
        events=events,
        root_cause=cause,
        fix=fix,
        decoys=[
            "The database server is down and refuses connections.",
            "The JPA entity mapping is invalid.",
            "The HTTP thread pool is exhausted by slow clients.",
        ],
        summary=f"`{name} - Connection is not available, request timed out`",
    )


def jvm_heap(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["search-indexer", "pricing-engine", "report-api"])
    pkg = app.replace("-", "")
    xmx = rng.choice([512, 1024, 2048])
    pid = rng.randint(1, 90000)
    where = rng.choice(["ReportBuilder.collectRows", "IndexBatch.addAll", "PriceCache.load"])

    def gc(c: Clock) -> list[str]:
        return [
            f"[{c.iso()}][info][gc] GC({rng.randint(900, 9000)}) Pause Full (G1 Compaction Pause) {xmx - rng.randint(1, 9)}M->{xmx - rng.randint(0, 2)}M({xmx}M) {rng.randint(900, 4000)}.{rng.randint(100, 999)}ms"
        ]

    def oom(c: Clock) -> list[str]:
        cls, method = where.split(".")
        return [
            "java.lang.OutOfMemoryError: Java heap space",
            f"Dumping heap to /var/tmp/java_pid{pid}.hprof ...",
            f'Exception in thread "{rng.choice(["main", "worker-3", "scheduling-1"])}" java.lang.OutOfMemoryError: Java heap space',
            "\tat java.base/java.util.Arrays.copyOf(Arrays.java:3541)",
            "\tat java.base/java.util.ArrayList.grow(ArrayList.java:237)",
            f"\tat c.a.{pkg}.{cls}.{method}({cls}.java:{rng.randint(40, 300)})",
        ]

    return Scenario(
        source=f"{app} stdout",
        noise=noise.java_app(rng, app),
        events=[Event(gc, (0,), gap=(1, 3)), Event(gc, (), gap=(0, 2)), Event(oom, (0, 5), gap=(0, 2))],
        root_cause=f"The JVM exhausted its {xmx} MB heap: back-to-back full GCs reclaim almost nothing, then `OutOfMemoryError: Java heap space` is thrown while {where} grows a list.",
        fix=f"Analyse /var/tmp/java_pid{pid}.hprof (Eclipse MAT) to confirm what {where} accumulates, stream or page the data instead of loading it all, and only then size -Xmx (or -XX:MaxRAMPercentage) to the real working set; keep -XX:+ExitOnOutOfMemoryError so the process restarts cleanly.",
        decoys=[
            "The container's memory limit was hit and the kernel OOM-killed the JVM.",
            "Metaspace is full because of class-loader leaks.",
            "The JVM cannot create more native threads.",
        ],
        summary="`java.lang.OutOfMemoryError: Java heap space`",
    )


def java_dns(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(["checkout", "user-profile", "notifications"])
    target = rng.choice(
        [
            "orders-db.prod.svc.cluster.local",
            "redis-master.cache",
            "kafka-0.kafka-headless.data.svc",
            "payments.internal.example",
        ]
    )

    def exc(c: Clock) -> list[str]:
        return [
            f"{c.java()} ERROR 1 --- [main] o.s.boot.SpringApplication               : Application run failed",
            "org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'dataSourceScriptDatabaseInitializer'",
            "\tat org.springframework.beans.factory.support.AbstractAutowireCapableBeanFactory.initializeBean(AbstractAutowireCapableBeanFactory.java:1806)",
            f"Caused by: java.net.UnknownHostException: {target}: Name or service not known",
            "\tat java.base/java.net.Inet6AddressImpl.lookupAllHostAddr(Native Method)",
        ]

    return Scenario(
        source=f"kubectl logs deploy/{app}",
        noise=noise.java_app(rng, app),
        events=[Event(exc, (0, 3))],
        root_cause=f"The host name `{target}` does not resolve (UnknownHostException), so Spring cannot create its DataSource-dependent beans and the application exits at start-up.",
        fix=f"Check the name from inside the pod (`getent hosts {target}` / `nslookup`), then fix the typo, namespace or Service name in the connection URL, or CoreDNS if nothing resolves (`kubectl -n kube-system logs -l k8s-app=kube-dns`).",
        decoys=[
            "The database rejected the application's credentials.",
            "The database is overloaded and refuses connections.",
            "A Spring bean has a circular dependency.",
        ],
        summary="`java.net.UnknownHostException`",
    )


SCENARIOS = {
    "nginx_upstream_refused": nginx_refused,
    "nginx_upstream_timeout": nginx_timeout,
    "nginx_host_not_found": nginx_host_not_found,
    "tls_certificate_expired": tls_expired,
    "hikari_pool_exhausted": hikari_exhausted,
    "jvm_heap_exhausted": jvm_heap,
    "dns_unknown_host": java_dns,
}

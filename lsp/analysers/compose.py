"""docker-compose rules (DC...): the `services` mapping of a Compose file, short and long syntax alike."""

from __future__ import annotations

import re

from yaml.nodes import MappingNode, Node, ScalarNode

from .common import has_url_credentials, image_tag_problem, is_literal_secret
from .findings import Fix, Span, StaticFinding, TextEdit, finding, rule
from .yaml_nodes import get, get_pair, is_true, items, scalar, seq, span_of

R_PRIVILEGED = rule(
    "DC001",
    "compose/privileged",
    "error",
    "Privileged service: full access to the host's devices and kernel.",
)
R_IMAGE = rule("DC002", "compose/mutable-image", "warning", "Image uses `latest` or no tag.")
R_DB_PORT = rule(
    "DC003",
    "compose/database-port-public",
    "warning",
    "A database port is published on all interfaces (0.0.0.0), reachable from the network.",
)
R_SECRET = rule(
    "DC004",
    "compose/secret-in-environment",
    "error",
    "A credential (or a URL with a password) is written in `environment`: use secrets or an untracked .env.",
)
R_RESTART = rule(
    "DC005",
    "compose/no-restart-policy",
    "info",
    "No restart policy: the service stays down after a crash or reboot.",
)
R_DOCKER_SOCK = rule(
    "DC006", "compose/docker-socket", "warning", "Mounts the Docker socket: that is root on the host."
)
R_HOST_NET = rule("DC007", "compose/host-network", "warning", "network_mode: host removes network isolation.")
R_VERSION = rule(
    "DC008",
    "compose/obsolete-version",
    "info",
    "The top-level `version` key is obsolete in the Compose specification.",
)
R_CAPS = rule(
    "DC009",
    "compose/dangerous-capabilities",
    "warning",
    "cap_add grants a powerful capability (SYS_ADMIN, NET_ADMIN, ALL).",
)

# Well-known ports of data stores that should not face the network.
DATABASE_PORTS = {
    5432: "PostgreSQL",
    3306: "MySQL/MariaDB",
    6379: "Redis",
    27017: "MongoDB",
    9200: "Elasticsearch",
    11211: "Memcached",
    5672: "RabbitMQ",
    2379: "etcd",
    1433: "SQL Server",
    9042: "Cassandra",
    8086: "InfluxDB",
    5984: "CouchDB",
    7687: "Neo4j",
    1521: "Oracle",
    26257: "CockroachDB",
    9000: "ClickHouse",
    8123: "ClickHouse",
}
_DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE"}
_PORT = re.compile(
    r"^(?:(?P<ip>\[[^\]]*\]|[\d.]+|[^:]*?):)??(?:(?P<host>[\d\-]*):)?(?P<container>\d+(?:-\d+)?)(?:/\w+)?$"
)


def is_compose(doc: Node) -> bool:
    services = get(doc, "services")
    return isinstance(services, MappingNode) and any(
        get(v, "image") is not None or get(v, "build") is not None for _, v in items(services)
    )


def analyse_compose(doc: Node) -> list[StaticFinding]:
    out: list[StaticFinding] = []
    version = get_pair(doc, "version")
    if version is not None:
        k, v = version
        last = v.end_mark.line if v.end_mark.column > 0 else v.end_mark.line - 1
        span = Span(k.start_mark.line, 0, last + 1, 0)
        out.append(
            finding(
                R_VERSION,
                "`version` is obsolete: Compose ignores it and warns on every run.",
                span_of(k),
                Fix("Remove the version key", (TextEdit(span, ""),)),
            )
        )
    for key, svc in items(get(doc, "services")):
        if isinstance(svc, MappingNode):
            out += _analyse_service(key.value, key, svc)
    return out


def _analyse_service(name: str, key: ScalarNode, svc: MappingNode) -> list[StaticFinding]:
    out = []
    priv = get_pair(svc, "privileged")
    if priv and is_true(priv[1]):
        out.append(
            finding(
                R_PRIVILEGED,
                f"Service `{name}` is privileged: it can reach every host device, so a "
                "compromise is a host compromise.",
                span_of(priv[0]),
                Fix("Set privileged: false", (TextEdit(span_of(priv[1]), "false"),)),
            )
        )
    image = get(svc, "image")
    problem = image_tag_problem(scalar(image) or "") if image is not None else None
    if problem and get(svc, "build") is None:
        what = "the `latest` tag" if problem == "latest" else "no tag (so `latest`)"
        out.append(
            finding(
                R_IMAGE,
                f"Image `{scalar(image)}` uses {what}: `docker compose pull` can change what "
                "runs. Pin a version.",
                span_of(image),
            )
        )
    for port in seq(get(svc, "ports")):
        out += _check_port(name, port)
    out += _check_environment(get(svc, "environment"))
    # A service with neither image nor build is completed elsewhere: by the file this one overrides
    # (compose.override.yaml, `-f` overlays) or through `extends`. What it leaves out is not missing.
    complete = get(svc, "extends") is None and (image is not None or get(svc, "build") is not None)
    if complete and get(svc, "restart") is None and get(get(svc, "deploy"), "restart_policy") is None:
        out.append(
            finding(
                R_RESTART,
                f"Service `{name}` has no `restart` policy: after a crash or a reboot it "
                "stays down (e.g. `restart: unless-stopped`).",
                span_of(key),
            )
        )
    for vol in seq(get(svc, "volumes")):
        src = scalar(vol) if isinstance(vol, ScalarNode) else scalar(get(vol, "source"))
        if src and src.split(":")[0].rstrip("/") in ("/var/run/docker.sock", "/run/docker.sock"):
            out.append(
                finding(
                    R_DOCKER_SOCK,
                    f"Service `{name}` mounts the Docker socket: anything in it can start "
                    "a privileged container, i.e. it is root on the host.",
                    span_of(vol),
                )
            )
    nm = get(svc, "network_mode")
    if scalar(nm) == "host":
        out.append(
            finding(
                R_HOST_NET,
                f"Service `{name}` uses the host's network stack: its ports are all exposed "
                "and it can reach host-only services.",
                span_of(nm),
            )
        )
    for cap in seq(get(svc, "cap_add")):
        v = (scalar(cap) or "").upper().removeprefix("CAP_")
        if v in _DANGEROUS_CAPS:
            out.append(
                finding(
                    R_CAPS, f"Service `{name}` adds {v}, which is close to root on the host.", span_of(cap)
                )
            )
    return out


def _container_ports(spec: str) -> list[int]:
    if "-" in spec:
        a, _, b = spec.partition("-")
        if a.isdigit() and b.isdigit() and int(b) - int(a) < 100_000:
            return [p for p in DATABASE_PORTS if int(a) <= p <= int(b)]
        return []
    return [int(spec)] if spec.isdigit() else []


_VARIABLE = re.compile(r"\$\{\w+(?:(:?-)([^}]*)|:?[?+][^}]*)?\}|\$\w+")


def _interpolate(value: str) -> str:
    """``${VAR:-default}`` as its default; any other variable as 65535, a port no database uses, so an
    unknown address is never taken for 0.0.0.0 while an unknown host port still counts as published."""
    return _VARIABLE.sub(lambda m: m.group(2) if m.group(1) else "65535", value)


def _check_port(service: str, port: Node) -> list[StaticFinding]:
    if isinstance(port, MappingNode):  # long syntax
        target = scalar(get(port, "target")) or ""
        host_ip = scalar(get(port, "host_ip")) or ""
        dbs = [p for p in _container_ports(target) if p in DATABASE_PORTS]
        if dbs and host_ip in ("", "0.0.0.0", "::", "[::]"):
            return [
                finding(
                    R_DB_PORT,
                    f"Service `{service}` publishes {DATABASE_PORTS[dbs[0]]} port {dbs[0]} on all "
                    "interfaces: set host_ip: 127.0.0.1 or drop the port and use the compose network.",
                    span_of(port),
                )
            ]
        return []
    value = scalar(port)
    if value is None:
        return []
    resolved = _interpolate(value.strip())
    m = _PORT.match(resolved)
    if not m:
        return []
    dbs = [p for p in _container_ports(m.group("container")) if p in DATABASE_PORTS]
    ip = (m.group("ip") or "").strip("[]")
    if not dbs or ip not in ("", "0.0.0.0", "::"):
        return []
    span = span_of(port)
    fix = None
    if (
        m.group("host") is not None
        and resolved == value.strip()
        and isinstance(port, ScalarNode)
        and span.line == span.end_line
    ):
        quote = 1 if port.style in ("'", '"') else 0
        if ip:
            start = span.col + quote
            edit = TextEdit(Span.on_line(span.line, start, start + len(m.group("ip"))), "127.0.0.1")
        else:
            start = span.col + quote
            edit = TextEdit(Span.on_line(span.line, start, start), "127.0.0.1:")
        if quote or port.style is None:
            fix = Fix("Bind the port to 127.0.0.1", (edit,))
    return [
        finding(
            R_DB_PORT,
            f"Service `{service}` publishes {DATABASE_PORTS[dbs[0]]} port {dbs[0]} on all "
            "interfaces (Docker also bypasses ufw/firewalld rules): bind it to 127.0.0.1 or use the "
            "compose network only.",
            span,
            fix,
        )
    ]


def _check_environment(env: Node | None) -> list[StaticFinding]:
    out = []
    if isinstance(env, MappingNode):
        for k, v in items(env):
            if is_literal_secret(k.value, scalar(v)) or has_url_credentials(scalar(v)):
                out.append(
                    finding(
                        R_SECRET,
                        f"`{k.value}` is a literal credential in the compose file: anyone with "
                        "the repo has it. Use `secrets:` or `${{VAR}}` from an untracked .env.",
                        span_of(v),
                    )
                )
    else:
        for item in seq(env):
            text = scalar(item) or ""
            k, eq, v = text.partition("=")
            if eq and (is_literal_secret(k, v) or has_url_credentials(v)):
                out.append(
                    finding(
                        R_SECRET,
                        f"`{k}` is a literal credential in the compose file: anyone with the "
                        "repo has it. Use `secrets:` or `${{VAR}}` from an untracked .env.",
                        span_of(item),
                    )
                )
    return out

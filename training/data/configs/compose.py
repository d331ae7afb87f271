"""docker-compose files: parametrised app + Postgres (+ Redis) stacks, and their defects."""

from __future__ import annotations

import random

from .doc import Defect, Doc, Injector, Invented, Line

KIND = "compose"

_APPS = ["shop", "wiki", "tracker", "crm", "forum", "status-page", "analytics", "helpdesk", "booking", "cms"]


def base(rng: random.Random) -> tuple[Doc, str]:
    app = rng.choice(_APPS)
    svc = rng.choice(["web", "api", "app", "backend"])
    ver = f"{rng.randint(1, 3)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    image = (
        f"{rng.choice(['ghcr.io/acme', 'registry.gitlab.com/northwind', 'docker.io/initech'])}/{app}:{ver}"
    )
    port = rng.choice([8000, 8080, 3000, 5000])
    host_port = rng.choice([80, 8080, 8000, port])
    pg = rng.choice(["postgres:16.4-alpine", "postgres:15.8", "postgres:17.0-bookworm"])
    lines: list = [
        ("services:", ""),
        (f"  {svc}:", "svc"),
        (f"    image: {image}", "image"),
        ("    restart: unless-stopped", "restart"),
        ("    ports:", ""),
        (f'      - "{host_port}:{port}"', "webport"),
        ("    environment:", "env"),
        ("      DATABASE_HOST: db", ""),
        (f"      DATABASE_NAME: {app.replace('-', '_')}", ""),
        ("      DATABASE_PASSWORD_FILE: /run/secrets/db_password", "websecret"),
    ]
    redis = rng.random() < 0.5
    if redis:
        lines.append(("      REDIS_URL: redis://cache:6379/0", ""))
    lines += [
        ("    secrets:", ""),
        ("      - db_password", ""),
        ("    depends_on:", ""),
        ("      db:", "dep"),
        ("        condition: service_healthy", "dep"),
    ]
    if redis:
        lines += [("      cache:", "depcache"), ("        condition: service_started", "depcache")]
    if rng.random() < 0.5:
        lines += [("    read_only: true", ""), ("    tmpfs:", ""), ("      - /tmp", "")]
    lines += [
        "",
        ("  db:", "db"),
        (f"    image: {pg}", "dbimage"),
        ("    restart: unless-stopped", "dbrestart"),
        ("    environment:", ""),
        (f"      POSTGRES_DB: {app.replace('-', '_')}", ""),
        (f"      POSTGRES_USER: {app.replace('-', '_')}", ""),
        ("      POSTGRES_PASSWORD_FILE: /run/secrets/db_password", "dbsecret"),
        ("    secrets:", ""),
        ("      - db_password", ""),
        ("    volumes:", "dbvol"),
        ("      - pgdata:/var/lib/postgresql/data", "dbvol"),
    ]
    if rng.random() < 0.6:
        lines += [("    ports:", ""), ('      - "127.0.0.1:5432:5432"', "dbport")]
    user = app.replace("-", "_")
    lines += [
        ("    healthcheck:", ""),
        (f'      test: ["CMD-SHELL", "pg_isready -U {user} -d {user}"]', ""),
        (f"      interval: {rng.choice([5, 10])}s", ""),
        ("      timeout: 5s", ""),
        (f"      retries: {rng.choice([5, 10])}", ""),
    ]
    if redis:
        lines += [
            "",
            ("  cache:", ""),
            (f"    image: redis:{rng.choice(['7.4-alpine', '7.2.5'])}", "cacheimage"),
            ("    restart: unless-stopped", ""),
            (
                f'    command: ["redis-server", "--appendonly", "yes", "--maxmemory", "{rng.choice([128, 256, 512])}mb"]',
                "",
            ),
        ]
    lines += [
        "",
        ("volumes:", ""),
        ("  pgdata:", ""),
        "",
        ("secrets:", ""),
        ("  db_password:", ""),
        ("    file: ./secrets/db_password.txt", ""),
    ]
    path = rng.choice(["docker-compose.yml", "compose.yaml", f"deploy/{app}/docker-compose.yml"])
    return Doc(lines), path


def _latest(doc: Doc, rng: random.Random) -> Defect:
    tag = rng.choice(["image", "dbimage"])
    line = doc.get(tag)
    image = line.text.split("image: ", 1)[1]
    repo = image.rsplit(":", 1)[0]
    line.text = f"    image: {repo}:latest" if rng.random() < 0.6 else f"    image: {repo}"
    token = line.text.split("image: ", 1)[1]
    return Defect(
        "image-latest-tag",
        line,
        token,
        f"`{token}` floats on the `latest` tag; `docker compose pull` can bring in a new major version"
        + (
            " and Postgres refuses to start on a data directory from an older major"
            if tag == "dbimage"
            else ""
        ),
        f"pin the version, e.g. `image: {image}`.",
    )


def _plain_password(doc: Doc, rng: random.Random) -> Defect:
    tag = rng.choice(["dbsecret", "websecret"])
    line = doc.get(tag)
    value = rng.choice(["postgres", "example", "Passw0rd!", "letmein2024", "app123"])
    key = "POSTGRES_PASSWORD" if tag == "dbsecret" else "DATABASE_PASSWORD"
    line.text = f"      {key}: {value}"
    return Defect(
        "secret-in-env",
        line,
        f"{key}: {value}",
        "The database password is written in plain text in the compose file (and shows up in `docker inspect`)",
        f"keep it in the `db_password` secret and use `{key}_FILE: /run/secrets/db_password`.",
    )


def _db_port(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("dbport")
    line.text = '      - "5432:5432"'
    return Defect(
        "port-exposed-all-interfaces",
        line,
        '"5432:5432"',
        "Postgres is published on all host interfaces; Docker's iptables rules bypass ufw/firewalld, so the database is reachable from outside",
        'bind it to loopback (`"127.0.0.1:5432:5432"`) or drop the port mapping and use the compose network.',
    )


def _docker_sock(doc: Doc, rng: random.Random) -> Defect:
    anchor = doc.get("restart")
    line = Line("      - /var/run/docker.sock:/var/run/docker.sock", "sock")
    doc.insert_after(anchor, [Line("    volumes:"), line])
    return Defect(
        "docker-socket-mount",
        line,
        "docker.sock",
        "The Docker socket is mounted into the application container, which is equivalent to root on the host",
        "remove the mount; if the app must talk to Docker, use a socket proxy that allows only the needed API calls.",
    )


def _privileged(doc: Doc, rng: random.Random) -> Defect:
    anchor = doc.get("image")
    line = Line("    privileged: true", "privileged")
    doc.insert_after(anchor, [line])
    svc = doc.get("svc").text.strip().rstrip(":")
    return Defect(
        "privileged-container",
        line,
        "privileged: true",
        f"Service `{svc}` runs privileged, with all capabilities and host devices",
        "remove `privileged: true`; add a single `cap_add` entry if one capability is really needed.",
    )


def _no_restart(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("restart")
    line = doc.get("svc")
    svc = line.text.strip().rstrip(":")
    return Defect(
        "missing-restart-policy",
        line,
        f"{svc}:",
        f"Service `{svc}` has no restart policy (default `no`), so it stays down after a crash or a host reboot",
        "add `restart: unless-stopped`.",
    )


def _no_volume(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("dbvol")
    line = doc.get("db")
    return Defect(
        "db-without-volume",
        line,
        "db:",
        "The Postgres service has no volume for /var/lib/postgresql/data, so the data is lost when the container is recreated",
        'mount the named volume: `volumes: ["pgdata:/var/lib/postgresql/data"]`.',
    )


def _depends(doc: Doc, rng: random.Random) -> Defect:
    first = doc.get("dep")
    line = Line("      - db", "depshort")
    short = [line]
    if doc.has("depcache"):  # a list cannot mix with mapping entries: every dependency becomes a list item
        short.append(Line("      - cache", "depshort"))
        doc.remove("depcache")
    doc.insert_before(first, short)
    doc.remove("dep")
    return Defect(
        "depends-on-not-healthy",
        line,
        "- db",
        "`depends_on` in list form only waits for the db container to start, not for Postgres to accept connections, so the app fails on first boot",
        "use `depends_on: {db: {condition: service_healthy}}` with the db healthcheck.",
    )


def _host_net(doc: Doc, rng: random.Random) -> Defect:
    anchor = doc.get("image")
    line = Line("    network_mode: host", "hostnet")
    doc.insert_after(anchor, [line])
    return Defect(
        "host-network",
        line,
        "network_mode: host",
        "`network_mode: host` shares the host network stack: the `ports:` mapping is ignored and the service cannot reach `db` by name",
        "remove `network_mode: host` and keep the default bridge network.",
    )


INJECTORS = [
    Injector("image-latest-tag", ("image", "dbimage"), _latest),
    Injector("secret-in-env", ("dbsecret", "websecret"), _plain_password),
    Injector("port-exposed-all-interfaces", ("dbport",), _db_port),
    Injector("docker-socket-mount", ("restart",), _docker_sock),
    Injector("privileged-container", ("image",), _privileged),
    Injector("missing-restart-policy", ("restart", "svc"), _no_restart),
    Injector("db-without-volume", ("dbvol", "db"), _no_volume),
    Injector("depends-on-not-healthy", ("dep",), _depends),
    Injector("host-network", ("image",), _host_net, excludes=("privileged",)),
]

INVENTED = [
    Invented("restart", "`unless-stopped` is not a valid restart policy", "use `restart: always-unless`."),
    Invented(
        "dbrestart",
        "a database must never have a restart policy, it corrupts the data directory",
        "remove `restart` from db.",
    ),
    Invented("webport", "the port mapping is reversed: it must be CONTAINER:HOST", "swap the two numbers."),
    Invented(
        "env",
        "environment variables in compose must be given as a list, the mapping form is ignored",
        "rewrite them as `- KEY=value`.",
    ),
]

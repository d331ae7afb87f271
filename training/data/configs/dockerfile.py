"""Dockerfiles: parametrised clean bases (Python, Node, Go, Java, static site) and their defects."""

from __future__ import annotations

import json
import random

from .doc import Defect, Doc, Injector, Invented, Line

KIND = "dockerfile"


def _label(rng: random.Random, name: str) -> list[tuple[str, str]]:
    if rng.random() < 0.5:
        return []
    org = rng.choice(["acme", "northwind", "initech", "globex", "umbrella-labs", "hooli"])
    return [(f'LABEL org.opencontainers.image.source="https://git.{org}.io/platform/{name}"', "label")]


def _python(rng: random.Random, name: str) -> list[tuple[str, str]]:
    ver = rng.choice(["3.11", "3.12", "3.13"])
    distro = rng.choice(["-slim", "-slim-bookworm"])
    port = rng.choice([8000, 8080, 5000, 8001])
    pkgs = rng.sample(["libpq5", "curl", "tini", "libjpeg62-turbo", "ca-certificates", "libxml2"], 2)
    server = rng.choice(["gunicorn", "uvicorn", "worker"])
    if server == "gunicorn":
        cmd = [
            "gunicorn",
            "-b",
            f"0.0.0.0:{port}",
            "-w",
            str(rng.choice([2, 3, 4])),
            f"{name.replace('-', '_')}.wsgi:application",
        ]
    elif server == "uvicorn":
        cmd = ["uvicorn", f"{name.replace('-', '_')}.main:app", "--host", "0.0.0.0", "--port", str(port)]
    else:
        cmd = [
            "celery",
            "-A",
            name.replace("-", "_"),
            "worker",
            "--loglevel=info",
            f"--concurrency={rng.choice([2, 4, 8])}",
        ]
    lines = [
        (f"FROM python:{ver}{distro}", "from"),
        *_label(rng, name),
        ("ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1", "env"),
        (
            f"RUN apt-get update && apt-get install -y --no-install-recommends {' '.join(pkgs)} && rm -rf /var/lib/apt/lists/*",
            "apt",
        ),
        ("RUN useradd --create-home --uid 10001 app", "useradd"),
        ("WORKDIR /app", "workdir"),
        ("COPY requirements.txt .", "copyreq"),
        ("RUN pip install --no-cache-dir -r requirements.txt", "install"),
        ("COPY --chown=app:app . .", "copy"),
        ("USER app", "user"),
    ]
    if server != "worker":
        lines.append((f"EXPOSE {port}", "expose"))
        if rng.random() < 0.5:
            lines.append(
                (
                    f'HEALTHCHECK --interval=30s --timeout=3s CMD ["python", "-c", "import urllib.request; urllib.request.urlopen(\'http://127.0.0.1:{port}/healthz\')"]',
                    "healthcheck",
                )
            )
    lines.append((f"CMD {json.dumps(cmd)}", "cmd"))
    return lines


def _node(rng: random.Random, name: str) -> list[tuple[str, str]]:
    base = rng.choice(["node:20-bookworm-slim", "node:22-bookworm-slim", "node:20.17-alpine3.20"])
    port = rng.choice([3000, 8080, 4000])
    entry = rng.choice(["server.js", "dist/index.js", "build/main.js"])
    lines = [
        (f"FROM {base}", "from"),
        *_label(rng, name),
        ("ENV NODE_ENV=production", "env"),
        ("WORKDIR /usr/src/app", "workdir"),
        ("COPY package.json package-lock.json ./", "copyreq"),
        ("RUN npm ci --omit=dev && npm cache clean --force", "install"),
        ("COPY --chown=node:node . .", "copy"),
        ("USER node", "user"),
        (f"EXPOSE {port}", "expose"),
        (f'CMD ["node", "{entry}"]', "cmd"),
    ]
    return lines


def _go(rng: random.Random, name: str) -> list[tuple[str, str]]:
    gover = rng.choice(["1.22", "1.23"])
    final = rng.choice(["gcr.io/distroless/static-debian12:nonroot", "alpine:3.20"])
    port = rng.choice([8080, 9090, 8443])
    lines = [
        (f"FROM golang:{gover}-bookworm AS build", "from_build"),
        ("WORKDIR /src", "workdir"),
        ("COPY go.mod go.sum ./", "copyreq"),
        ("RUN go mod download", "install"),
        ("COPY . .", "copy"),
        (f'RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/{name} ./cmd/{name}', "build"),
        "",
        (f"FROM {final}", "from"),
        *_label(rng, name),
    ]
    if final.startswith("alpine"):
        lines += [("RUN apk add --no-cache ca-certificates && adduser -D -u 10001 app", "useradd")]
        user, user_tag = "app", "user"
    else:
        # the :nonroot distroless image already defaults to UID 65532, so dropping USER is no defect
        user, user_tag = "nonroot:nonroot", "user_default"
    lines += [
        (f"COPY --from=build /out/{name} /usr/local/bin/{name}", "copybin"),
        (f"USER {user}", user_tag),
        (f"EXPOSE {port}", "expose"),
        (f'ENTRYPOINT ["/usr/local/bin/{name}", "--listen=:{port}"]', "cmd"),
    ]
    return lines


def _java(rng: random.Random, name: str) -> list[tuple[str, str]]:
    base = rng.choice(
        ["eclipse-temurin:21-jre-jammy", "eclipse-temurin:17-jre-jammy", "amazoncorretto:21-al2023-headless"]
    )
    pct = rng.choice([60, 70, 75])
    lines = [(f"FROM {base}", "from"), *_label(rng, name)]
    if "temurin" in base:
        lines += [
            (
                "RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*",
                "apt",
            ),
            ("RUN groupadd --system app && useradd --system --gid app app", "useradd"),
        ]
    else:
        lines += [("RUN dnf install -y shadow-utils && dnf clean all && useradd --system app", "useradd")]
    lines += [
        ("WORKDIR /opt/app", "workdir"),
        (f"COPY --chown=app:app target/{name}.jar app.jar", "copy"),
        (f'ENV JAVA_TOOL_OPTIONS="-XX:MaxRAMPercentage={pct} -XX:+ExitOnOutOfMemoryError"', "env"),
        ("USER app", "user"),
        ("EXPOSE 8080", "expose"),
        ('ENTRYPOINT ["java", "-jar", "/opt/app/app.jar"]', "cmd"),
    ]
    return lines


def _static(rng: random.Random, name: str) -> list[tuple[str, str]]:
    node = rng.choice(["node:20-alpine3.20", "node:22-alpine3.20"])
    web = rng.choice(["nginxinc/nginx-unprivileged:1.27-alpine", "nginxinc/nginx-unprivileged:1.26-alpine"])
    return [
        (f"FROM {node} AS build", "from_build"),
        ("WORKDIR /web", "workdir"),
        ("COPY package.json package-lock.json ./", "copyreq"),
        ("RUN npm ci", "install"),
        ("COPY . .", "copy"),
        ("RUN npm run build", "build"),
        "",
        (f"FROM {web}", "from"),
        *_label(rng, name),
        ("COPY --from=build /web/dist /usr/share/nginx/html", "copybin"),
        ("COPY nginx/default.conf /etc/nginx/conf.d/default.conf", "copyconf"),
        ("USER 101", "user_default"),  # nginx-unprivileged already defaults to UID 101
        ("EXPOSE 8080", "expose"),
        ('CMD ["nginx", "-g", "daemon off;"]', "cmd"),
    ]


_STACKS = [_python, _python, _node, _go, _java, _static]
_NAMES = [
    "orders-api",
    "billing",
    "auth-gateway",
    "inventory",
    "notifier",
    "search-indexer",
    "ledger",
    "report-worker",
    "webhooks",
    "catalog",
    "checkout",
    "metrics-relay",
    "profile-svc",
    "scheduler",
]


def base(rng: random.Random) -> tuple[Doc, str]:
    name = rng.choice(_NAMES)
    lines = rng.choice(_STACKS)(rng, name)
    if rng.random() < 0.3:
        lines.insert(0, ("# syntax=docker/dockerfile:1", "syntax"))
    path = rng.choice(
        ["Dockerfile", f"services/{name}/Dockerfile", f"{name}/Dockerfile", "docker/Dockerfile"]
    )
    return Doc(lines), path


# ------------------------------------------------------------------------------------------ injectors


def _latest(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("from")
    image, _, tail = line.text[len("FROM ") :].partition(" ")
    repo = image.rsplit(":", 1)[0]
    line.text = f"FROM {repo}:latest" + (f" {tail}" if tail else "")
    return Defect(
        "image-latest-tag",
        line,
        ":latest",
        f"The base image `{repo}:latest` uses the mutable `latest` tag, so rebuilds silently pick up a different image",
        f"pin a version tag (e.g. `{image}`) or a digest `@sha256:...`.",
    )


def _untagged(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("from")
    image, _, tail = line.text[len("FROM ") :].partition(" ")
    repo = image.rsplit(":", 1)[0]
    line.text = f"FROM {repo}" + (f" {tail}" if tail else "")
    return Defect(
        "image-latest-tag",
        line,
        f"FROM {repo}",
        f"`FROM {repo}` has no tag, which means `latest`; builds are not reproducible",
        f"pin the tag, e.g. `FROM {image}`.",
    )


def _root(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("user")
    final = doc.get("from")
    word = doc.get("cmd").text.split()[0]
    return Defect(
        "no-root-user",
        final,
        "FROM",
        "The final stage never sets USER, so the process runs as root (UID 0)",
        f"create an unprivileged user and add `USER <name>` before {word}.",
    )


def _add(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("copy")
    original = line.text
    line.text = "ADD" + original[len("COPY") :]
    return Defect(
        "add-instead-of-copy",
        line,
        "ADD",
        "ADD is used to copy local files; ADD also unpacks archives and fetches URLs, which is surprising and unsafe",
        f"use `{original}`.",
    )


def _apt(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("apt")
    pkgs = line.text.split("--no-install-recommends ", 1)[1].split(" &&")[0]
    variant = rng.random()
    if variant < 0.5:
        line.text = f"RUN apt-get update && apt-get install -y {pkgs}"
        msg = "apt-get install leaves /var/lib/apt/lists in the layer and pulls recommended packages, bloating the image"
    else:
        line.text = f"RUN apt-get install -y --no-install-recommends {pkgs}"
        msg = "apt-get install runs without `apt-get update` in the same RUN, so it uses a stale cached index and fails or installs old versions"
    return Defect(
        "apt-no-cleanup",
        line,
        "apt-get install",
        msg,
        f"use `RUN apt-get update && apt-get install -y --no-install-recommends {pkgs} && rm -rf /var/lib/apt/lists/*`.",
    )


_SECRETS = [
    ("DATABASE_PASSWORD", "s3cr3t-Pa55"),
    ("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLE"),
    ("STRIPE_API_KEY", "sk_live_51HxQ2kLm0Examp1e"),
    ("JWT_SIGNING_KEY", "a8f5f167f44f4964e6c998dee827110c"),
    ("REDIS_PASSWORD", "changeme123"),
    ("GITHUB_TOKEN", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
]


def _secret(doc: Doc, rng: random.Random) -> Defect:
    key, value = rng.choice(_SECRETS)
    anchor = doc.find("env") or doc.get("workdir")
    line = Line(f"ENV {key}={value}", "secret")
    doc.insert_after(anchor, [line])
    return Defect(
        "secret-in-image",
        line,
        key,
        f"A secret ({key}) is baked into the image with ENV; anyone who can pull the image can read it with `docker history` or `docker inspect`",
        "remove it and inject it at run time (orchestrator secret or env file), or use `RUN --mount=type=secret` during the build.",
    )


def _curl_sh(doc: Doc, rng: random.Random) -> Defect:
    url = rng.choice(
        [
            "https://get.example-tools.io/install.sh",
            "https://raw.githubusercontent.com/vendor/agent/main/install.sh",
            "https://deb.nodesource.com/setup_20.x",
            "https://sh.rustup.rs",
        ]
    )
    shell = rng.choice(["sh", "bash", "sh -s -- -y"])
    line = Line(f"RUN curl -fsSL {url} | {shell}", "curlsh")
    doc.insert_after(doc.get("workdir"), [line])
    return Defect(
        "curl-pipe-shell",
        line,
        "| ",
        "A remote script is piped straight into a shell at build time, with no integrity check",
        "download the script or a release artifact, verify its SHA-256 checksum, then run it (or use a distro package).",
    )


def _shell_cmd(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("cmd")
    word, rest = line.text.split(" ", 1)
    argv = json.loads(rest)
    line.text = f"{word} " + " ".join(argv)
    return Defect(
        "shell-form-cmd",
        line,
        word,
        f"{word} uses shell form, so /bin/sh -c is PID 1 and the app never receives SIGTERM; `docker stop` waits for the timeout and then SIGKILLs it",
        f"use exec form: `{word} {rest}`.",
    )


def _chmod(doc: Doc, rng: random.Random) -> Defect:
    wd = doc.get("workdir").text.split()[1]
    line = Line(f"RUN chmod -R 777 {wd}", "chmod")
    doc.insert_after(doc.get("copy"), [line])
    return Defect(
        "world-writable",
        line,
        "777",
        f"`chmod -R 777 {wd}` makes the application code writable by any user in the container",
        "drop it; copy with `--chown=<user>:<group>` and keep files read-only for the runtime user.",
    )


def _copy_before_install(doc: Doc, rng: random.Random) -> Defect:
    copy, manifest, install = doc.get("copy"), doc.get("copyreq"), doc.get("install")
    doc.lines.remove(copy)
    doc.insert_before(install, [copy])
    doc.remove("copyreq")
    return Defect(
        "copy-before-install",
        copy,
        "COPY",
        f"The whole build context is copied before the dependency install, so every source change invalidates the "
        f"`{install.text.split(' &&')[0]}` layer and all dependencies are reinstalled on each build",
        f"copy only the manifest first (`{manifest.text}`), run the install, then `{copy.text}`.",
    )


INJECTORS = [
    Injector("image-latest-tag", ("from",), _latest),
    Injector("image-latest-tag", ("from",), _untagged),
    Injector("no-root-user", ("user", "cmd"), _root),
    Injector("add-instead-of-copy", ("copy",), _add),
    Injector("apt-no-cleanup", ("apt",), _apt),
    Injector("secret-in-image", ("workdir",), _secret),
    Injector("curl-pipe-shell", ("workdir",), _curl_sh),
    Injector("shell-form-cmd", ("cmd",), _shell_cmd),
    Injector("world-writable", ("copy", "workdir"), _chmod),
    Injector("copy-before-install", ("copy", "copyreq", "install"), _copy_before_install),
]

INVENTED = [
    Invented(
        "workdir",
        "WORKDIR must not be used with an absolute path; it breaks layer caching",
        "replace it with `RUN cd /app`.",
    ),
    Invented(
        "expose",
        "EXPOSE publishes the port on the host and bypasses the firewall",
        "remove EXPOSE and publish with `-p` only.",
    ),
    Invented(
        "copyreq",
        "Copying the dependency manifest separately duplicates files in the image",
        "remove this line and copy everything at once with `COPY . .`.",
    ),
    Invented(
        "env",
        "ENV variables set in a Dockerfile are not visible to the running container",
        "move them into a RUN export statement.",
    ),
    Invented(
        "install",
        "Installing dependencies in their own layer disables the build cache",
        "merge this RUN into the final CMD.",
    ),
]

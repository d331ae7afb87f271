"""Dockerfiles as real projects write them: BuildKit directives and heredocs, multi-stage builds, digests, numeric
UIDs, Windows images; the idioms that must stay quiet and the defects hidden in them that must be found."""

from __future__ import annotations

import pytest

from .realworld import at, findings, rules_of
from .test_rules import apply_fix

BUILDKIT = """\
# syntax=docker/dockerfile:1.7
ARG BASE=python:3.12-slim-bookworm
ARG NODE_VERSION=20

FROM node:${NODE_VERSION}-alpine AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \\
    npm ci --ignore-scripts

FROM ${BASE} AS builder
ENV PIP_NO_CACHE_DIR=1
RUN <<EOF
set -eux
apt-get update
apt-get install -y --no-install-recommends build-essential libpq-dev
rm -rf /var/lib/apt/lists/*
EOF
COPY requirements.txt .
RUN pip wheel --wheel-dir /wheels -r requirements.txt

FROM ${BASE}
RUN groupadd --system app && useradd --system --gid app --home /app app
COPY --from=builder /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
COPY --from=assets --chown=app:app /src/dist /app/static
WORKDIR /app
USER app
HEALTHCHECK --interval=30s CMD ["python", "-c", "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/')"]
ENTRYPOINT ["gunicorn"]
CMD ["-b", "0.0.0.0:8000", "app:app"]
"""


def test_buildkit_multi_stage_dockerfile_is_clean():
    assert findings(BUILDKIT, "Dockerfile") == []


STAGES = """\
FROM debian:bookworm-slim AS base
RUN useradd -u 10001 app
USER app
HEALTHCHECK CMD ["/bin/true"]

FROM base AS test
RUN echo test

FROM base
CMD ["/bin/true"]
"""


def test_user_and_healthcheck_are_inherited_from_the_parent_stage():
    assert rules_of(STAGES, "Dockerfile") == set()
    root_base = STAGES.replace("USER app", "USER root")
    (f,) = [f for f in findings(root_base, "Dockerfile") if f.rule == "DF002"]
    assert "inherited" in f.message and f.span.line == 8  # reported on the final FROM
    # a USER in another (non-parent) stage does not count
    other = "FROM alpine:3.19 AS build\nUSER nobody\nFROM alpine:3.19\nHEALTHCHECK NONE\n"
    assert "DF002" in rules_of(other, "Dockerfile")


@pytest.mark.parametrize(
    "image,root",
    [
        ("gcr.io/distroless/static-debian12:nonroot", False),
        ("gcr.io/distroless/static-debian12:debug-nonroot", False),
        ("cgr.dev/chainguard/python:3.12", False),
        ("docker:27-dind-rootless", False),
        ("gcr.io/distroless/static-debian12:latest", True),
        ("debian:12", True),
    ],
)
def test_images_that_run_unprivileged_by_design(image, root):
    text = f'FROM {image}\nCOPY app /app\nHEALTHCHECK NONE\nCMD ["/app"]\n'
    assert ("DF002" in rules_of(text, "Dockerfile")) is root


def test_scratch_with_numeric_uid_and_gid():
    text = 'FROM golang:1.22 AS build\nRUN go build -o /out/s .\nFROM scratch\nCOPY --from=build /out/s /s\n'
    text += 'USER 65532:65532\nENTRYPOINT ["/s"]\n'
    assert rules_of(text, "Dockerfile") == {"DF012"}
    assert "DF002" in rules_of(text.replace("USER 65532:65532", "USER 0:0"), "Dockerfile")


@pytest.mark.parametrize(
    "head,mutable",
    [
        ("FROM nginx:latest@sha256:4c0fdaa8b6341bfdeca5f18f7837462c80cff90527ee35ef185571e1c327beac", False),
        ("FROM --platform=$BUILDPLATFORM golang:1.22-alpine AS build", False),
        ("FROM alpine:${TAG:-3.19}", False),  # an unset ARG takes its default
        ("ARG TAG=latest\nFROM alpine:${TAG}", True),
        ("ARG BASE\nFROM ${BASE}", False),  # no default: cannot tell
        ("ARG REG=ghcr.io/acme\nFROM ${REG}/app", True),
    ],
)
def test_base_image_pinning(head, mutable):
    text = head + "\nUSER 1000\nHEALTHCHECK NONE\n"
    assert ("DF001" in rules_of(text, "Dockerfile")) is mutable


def test_heredoc_scripts_are_checked_and_heredoc_files_are_not_instructions():
    text = """\
# syntax=docker/dockerfile:1
FROM debian:12-slim
RUN --mount=type=secret,id=netrc \\
    <<-EOT bash
	set -e
	apt-get update
	apt-get install -y curl
EOT
COPY <<EOF /etc/app.conf
FROM foo
USER root
EOF
RUN python3 <<EOF
import sudo
EOF
RUN cat <<<"x" > /tmp/x
USER 1000
HEALTHCHECK NONE
"""
    found = findings(text, "Dockerfile")
    assert {f.rule for f in found} == {"DF003", "DF004"}
    (rec,) = [f for f in found if f.rule == "DF003"]
    assert rec.span.line == 6 and at(text, rec) == "install"
    (lists,) = [f for f in found if f.rule == "DF004"]
    fixed = apply_fix(text, lists.fix)
    assert "\trm -rf /var/lib/apt/lists/*\n" in fixed or "rm -rf /var/lib/apt/lists/*\nEOT" in fixed
    assert "DF004" not in rules_of(fixed, "Dockerfile") and "DF015" not in rules_of(fixed, "Dockerfile")


def test_sudo_only_as_a_command():
    base = "FROM ubuntu:22.04\n{}\nUSER app\nHEALTHCHECK NONE\n"
    argument = (
        "RUN apt-get update && apt-get install -y --no-install-recommends sudo \\\n"
        "    && rm -rf /var/lib/apt/lists/* && usermod -aG sudo app"
    )
    assert "DF007" not in rules_of(base.format(argument), "Dockerfile")
    for cmd in ("RUN sudo make install", "RUN make && sudo make install", "RUN echo x | sudo tee /etc/x"):
        assert "DF007" in rules_of(base.format(cmd), "Dockerfile"), cmd


def test_pip_cache_rules_know_uv_and_inherited_env():
    base = "FROM python:3.12\n{}\nUSER 1\nHEALTHCHECK NONE\n"
    assert "DF008" not in rules_of(base.format("RUN uv pip install --system -r req.txt"), "Dockerfile")
    inherited = "FROM python:3.12 AS base\nENV PIP_NO_CACHE_DIR=1\nFROM base\nRUN pip install x\nUSER 1\n"
    assert "DF008" not in rules_of(inherited, "Dockerfile")
    assert "DF008" in rules_of(inherited.replace("FROM base\n", "FROM python:3.12\n"), "Dockerfile")


def test_exec_form_with_single_quotes_is_a_shell_command():
    text = "FROM alpine:3.19\nUSER 1000\nHEALTHCHECK NONE\nCMD ['sh', '-c', 'echo hi']\n"
    (f,) = [f for f in findings(text, "Dockerfile") if f.rule == "DF010"]
    assert "JSON" in f.message
    assert apply_fix(text, f.fix).endswith('CMD ["sh", "-c", "echo hi"]\n')
    ok = text.replace("CMD ['sh', '-c', 'echo hi']", "CMD exec gunicorn -b 0.0.0.0:$PORT app:app")
    assert "DF010" not in rules_of(ok, "Dockerfile")


@pytest.mark.parametrize(
    "run,flagged",
    [
        ("RUN curl -fsSL https://example.com/install.sh | sh", True),
        ("RUN wget -qO- https://example.com/a.tgz \\\n    | tar xz -C /opt", True),
        ("RUN <<EOF\ncurl -s https://example.com/x | bash\nEOF", True),
        ("RUN set -o pipefail && curl -fsSL https://example.com/x | sh", False),
        ("RUN <<EOF\nset -euo pipefail\ncurl -s https://example.com/x | bash\nEOF", False),
        ("RUN echo 'deb http://x stable main' | tee /etc/apt/sources.list.d/x.list", False),
        ("RUN grep -E 'a|b' /etc/os-release > /tmp/x", False),
        ("RUN test -f /x || echo missing", False),
        ('RUN ["sh", "-c", "curl x | sh"]', False),
        ("RUN apt-get update \\\n    # a | in a comment\n    && apt-get install -y --no-install-recommends x", False),
    ],
)
def test_pipes_without_pipefail(run, flagged):
    text = f"FROM alpine:3.19\n{run}\nUSER 1000\nHEALTHCHECK NONE\n"
    assert ("DF019" in rules_of(text, "Dockerfile")) is flagged


def test_pipefail_from_shell_and_windows_shells():
    bash = 'FROM debian:12\nSHELL ["/bin/bash", "-o", "pipefail", "-c"]\nRUN curl x | sh\nUSER 1\nHEALTHCHECK NONE\n'
    assert "DF019" not in rules_of(bash, "Dockerfile")
    windows = (
        "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\n"
        "RUN dir C:\\ | findstr x ; `\n    echo done\nUSER ContainerUser\nHEALTHCHECK NONE\n"
    )
    assert rules_of(windows, "Dockerfile") == set()
    powershell = windows.replace("# escape=`\n", "").replace(
        "RUN", 'SHELL ["powershell", "-Command"]\nRUN'
    )
    assert "DF019" not in rules_of(powershell, "Dockerfile")


def test_apk_cache():
    base = "FROM alpine:3.19\n{}\nUSER 1\nHEALTHCHECK NONE\n"
    (f,) = [f for f in findings(base.format("RUN apk -X http://mirror/alpine add curl"), "Dockerfile")]
    assert f.rule == "DF018"
    for ok in (
        "RUN apk --no-cache add curl",
        "RUN apk update && apk add git && rm -rf /var/cache/apk/*",
        "RUN --mount=type=cache,target=/var/cache/apk apk add curl",
    ):
        assert "DF018" not in rules_of(base.format(ok), "Dockerfile"), ok


@pytest.mark.parametrize(
    "env,secret",
    [
        ("ENV DB_PASSWORD=hunter2", True),
        ("ENV PASSWORD hunter2", True),
        ("ENV PATH=/x:$PATH SECRET_KEY=django-insecure-abc DEBUG=0", True),
        ("ENV DB_PASSWORD=${DB_PASSWORD}", False),
        ('ENV GITHUB_TOKEN="${GITHUB_TOKEN:-}"', False),
        ("ENV SECRET_KEY_BASE_DUMMY=1", False),
        ("ENV TOKEN_EXPIRY=3600 PASSWORD_MIN_LENGTH=12 JWT_SECRET_ALGORITHM=HS256", False),
        ("ARG NPM_TOKEN", False),
    ],
)
def test_dockerfile_secrets(env, secret):
    text = f"FROM alpine:3.19\n{env}\nUSER 1\nHEALTHCHECK NONE\n"
    assert ("DF011" in rules_of(text, "Dockerfile")) is secret


STAGES_BUILD = """\
FROM golang:1.22 AS builder
RUN go build -o /out/app ./cmd/app
FROM node:20-alpine AS assets
RUN npm ci && npm run build
FROM gcr.io/distroless/static-debian12:nonroot
{}
HEALTHCHECK NONE
ENTRYPOINT ["/app"]
"""


@pytest.mark.parametrize(
    "line,flagged,points_at",
    [
        ("COPY --from=buidler /out/app /app", "Did you mean the stage `builder`?", "buidler"),
        ("COPY --from=Builder /out/app /app", None, None),  # stage names are case-insensitive
        ("COPY --from=asset /dist /www", "Did you mean the stage `assets`?", "asset"),
        ("RUN --mount=type=bind,from=buidler,source=/out,target=/o cp /o/app /app", "builder", "buidler"),
        ("COPY --from=3 /out/app /app", "no stage 3", "3"),
        ("COPY --from=1 /dist /www", None, None),
        ("COPY --from=2 /etc/passwd /etc/passwd", "is the stage it is in", "2"),
        ("COPY --from=busybox:1.36 /bin/busybox /busybox", None, None),  # an image
        ("COPY --from=ghcr.io/astral-sh/uv:0.5 /uv /uv", None, None),
        ("COPY --from=alpine /etc/ssl /etc/ssl", None, None),  # an official image, not a stage typo
        ("COPY --from=nginx /etc/nginx /etc/nginx", None, None),
        ("COPY --from=${BUILDER} /out/app /app", None, None),
        ("COPY --from=tooling /bin/x /x", None, None),  # no stage is close: an image of that name
    ],
)
def test_stage_references(line, flagged, points_at):
    text = STAGES_BUILD.format(line)
    found = [f for f in findings(text, "Dockerfile") if f.rule == "DF020"]
    assert bool(found) is bool(flagged), found
    if found:
        (f,) = found
        assert flagged in f.message and at(text, f) == points_at


def test_stage_typo_fix_and_from_references():
    text = STAGES_BUILD.format("COPY --from=buidler /out/app /app")
    (f,) = [f for f in findings(text, "Dockerfile") if f.rule == "DF020"]
    assert "COPY --from=builder /out/app" in apply_fix(text, f.fix)
    # FROM builds on earlier stages only; a misspelt one is reported instead of "untagged image"
    typo = "FROM debian:12 AS base\nRUN true\nFROM bsae\nUSER 1\nHEALTHCHECK NONE\n"
    assert rules_of(typo, "Dockerfile") == {"DF020"}
    later = "FROM final AS test\nRUN true\nFROM alpine:3.19 AS final\nUSER 1\nHEALTHCHECK NONE\n"
    (f,) = [f for f in findings(later, "Dockerfile") if f.rule == "DF020"]
    assert "defined later" in f.message and f.span.line == 0
    # a COPY may name a later stage: BuildKit resolves every stage before it copies
    forward = "FROM alpine:3.19 AS a\nCOPY --from=b /x /x\nFROM alpine:3.19 AS b\nUSER 1\nHEALTHCHECK NONE\n"
    assert "DF020" not in rules_of(forward, "Dockerfile")
    assert "DF020" not in rules_of("FROM bash:5\nFROM base\nUSER 1\n", "Dockerfile")  # bash is an image


@pytest.mark.parametrize(
    "head,problem",
    [
        ("FROM", "has no image"),
        ("FROM --platform=linux/amd64", "has no image"),
        ("FROM AS build", "no image before AS"),
        ("FROM alpine:3.19 AS", "stage name after AS"),
        ("FROM alpine:3.19 build", "one or three arguments"),
        ("FROM alpine:3.19 AS 2build", "not a valid stage name"),
        ("FROM alpine:3.19 as build", None),
        ("FROM --platform=$BUILDPLATFORM alpine:3.19 AS build", None),
        ("FROM alpine:3.19 AS ${STAGE}", None),
    ],
)
def test_from_lines(head, problem):
    text = f"{head}\nRUN true\nUSER 1\nHEALTHCHECK NONE\n"
    found = [f for f in findings(text, "Dockerfile") if f.rule == "DF021"]
    assert bool(found) is bool(problem)
    if found:
        assert problem in found[0].message and "DF001" not in rules_of(text, "Dockerfile")


def test_duplicate_stage_names():
    text = "FROM node:20 AS build\nRUN npm ci\nFROM golang:1.22 AS Build\nRUN go build\nFROM alpine:3.19\n"
    (f,) = [f for f in findings(text, "Dockerfile") if f.rule == "DF022"]
    assert f.span.line == 2 and at(text, f) == "Build" and "line 1" in f.message
    assert "DF022" not in rules_of(text.replace("AS Build", "AS gobuild"), "Dockerfile")


def test_named_build_contexts_are_not_stage_typos():
    # `docker buildx build --build-context frontend-src=../web`: BuildKit resolves names no stage has
    text = STAGES_BUILD.replace("AS assets", "AS frontend").format("COPY --from=frontend-src /dist /www")
    assert "DF020" not in rules_of(text, "Dockerfile")

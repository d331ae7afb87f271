"""Every rule fires on a case that has the defect and stays quiet on the same config without it, so a rule
that never fires or always fires fails here. Quick fixes are applied and must remove their finding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lsp.analysers import RULES, analyse

K8S_HEAD = (
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  namespace: shop\nspec:\n"
    "  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n    spec:\n"
)
K8S_OK = """\
      securityContext:
        runAsNonRoot: true
      containers:
        - name: api
          image: shop/api:1.2.3
          ports: [{name: http, containerPort: 80}]
          resources:
            requests: {cpu: 100m, memory: 64Mi}
            limits: {memory: 128Mi}
          securityContext:
            allowPrivilegeEscalation: false
          livenessProbe: {httpGet: {path: /h, port: 80}}
          readinessProbe: {httpGet: {path: /r, port: 80}}
"""
K8S_OK_DOC = K8S_HEAD + K8S_OK

SERVICE = "---\napiVersion: v1\nkind: Service\nmetadata: {{name: api, namespace: shop}}\nspec:\n"
SERVICE += "  selector: {{app: {}}}\n  ports: [{{port: 80, targetPort: http}}]\n"


def k8s(old: str, new: str) -> str:
    assert old in K8S_OK_DOC, old
    return K8S_OK_DOC.replace(old, new)


COMPOSE_OK = """\
services:
  db:
    image: postgres:16.4
    ports:
      - "127.0.0.1:5432:5432"
    environment:
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
    restart: unless-stopped
"""


def compose(old: str, new: str) -> str:
    assert old in COMPOSE_OK, old
    return COMPOSE_OK.replace(old, new)


NGINX_OK = """\
http {
    server_tokens off;
    client_max_body_size 10m;
    add_header X-Frame-Options DENY;
    server {
        listen 443 ssl;
        ssl_certificate /etc/ssl/api.crt;
        ssl_certificate_key /etc/ssl/api.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers HIGH:!aNULL:!MD5:!RC4;
        location /static/ {
            alias /srv/static/;
            autoindex off;
        }
        location /api/ {
            proxy_set_header Host $host;
            proxy_pass http://127.0.0.1:8000;
        }
    }
}
"""


def nginx(old: str, new: str) -> str:
    assert old in NGINX_OK, old
    return NGINX_OK.replace(old, new)


SERVICE_OK = """\
[Unit]
Description=API

[Service]
Type=simple
User=api
ExecStart=/usr/bin/api --port 8000
Restart=on-failure
NoNewPrivileges=yes
ProtectSystem=strict
PrivateTmp=yes
Environment=LOG_LEVEL=info

[Install]
WantedBy=multi-user.target
"""


def service(old: str, new: str) -> str:
    assert old in SERVICE_OK, old
    return SERVICE_OK.replace(old, new)


DOCKER_OK = 'FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["python", "app.py"]\n'


def docker(old: str, new: str) -> str:
    assert old in DOCKER_OK, old
    return DOCKER_OK.replace(old, new)


# rule -> (path, text with the defect, text without it)
CASES: dict[str, tuple[str, str, str]] = {
    "DF001": ("Dockerfile", docker("python:3.12-slim", "python"), DOCKER_OK),
    "DF002": ("Dockerfile", docker("USER 1000\n", ""), DOCKER_OK),
    "DF003": (
        "Dockerfile",
        docker("COPY . .", "RUN apt-get install -y curl && rm -rf /var/lib/apt/lists/*"),
        docker(
            "COPY . .", "RUN apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*"
        ),
    ),
    "DF004": (
        "Dockerfile",
        docker("COPY . .", "RUN apt-get update && apt-get install -y --no-install-recommends curl"),
        docker(
            "COPY . .",
            "RUN apt-get update && apt-get install -y --no-install-recommends curl \\\n"
            "    && rm -rf /var/lib/apt/lists/*",
        ),
    ),
    "DF005": (
        "Dockerfile",
        docker("COPY . .", "RUN apt-get install --no-install-recommends curl"),
        docker("COPY . .", "RUN apt-get -qy install --no-install-recommends curl"),
    ),
    "DF006": (
        "Dockerfile",
        docker("COPY . .", "ADD app.py /app/"),
        docker("COPY . .", "ADD rootfs.tar.gz /"),
    ),
    "DF007": (
        "Dockerfile",
        docker("COPY . .", "RUN sudo make install"),
        docker("COPY . .", "RUN make install"),
    ),
    "DF008": (
        "Dockerfile",
        docker("COPY . .", "RUN pip install flask"),
        docker("COPY . .", "RUN python -m pip install --no-cache-dir flask"),
    ),
    "DF009": (
        "Dockerfile",
        docker("COPY . .", "RUN cd /src && make"),
        docker("COPY . .", "RUN make -C /src"),
    ),
    "DF010": ("Dockerfile", docker('CMD ["python", "app.py"]', "CMD python app.py"), DOCKER_OK),
    "DF011": (
        "Dockerfile",
        docker("COPY . .", "ENV API_TOKEN=abc123"),
        docker("COPY . .", "ENV API_TOKEN_FILE=/run/t"),
    ),
    "DF012": ("Dockerfile", docker('HEALTHCHECK CMD ["true"]\n', ""), DOCKER_OK),
    "DF013": ("Dockerfile", DOCKER_OK + 'CMD ["python", "other.py"]\n', DOCKER_OK),
    "DF014": (
        "Dockerfile",
        docker("COPY . .", "MAINTAINER me@example.com"),
        docker("COPY . .", "LABEL maintainer=me"),
    ),
    "DF015": ("Dockerfile", docker("COPY . .", "COPPY . ."), DOCKER_OK),
    "DF016": ("Dockerfile", "RUN echo hi\n" + DOCKER_OK, "ARG V=3.12\n" + DOCKER_OK),
    "DF017": ("Dockerfile", docker("WORKDIR /app", "WORKDIR app"), DOCKER_OK),
    "DF018": (
        "Dockerfile",
        docker("COPY . .", "RUN apk add curl"),
        docker("COPY . .", "RUN apk add --no-cache curl"),
    ),
    "DF019": (
        "Dockerfile",
        docker("COPY . .", "RUN curl -fsSL https://example.com/install.sh | sh"),
        docker("COPY . .", "RUN set -o pipefail && curl -fsSL https://example.com/install.sh | sh"),
    ),
    "DF020": (
        "Dockerfile",
        "FROM golang:1.22 AS builder\n" + docker("COPY . .", "COPY --from=buidler /out/app ."),
        "FROM golang:1.22 AS builder\n" + docker("COPY . .", "COPY --from=builder /out/app ."),
    ),
    "DF021": (
        "Dockerfile",
        docker("FROM python:3.12-slim", "FROM AS app"),
        docker("FROM python:3.12-slim", "FROM python:3.12-slim AS app"),
    ),
    "DF022": (
        "Dockerfile",
        "FROM golang:1.22 AS build\nRUN go build\n" + docker("3.12-slim", "3.12-slim AS build"),
        "FROM golang:1.22 AS build\nRUN go build\n" + docker("3.12-slim", "3.12-slim AS app"),
    ),
    "K8S001": ("d.yaml", k8s("            requests: {cpu: 100m, memory: 64Mi}\n", ""), K8S_OK_DOC),
    "K8S002": ("d.yaml", k8s("{memory: 128Mi}", "{cpu: 1}"), K8S_OK_DOC),
    "K8S003": (
        "d.yaml",
        k8s("shop/api:1.2.3", "shop/api"),
        k8s("shop/api:1.2.3", "reg:5000/api@sha256:abcd"),
    ),
    "K8S004": (
        "d.yaml",
        k8s(
            "allowPrivilegeEscalation: false", "allowPrivilegeEscalation: false\n            privileged: true"
        ),
        k8s(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: false\n            privileged: false",
        ),
    ),
    "K8S005": (
        "d.yaml",
        k8s("runAsNonRoot: true", "fsGroup: 2000"),
        k8s("runAsNonRoot: true", "runAsUser: 1000"),
    ),
    "K8S006": (
        "d.yaml",
        k8s("allowPrivilegeEscalation: false", "allowPrivilegeEscalation: true"),
        K8S_OK_DOC,
    ),
    "K8S007": (
        "d.yaml",
        k8s(
            "      securityContext:\n        runAsNonRoot",
            "      hostPID: true\n      securityContext:\n        runAsNonRoot",
        ),
        k8s(
            "      securityContext:\n        runAsNonRoot",
            "      hostPID: false\n      securityContext:\n        runAsNonRoot",
        ),
    ),
    "K8S008": (
        "d.yaml",
        K8S_OK_DOC + "      volumes:\n        - name: h\n          hostPath: {path: /etc}\n",
        K8S_OK_DOC + "      volumes:\n        - name: h\n          emptyDir: {}\n",
    ),
    "K8S009": ("d.yaml", k8s("          livenessProbe: {httpGet: {path: /h, port: 80}}\n", ""), K8S_OK_DOC),
    "K8S010": ("d.yaml", k8s("          readinessProbe: {httpGet: {path: /r, port: 80}}\n", ""), K8S_OK_DOC),
    "K8S011": (
        "d.yaml",
        k8s(
            "          resources:",
            "          env:\n            - {name: DB_PASSWORD, value: hunter2}\n          resources:",
        ),
        k8s(
            "          resources:",
            "          env:\n            - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: pw}}}\n          resources:",
        ),
    ),
    "K8S012": ("d.yaml", k8s("  namespace: shop\n", ""), K8S_OK_DOC),
    "K8S013": (
        "d.yaml",
        k8s(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: false\n            capabilities: {add: [SYS_ADMIN]}",
        ),
        k8s(
            "allowPrivilegeEscalation: false",
            "allowPrivilegeEscalation: false\n            capabilities: {add: [NET_BIND_SERVICE]}",
        ),
    ),
    "K8S014": ("d.yaml", k8s("  name: api\n", ""), K8S_OK_DOC),
    "K8S015": ("d.yaml", K8S_OK_DOC + SERVICE.format("apl"), K8S_OK_DOC + SERVICE.format("api")),
    "K8S016": ("d.yaml", k8s("{labels: {app: api}}", "{labels: {app: web}}"), K8S_OK_DOC),
    "DC001": ("compose.yaml", compose("    restart:", "    privileged: true\n    restart:"), COMPOSE_OK),
    "DC002": ("compose.yaml", compose("postgres:16.4", "postgres:latest"), COMPOSE_OK),
    "DC003": (
        "compose.yaml",
        compose('"127.0.0.1:5432:5432"', '"5432:5432"'),
        compose('"127.0.0.1:5432:5432"', '"8080:80"'),
    ),
    "DC004": ("compose.yaml", compose("${POSTGRES_PASSWORD}", "s3cret"), COMPOSE_OK),
    "DC005": ("compose.yaml", compose("    restart: unless-stopped\n", ""), COMPOSE_OK),
    "DC006": (
        "compose.yaml",
        COMPOSE_OK + "    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock\n",
        COMPOSE_OK + "    volumes:\n      - ./data:/data\n",
    ),
    "DC007": (
        "compose.yaml",
        COMPOSE_OK + "    network_mode: host\n",
        COMPOSE_OK + "    network_mode: bridge\n",
    ),
    "DC008": ("compose.yaml", 'version: "3.8"\n' + COMPOSE_OK, COMPOSE_OK),
    "DC009": (
        "compose.yaml",
        COMPOSE_OK + "    cap_add: [NET_ADMIN]\n",
        COMPOSE_OK + "    cap_add: [NET_BIND_SERVICE]\n",
    ),
    "NGX001": ("nginx.conf", nginx("server_tokens off", "server_tokens on"), NGINX_OK),
    "NGX002": ("nginx.conf", nginx("TLSv1.2 TLSv1.3", "TLSv1.1 TLSv1.2"), NGINX_OK),
    "NGX003": ("nginx.conf", nginx("autoindex off", "autoindex on"), NGINX_OK),
    "NGX004": ("nginx.conf", nginx("    client_max_body_size 10m;\n", ""), NGINX_OK),
    "NGX005": (
        "nginx.conf",
        nginx(
            "            alias /srv/static/;",
            "            alias /srv/static/;\n            add_header Cache-Control public;",
        ),
        nginx(
            "            alias /srv/static/;",
            "            alias /srv/static/;\n            add_header Cache-Control public;\n"
            "            add_header X-Frame-Options DENY;",
        ),
    ),
    "NGX006": (
        "nginx.conf",
        nginx("location /static/", "location /static"),
        nginx("alias /srv/static/;", "root /srv;"),
    ),
    "NGX007": (
        "nginx.conf",
        nginx(
            "            proxy_set_header Host $host;\n",
            "            proxy_set_header X-Real-IP $remote_addr;\n",
        ),
        nginx("            proxy_set_header Host $host;\n", "").replace(
            "    server {\n", "    server {\n        proxy_set_header Host $host;\n"
        ),
    ),
    "NGX008": ("nginx.conf", nginx("HIGH:!aNULL:!MD5:!RC4", "HIGH:RC4-SHA"), NGINX_OK),
    "NGX009": ("nginx.conf", nginx("autoindex off;", "autoindex off"), NGINX_OK),
    "NGX010": (
        "nginx.conf",
        nginx("proxy_pass http://127.0.0.1:8000;", "return 301 https://$host$uri;"),
        nginx("proxy_pass http://127.0.0.1:8000;", "return 301 https://$host$request_uri;"),
    ),
    "NGX011": (
        "nginx.conf",
        nginx("listen 443 ssl;", "listen 443 ssl\n        server_name example.com;"),
        nginx("listen 443 ssl;", "listen 443 ssl;\n        server_name example.com;"),
    ),
    "SD001": (
        "api.service",
        service("Restart=on-failure\n", ""),
        service("Type=simple", "Type=oneshot").replace("Restart=on-failure\n", ""),
    ),
    "SD002": ("api.service", service("User=api\n", ""), service("User=api", "DynamicUser=yes")),
    "SD003": ("api.service", service("NoNewPrivileges=yes\n", ""), SERVICE_OK),
    "SD004": ("api.service", service("ProtectSystem=strict", "ProtectSystem=no"), SERVICE_OK),
    "SD005": ("api.service", service("PrivateTmp=yes\n", ""), SERVICE_OK),
    "SD006": (
        "api.service",
        service("ExecStart=/usr/bin/api", "ExecStart=-api"),
        service("ExecStart=/usr/bin/api", "ExecStart=-/usr/bin/api"),
    ),
    "SD007": (
        "api.service",
        service("Type=simple", "Type=forking"),
        service("Type=simple", "Type=forking\nPIDFile=/run/api.pid"),
    ),
    "SD008": ("api.service", service("WantedBy=multi-user.target\n", ""), SERVICE_OK),
    "SD009": ("api.service", "Description=x\n" + SERVICE_OK, SERVICE_OK),
    "SD010": ("api.service", service("ExecStart=/usr/bin/api --port 8000\n", ""), SERVICE_OK),
    "SD011": (
        "nightly.timer",
        "[Timer]\nPersistent=true\n[Install]\nWantedBy=timers.target\n",
        "[Timer]\nOnCalendar=daily\n[Install]\nWantedBy=timers.target\n",
    ),
    "SD012": (
        "api.service",
        service("LOG_LEVEL=info", "DB_PASSWORD=hunter2"),
        service("LOG_LEVEL=info", "DB_PASSWORD_FILE=/run/pw"),
    ),
    "SD013": (
        "api.service",
        service("ExecStart=/usr/bin/api", "ExecStrat=/usr/bin/api\nExecStart=/usr/bin/api"),
        service("ExecStart=/usr/bin/api", "X-Owner=team-api\nExecStart=/usr/bin/api"),
    ),
    "SD014": (
        "api.service",
        service("ExecStart=/usr/bin/api --port 8000", "ExecStart=/usr/bin/api --port 8000 >> /var/log/api.log 2>&1"),
        service("ExecStart=/usr/bin/api --port 8000",
                "ExecStart=/bin/sh -c '/usr/bin/api --port 8000 >> /var/log/api.log 2>&1'"),
    ),
    "SD015": (
        "api.service",
        service("Description=API\n", "Description=API\nWants=network-online.target\nAfter=network.target\n"),
        service("Description=API\n", "Description=API\nWants=network-online.target\nAfter=network-online.target\n"),
    ),
    "SD016": (
        "api.service",
        service("ExecStart=/usr/bin/api --port 8000\n", "ExecStart=/usr/bin/migrate\nExecStart=/usr/bin/api --port 8000\n"),
        service("ExecStart=/usr/bin/api --port 8000\n",
                "ExecStartPre=/usr/bin/migrate\nExecStart=/usr/bin/api --port 8000\n"),
    ),
    "SD017": (
        "api.service",
        service("Type=simple", "Type=oneshot").replace("Restart=on-failure", "Restart=always"),
        service("Type=simple", "Type=oneshot"),
    ),
    "SD018": ("api.service", service("PrivateTmp=yes\n", "PrivateTmp=yes\nMemoryLimit=512M\n"),
              service("PrivateTmp=yes\n", "PrivateTmp=yes\nMemoryMax=512M\n")),
    "SD019": ("api.service", service("PrivateTmp=yes\n", "PrivateTmp=yes\nEnvironmentFile=etc/api.env\n"),
              service("PrivateTmp=yes\n", "PrivateTmp=yes\nEnvironmentFile=-/etc/api.env\n")),
    "NGX012": ("nginx.conf", nginx("Host $host", "Host $http_host"), NGINX_OK),
    "NGX013": ("nginx.conf", nginx("autoindex off;", "autoindex off;\n            valid_referers none server_names;"),
               nginx("autoindex off;", "autoindex off;\n            valid_referers server_names;")),
    "NGX014": ("nginx.conf", nginx("server_tokens off;", "server_tokens off;\n    error_log off;"),
               nginx("server_tokens off;", "server_tokens off;\n    error_log /dev/null crit;")),
    "NGX015": ("nginx.conf", nginx("        ssl_certificate /etc/ssl/api.crt;\n", ""), NGINX_OK),
    "NGX016": ("nginx.conf", nginx("http://127.0.0.1:8000", "http://$arg_backend"),
               nginx("http://127.0.0.1:8000", "http://$upstream_name")),
    "NGX017": ("nginx.conf", nginx("location /api/ {", "location ~ ^/api/ {").replace(
        "http://127.0.0.1:8000;", "http://127.0.0.1:8000/v1/;"), nginx("location /api/ {", "location ~ ^/api/ {")),
    "NGX018": (
        "nginx.conf",
        nginx("location /api/ {", "location ~ \\.php$ {\n            fastcgi_pass unix:/run/php/fpm.sock;\n        }\n"
              "        location /api/ {"),
        nginx("location /api/ {", "location ~ \\.php$ {\n            try_files $uri =404;\n"
              "            fastcgi_pass unix:/run/php/fpm.sock;\n        }\n        location /api/ {"),
    ),
    "SYN001": ("values.yaml", "a: [1, 2\nb: 3\n", "a: [1, 2]\nb: 3\n"),
    "SYN002": ("package.json", '{"a": 1,}', '{"a": 1}'),
    "SYN003": ("pyproject.toml", "[tool]\nx = \n", "[tool]\nx = 1\n"),
    "GEN001": ("big.yaml", "a: 1\n" * 60_000, "a: 1\n" * 1_000),
    "GEN002": ("x.yaml", "\x00\x01\x02\x03" * 100, "a: 1\n"),
}


def rules_of(path: str, text: str) -> set[str]:
    return {f.rule for f in analyse(text, path).findings}


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_rule_fires_only_on_the_defect(rule_id):
    path, bad, good = CASES[rule_id]
    assert rule_id in rules_of(path, bad), f"{rule_id} did not fire"
    assert rule_id not in rules_of(path, good), f"{rule_id} fired on the fixed config"


def test_every_rule_has_a_case():
    untested = set(RULES) - set(CASES) - {"GEN003", "GEN004"}  # GEN003/GEN004: tests in test_robustness
    assert not untested


def test_good_cases_are_clean():
    for text, path in (
        (DOCKER_OK, "Dockerfile"),
        (K8S_OK_DOC, "d.yaml"),
        (COMPOSE_OK, "compose.yaml"),
        (NGINX_OK, "nginx.conf"),
        (SERVICE_OK, "api.service"),
    ):
        assert analyse(text, path).findings == [], path


def apply_fix(text: str, fix) -> str:
    lines = text.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    for e in sorted(fix.edits, key=lambda e: (e.span.line, e.span.col), reverse=True):
        a = offsets[e.span.line] + e.span.col
        b = offsets[e.span.end_line] + e.span.end_col
        text = text[:a] + e.new_text + text[b:]
    return text


@pytest.mark.parametrize("rule_id", sorted(CASES))
def test_quick_fixes_remove_the_finding(rule_id):
    path, bad, _ = CASES[rule_id]
    for f in [f for f in analyse(bad, path).findings if f.rule == rule_id and f.fix]:
        fixed = apply_fix(bad, f.fix)
        remaining = [g for g in analyse(fixed, path).findings if g.rule == rule_id]
        assert len(remaining) < len([g for g in analyse(bad, path).findings if g.rule == rule_id]), fixed


def test_fixes_are_offered_where_certain():
    with_fix = {
        rid
        for rid, (path, bad, _) in CASES.items()
        for f in analyse(bad, path).findings
        if f.rule == rid and f.fix
    }
    assert {
        "DF003",
        "DF004",
        "DF005",
        "DF006",
        "DF008",
        "DF010",
        "DF014",
        "DF018",
        "DF020",
        "K8S004",
        "K8S006",
        "DC001",
        "DC003",
        "DC008",
        "NGX001",
        "NGX002",
        "NGX003",
        "NGX006",
        "NGX011",
        "SD013",
    } <= with_fix
    assert not with_fix & {"DF001", "DF011", "K8S003", "K8S011", "SD002", "NGX005"}  # no certain edit exists


def test_exact_ranges():
    text = CASES["DF001"][1]
    (f,) = [f for f in analyse(text, "Dockerfile").findings if f.rule == "DF001"]
    assert (f.span.line, f.span.col, f.span.end_col) == (0, 5, 11)
    text = CASES["K8S003"][1]
    (f,) = [f for f in analyse(text, "d.yaml").findings if f.rule == "K8S003"]
    assert text.split("\n")[f.span.line][f.span.col : f.span.end_col] == "shop/api"
    text = CASES["NGX002"][1]
    (f,) = [f for f in analyse(text, "nginx.conf").findings if f.rule == "NGX002"]
    assert text.split("\n")[f.span.line][f.span.col : f.span.end_col] == "TLSv1.1 TLSv1.2"
    text = CASES["SD006"][1]
    (f,) = [f for f in analyse(text, "api.service").findings if f.rule == "SD006"]
    assert text.split("\n")[f.span.line][f.span.col : f.span.end_col] == "api"


def test_rules_md_matches_the_catalogue():
    doc = (Path(__file__).resolve().parents[2] / "lsp" / "RULES.md").read_text()
    rows = {
        m.group(1): (m.group(2), m.group(3))
        for m in re.finditer(r"^\| (\w+) \| `([^`]+)` \| (\w+) \|", doc, re.MULTILINE)
    }
    assert set(rows) == set(RULES)
    for rid, rule in RULES.items():
        assert rows[rid] == (rule.name, rule.severity), rid


def test_options_on_continuation_lines_count():
    text = docker(
        "COPY . .",
        "RUN apt-get update && apt-get install -y \\\n    --no-install-recommends \\\n"
        "    curl \\\n && rm -rf /var/lib/apt/lists/* \\\n && pip install \\\n    --no-cache-dir x",
    )
    assert rules_of("Dockerfile", text) == set()


@pytest.mark.parametrize(
    "rule_id,path,bad,good",
    [
        (
            "DC004",
            "compose.yaml",
            compose("${POSTGRES_PASSWORD}", "x\n      DATABASE_URL: postgres://app:s3cret@db/app"),
            compose("${POSTGRES_PASSWORD}", "x\n      DATABASE_URL: postgres://app@db/app").replace(
                "POSTGRES_PASSWORD: x", "A: b"
            ),
        ),
        (
            "K8S011",
            "d.yaml",
            k8s(
                "          resources:",
                "          env:\n            - {name: REDIS_URL, value: 'redis://:pw@r:6379/0'}\n          resources:",
            ),
            k8s(
                "          resources:",
                "          env:\n            - {name: REDIS_URL, value: 'redis://r:6379/0'}\n          resources:",
            ),
        ),
        (
            "DF011",
            "Dockerfile",
            docker("COPY . .", "ENV DATABASE_URL=mysql://root:hunter2@db/app"),
            docker("COPY . .", "ENV DATABASE_URL=mysql://root@db/app"),
        ),
    ],
)
def test_credentials_inside_connection_urls(rule_id, path, bad, good):
    assert rule_id in rules_of(path, bad)
    assert rule_id not in rules_of(path, good)


def test_kubernetes_cronjob_list_and_init_containers():
    text = """\
apiVersion: v1
kind: List
items:
  - apiVersion: batch/v1
    kind: CronJob
    metadata: {name: backup, namespace: ops}
    spec:
      schedule: "0 3 * * *"
      jobTemplate:
        spec:
          template:
            spec:
              initContainers:
                - name: wait
                  image: busybox
              containers:
                - name: backup
                  image: ops/backup:2.1
                  securityContext: {privileged: true}
"""
    found = [(f.rule, f.message) for f in analyse(text, "cron.yaml").findings]
    rules = {r for r, _ in found}
    assert {"K8S003", "K8S004"} <= rules  # busybox untagged (init container), privileged backup container
    assert not rules & {"K8S009", "K8S010"}  # batch pods need no probes
    assert any("`wait`" in m for r, m in found if r == "K8S003" or r == "K8S001")


def test_compose_long_port_syntax_and_ipv6_any():
    long_syntax = compose('      - "127.0.0.1:5432:5432"', "      - {target: 5432, published: 5432}")
    assert "DC003" in rules_of("compose.yaml", long_syntax)
    bound = compose(
        '      - "127.0.0.1:5432:5432"', "      - {target: 5432, published: 5432, host_ip: 127.0.0.1}"
    )
    assert "DC003" not in rules_of("compose.yaml", bound)
    assert "DC003" in rules_of("compose.yaml", compose('"127.0.0.1:5432:5432"', '"6379"'))


def test_nginx_site_snippet_without_http_block():
    text = "server {\n    listen 80;\n    location /files {\n        alias /srv/files/;\n    }\n}\n"
    rules = rules_of("/etc/nginx/sites-available/files", text)
    assert "NGX006" in rules and "NGX009" not in rules  # a server block at top level is fine in a site file


def test_static_units_without_install_are_only_info():
    static = SERVICE_OK.split("[Install]")[0]
    (f,) = [f for f in analyse(static, "api.service").findings if f.rule == "SD008"]
    assert f.severity == "info"
    (f,) = [f for f in analyse(static + "[Install]\n", "api.service").findings if f.rule == "SD008"]
    assert f.severity == "warning"

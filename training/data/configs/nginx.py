"""nginx configurations: parametrised TLS reverse proxies with static files, and their defects."""

from __future__ import annotations

import random

from .doc import Defect, Doc, Injector, Invented, Line, indent_of

KIND = "nginx"

_SITES = [
    "shop.example.com",
    "api.northwind.io",
    "docs.initech.net",
    "app.globex.dev",
    "status.hooli.xyz",
    "portal.acme-corp.com",
    "git.umbrella.org",
    "grafana.internal.example",
]


def base(rng: random.Random) -> tuple[Doc, str]:
    site = rng.choice(_SITES)
    short = site.split(".")[0]
    up = f"{short}_backend"
    port = rng.choice([8000, 8080, 3000, 9000])
    n_servers = rng.randint(1, 3)
    static = rng.choice(["static", "assets", "media", "public"])
    lines: list = [(f"upstream {up} {{", "upstream")]
    for k in range(n_servers):
        host = "127.0.0.1" if n_servers == 1 else f"10.0.{rng.randint(1, 9)}.{10 + k}"
        lines.append(
            (f"    server {host}:{port}{' max_fails=3 fail_timeout=10s' if n_servers > 1 else ''};", "")
        )
    lines += [
        (f"    keepalive {rng.choice([16, 32, 64])};", ""),
        "}",
        "",
        ("server {", ""),
        ("    listen 80;", "listen80"),
        (f"    server_name {site};", ""),
        ("    return 301 https://$host$request_uri;", "redirect"),
        "}",
        "",
        ("server {", ""),
        ("    listen 443 ssl;", "listen443"),
        ("    http2 on;", ""),
        (f"    server_name {site};", ""),
        "",
        (f"    ssl_certificate /etc/letsencrypt/live/{site}/fullchain.pem;", "cert"),
        (f"    ssl_certificate_key /etc/letsencrypt/live/{site}/privkey.pem;", ""),
        ("    ssl_protocols TLSv1.2 TLSv1.3;", "sslproto"),
        (f"    ssl_session_cache shared:SSL:{rng.choice([10, 20, 50])}m;", "sessioncache"),
        ("    server_tokens off;", "tokens"),
        ('    add_header Strict-Transport-Security "max-age=63072000" always;', "hsts"),
        (f"    client_max_body_size {rng.choice([1, 8, 10, 25, 50])}m;", "bodysize"),
        "",
    ]
    if rng.random() < 0.3:
        lines += [
            (f"    access_log /var/log/nginx/{short}.access.log;", ""),
            (f"    error_log /var/log/nginx/{short}.error.log warn;", ""),
            "",
        ]
    if rng.random() < 0.3:
        lines += [
            ("    gzip on;", ""),
            ("    gzip_types text/css application/javascript application/json;", ""),
            "",
        ]
    lines += [
        (f"    location /{static}/ {{", "staticloc"),
        (f"        alias /srv/{short}/{static}/;", "alias"),
        (f"        expires {rng.choice(['7d', '30d', '1h'])};", "expires"),
        "    }",
        "",
    ]
    if rng.random() < 0.25:
        lines += [
            ("    location /ws/ {", ""),
            (f"        proxy_pass http://{up};", ""),
            ("        proxy_http_version 1.1;", ""),
            ("        proxy_set_header Upgrade $http_upgrade;", ""),
            ('        proxy_set_header Connection "upgrade";', ""),
            ("        proxy_set_header Host $host;", ""),
            ("        proxy_read_timeout 1h;", ""),
            "    }",
            "",
        ]
    lines += [
        ("    location / {", "rootloc"),
        (f"        proxy_pass http://{up};", "proxypass"),
        ("        proxy_http_version 1.1;", ""),
        ('        proxy_set_header Connection "";', ""),
        ("        proxy_set_header Host $host;", "hosthdr"),
        ("        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", ""),
        ("        proxy_set_header X-Forwarded-Proto $scheme;", ""),
        (f"        proxy_read_timeout {rng.choice([30, 60, 120])}s;", "readtimeout"),
        "    }",
        "}",
    ]
    path = rng.choice(
        [f"/etc/nginx/conf.d/{short}.conf", f"/etc/nginx/sites-available/{site}", f"nginx/{short}.conf"]
    )
    return Doc(lines), path


def _autoindex(doc: Doc, rng: random.Random) -> Defect:
    alias = doc.get("alias")
    line = Line(indent_of(alias) + "autoindex on;", "autoindex")
    doc.insert_after(alias, [line])
    return Defect(
        "autoindex-on",
        line,
        "autoindex on",
        "`autoindex on` lists every file in the directory to anyone, exposing backups and files that were never linked",
        "remove it (the default is `autoindex off`).",
    )


def _old_tls(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("sslproto")
    old = rng.choice(
        ["TLSv1 TLSv1.1 TLSv1.2", "TLSv1 TLSv1.1 TLSv1.2 TLSv1.3", "SSLv3 TLSv1 TLSv1.1 TLSv1.2"]
    )
    line.text = f"    ssl_protocols {old};"
    bad = " and ".join(p for p in old.split() if p in ("SSLv3", "TLSv1", "TLSv1.1"))
    return Defect(
        "weak-tls-protocols",
        line,
        "ssl_protocols",
        f"`ssl_protocols` still enables {bad}, which are deprecated (RFC 8996) and vulnerable to downgrade attacks",
        "use `ssl_protocols TLSv1.2 TLSv1.3;`.",
    )


def _tokens(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("tokens")
    line.text = "    server_tokens on;"
    return Defect(
        "server-tokens-on",
        line,
        "server_tokens on",
        "`server_tokens on` advertises the exact nginx version in the Server header and error pages",
        "set `server_tokens off;`.",
    )


def _alias_slash(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("staticloc")
    loc = line.text.split()[1]
    line.text = f"    location {loc.rstrip('/')} {{"
    alias = doc.get("alias")
    target = alias.text.split()[1].rstrip(";")
    return Defect(
        "alias-path-traversal",
        alias,
        "alias ",
        f"The location `{loc.rstrip('/')}` has no trailing slash but its alias `{target}` does, so `{loc.rstrip('/')}../` maps outside the directory (off-by-slash path traversal)",
        f"write the location with a trailing slash: `location {loc} {{`.",
    )


def _no_redirect(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("redirect")
    line = doc.get("listen80")
    return Defect(
        "no-https-redirect",
        line,
        "listen 80",
        "The port-80 server no longer redirects to HTTPS, so plain-HTTP requests get nginx's default page instead of the site",
        "add `return 301 https://$host$request_uri;` to the port-80 server.",
    )


def _no_host(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("hosthdr")
    line = doc.get("proxypass")
    up = line.text.split("//", 1)[1].rstrip(";")
    return Defect(
        "proxy-host-header",
        line,
        "proxy_pass",
        f"Without `proxy_set_header Host $host` the backend receives `Host: {up}` (the upstream name), which breaks virtual hosts, redirects and absolute URLs",
        "add `proxy_set_header Host $host;` in this location.",
    )


def _body_unlimited(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("bodysize")
    line.text = "    client_max_body_size 0;"
    return Defect(
        "unlimited-body-size",
        line,
        "client_max_body_size 0",
        "`client_max_body_size 0` disables the request body limit, so any client can upload arbitrarily large bodies and fill the temp disk",
        "set a real limit, e.g. `client_max_body_size 10m;`.",
    )


def _weak_ciphers(doc: Doc, rng: random.Random) -> Defect:
    anchor = doc.get("sslproto")
    ciphers = rng.choice(["ALL:!aNULL", "HIGH:MEDIUM:RC4:3DES", "DEFAULT:RC4-SHA:DES-CBC3-SHA"])
    line = Line(f"    ssl_ciphers {ciphers};", "ciphers")
    doc.insert_after(anchor, [line])
    return Defect(
        "weak-ciphers",
        line,
        "ssl_ciphers",
        f"`ssl_ciphers {ciphers}` allows weak suites (RC4/3DES/export-grade or non-forward-secret)",
        "drop the directive (nginx's default is `HIGH:!aNULL:!MD5`) or use an ECDHE+AEAD-only list.",
    )


INJECTORS = [
    Injector("autoindex-on", ("alias",), _autoindex),
    Injector("weak-tls-protocols", ("sslproto",), _old_tls),
    Injector("server-tokens-on", ("tokens",), _tokens),
    Injector("alias-path-traversal", ("staticloc", "alias"), _alias_slash),
    Injector("no-https-redirect", ("redirect", "listen80"), _no_redirect),
    Injector("proxy-host-header", ("hosthdr", "proxypass"), _no_host),
    Injector("unlimited-body-size", ("bodysize",), _body_unlimited),
    Injector("weak-ciphers", ("sslproto",), _weak_ciphers),
]

INVENTED = [
    Invented(
        "sessioncache",
        "`ssl_session_cache shared:SSL` leaks session keys between server blocks",
        "use `ssl_session_cache off;`.",
    ),
    Invented("hsts", "`always` on add_header makes nginx send the header twice", "remove `always`."),
    Invented(
        "expires",
        "`expires` is not allowed inside a location with `alias`",
        "move `expires` to the http block.",
    ),
    Invented(
        "readtimeout",
        "proxy_read_timeout is measured in milliseconds here, so requests time out almost immediately",
        "write `proxy_read_timeout 60000;`.",
    ),
    Invented(
        "cert",
        "ssl_certificate must point at the leaf certificate only; fullchain.pem breaks the handshake",
        "use `cert.pem`.",
    ),
]

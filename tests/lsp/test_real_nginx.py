"""nginx configurations as real servers carry them: conf.d and sites-available snippets, stream blocks, includes;
the idioms that must stay quiet and the defects hidden in them that must be found."""

from __future__ import annotations

import pytest

from lsp.analysers import analyse

from .realworld import at, findings, rules_of


def test_nginx_stream_and_includes():
    stream = "stream {\n    upstream dns { server 10.0.0.2:53; }\n    server {\n        listen 53 udp;\n        proxy_pass dns;\n    }\n}\n"
    assert findings(stream, "nginx/conf.d/stream.conf") == []
    site = """\
server {
    listen 443 ssl;
    client_max_body_size 5m;
    add_header Strict-Transport-Security "max-age=63072000" always;
    location / {
        include proxy_params;
        proxy_pass http://127.0.0.1:8000;
    }
    location /static/ {
        include snippets/headers.conf;
        add_header Cache-Control "public";
    }
}
"""
    assert findings(site, "sites-available/shop") == []
    no_include = site.replace("        include snippets/headers.conf;\n", "").replace("        include proxy_params;\n", "")
    assert rules_of(no_include, "sites-available/shop") == {"NGX005", "NGX007"}


@pytest.mark.parametrize(
    "text,line",
    [
        ("server {\n    listen 80;\n}\nworker_processes 1\n", 3),
        ("server {\n    listen 80;\n    return 200 'ok;\n}\n", 2),
        ("events {}\n\nhttp {\n    server_tokens off\n", 3),
    ],
)
def test_nginx_unterminated_input_is_a_syntax_error_where_it_starts(text, line):
    errors = [f for f in findings(text, "nginx.conf") if f.rule == "NGX009"]
    assert errors and errors[0].span.line == line


@pytest.mark.parametrize(
    "directive,flagged",
    [
        ("return 301 https://$host$uri;", True),
        ("return 302 /login?next=$document_uri;", True),
        ("rewrite ^ https://$host$uri permanent;", True),
        ("proxy_pass http://backend$uri;", True),
        ('add_header X-Path "$uri";', True),
        ("return 301 https://$host$request_uri;", False),
        ('return 200 "$uri";', False),
        ("try_files $uri $uri/ =404;", False),
    ],
)
def test_nginx_decoded_uri_in_headers(directive, flagged):
    text = f"server {{\n    listen 80;\n    client_max_body_size 1m;\n    location / {{\n        {directive}\n    }}\n}}\n"
    found = [f for f in findings(text, "site.conf") if f.rule == "NGX010"]
    assert bool(found) is flagged
    if found:
        assert at(text, found[0]) in ("$uri", "$document_uri")


def test_nginx_conf_d_snippets_parse_without_context_errors():
    locations = "location /api/ {\n    proxy_set_header Host $host;\n    proxy_pass http://backend;\n}\n"
    assert findings(locations, "conf.d/locations.conf") == []
    assert analyse(locations, "conf.d/locations.conf").kind == "nginx"

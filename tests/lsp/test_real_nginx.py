"""nginx configurations as real servers carry them: conf.d and sites-available snippets, stream blocks, includes;
the idioms that must stay quiet and the defects hidden in them that must be found."""

from __future__ import annotations

import pytest

from lsp.analysers import analyse

from .realworld import at, findings, rules_of
from .test_rules import apply_fix


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


SITE = """\
server {
    listen 80;
    server_name example.com www.example.com;
    root /srv/www;
    client_max_body_size 5m;
    location / {
        try_files $uri $uri/ =404;
    }
}
"""


@pytest.mark.parametrize(
    "old,new,line",
    [
        ("listen 80;", "listen 80", 1),  # listen takes any number of parameters: swallows server_name
        ("server_name example.com www.example.com;", "server_name example.com www.example.com", 2),
        ("root /srv/www;", "root /srv/www  # static files", 3),
        ("try_files $uri $uri/ =404;", "try_files $uri $uri/ =404\n        index index.html;", 6),
        ("client_max_body_size 5m;", "client_max_body_size 5m", 4),  # swallows `location / {`
    ],
)
def test_a_missing_semicolon_is_reported_on_its_line(old, new, line):
    text = SITE.replace(old, new)
    found = [f for f in findings(text, "sites-available/example") if f.rule in ("NGX009", "NGX011")]
    assert [(f.rule, f.span.line) for f in found] == [("NGX011", line)]  # once, not also as NGX009
    fixed = apply_fix(text, found[0].fix)
    assert findings(fixed, "sites-available/example") == []


def test_missing_semicolons_in_a_whole_config_and_in_upstreams():
    text = "events {}\nhttp {\n    server_tokens off;\n    client_max_body_size 1m;\n" + SITE.replace(
        "root /srv/www;", "root /srv/www\n    index index.html;"
    ) + "    upstream app {\n        server 10.0.0.1:80\n        server 10.0.0.2:80;\n    }\n}\n"
    found = [(f.rule, f.span.line) for f in findings(text, "nginx.conf") if f.rule in ("NGX009", "NGX011")]
    assert found == [("NGX011", 7), ("NGX011", 15)]


def test_multi_line_directives_are_not_missing_semicolons():
    text = """\
http {
    server_tokens off;
    client_max_body_size 1m;
    log_format main '$remote_addr [$time_local] "$request" '
                    '$status $body_bytes_sent';
    gzip_types
        application/json
        text/css;
    proxy_cache_path /var/cache/nginx levels=1:2
                     keys_zone=app:10m inactive=60m;
    map $http_upgrade $connection_upgrade {
        default upgrade
        ;
        ''      close;
    }
    server {
        listen 443 ssl
            http2 default_server;
        server_name example.com
                    www.example.com;
        add_header Strict-Transport-Security
            "max-age=63072000" always;
        error_page 500 502 503 504
            /50x.html;
        location /old/ {
            rewrite ^/old/(.*)$ /new/$1
                break;
        }
        location /lua {
            content_by_lua_block {
                ngx.say("root index")
            }
        }
    }
}
"""
    assert not {"NGX009", "NGX011"} & rules_of(text, "nginx.conf")


def test_argument_counts_are_checked_in_snippets():
    text = SITE.replace("root /srv/www;", "root /srv/www /srv/other;")
    (f,) = [f for f in findings(text, "conf.d/site.conf") if f.rule == "NGX009"]
    assert f.span.line == 3 and "root" in f.message
    ok = SITE.replace("root /srv/www;", "limit_req zone=perip burst=10 nodelay;")
    assert "NGX009" not in rules_of(ok, "conf.d/site.conf")

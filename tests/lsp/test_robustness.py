"""Bad input never crashes or hangs an analyser: random text, binary, invalid UTF-8, half-typed configs,
deep nesting, huge files. Property-based with hypothesis, plus hand-made nasty cases."""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lsp import analysers
from lsp.analysers import analyse, analyse_bytes, detect_kind
from lsp.analysers.findings import split_lines

from .test_rules import CASES, COMPOSE_OK, DOCKER_OK, K8S_OK_DOC, NGINX_OK, SERVICE_OK

# each level merges nine copies of the one before: 9**8 keys if merges were expanded naively
MERGE_BOMB = (
    "x0: &m0 {image: 'a:1', restart: always}\n"
    + "".join(f"x{i}: &m{i} {{<<: [{', '.join([f'*m{i - 1}'] * 9)}]}}\n" for i in range(1, 9))
    + "services:\n  s:\n    <<: *m8\n"
)
PATHS = [
    "Dockerfile",
    "deploy.yaml",
    "docker-compose.yml",
    "nginx.conf",
    "api.service",
    "x.timer",
    "a.json",
    "a.toml",
    "notes.txt",
    "",
]
SAMPLES = [
    (DOCKER_OK, "Dockerfile"),
    (K8S_OK_DOC, "deploy.yaml"),
    (COMPOSE_OK, "compose.yaml"),
    (NGINX_OK, "nginx.conf"),
    (SERVICE_OK, "api.service"),
]
# characters that matter to the parsers
TOKENS = st.sampled_from(
    list("{}[]:;=#\"'\\-|&$ \t\n\r")
    + [
        "FROM ",
        "RUN ",
        "apiVersion: ",
        "kind: ",
        "server ",
        "location ",
        "[Service]",
        "---\n",
        "\x00",
        "\ufffd",
        "é",
        "\u2028",
        "a",
        "1",
    ]
)
SNIPPETS = st.lists(TOKENS, max_size=80).map("".join)


def check(text: str, path: str) -> None:
    result = analyse(text, path)
    assert not [f for f in result.findings if f.rule == "GEN004"], result.findings  # no analyser crashed
    n = len(split_lines(text))
    for f in result.findings:
        assert 0 <= f.span.line <= f.span.end_line < max(n, 1) + 1
        assert f.span.col >= 0 and f.span.end_col >= 0
        assert f.message


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=SNIPPETS, path=st.sampled_from(PATHS))
def test_random_structural_text(text, path):
    check(text, path)


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_truncated_and_mutated_real_configs(data):
    text, path = data.draw(st.sampled_from(SAMPLES + [(bad, p) for p, bad, _ in list(CASES.values())[:60]]))
    cut = data.draw(st.integers(0, len(text)))
    insert = data.draw(st.lists(TOKENS, max_size=5).map("".join))
    check(text[:cut] + insert + text[cut:], path)  # half-typed: a prefix plus a few stray characters
    check(text[:cut], path)


def test_random_bytes_never_crash():
    rng = random.Random(1234)
    for i in range(200):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        result = analyse_bytes(data, PATHS[i % len(PATHS)])
        assert not [f for f in result.findings if f.rule == "GEN004"]


def test_invalid_utf8_is_reported_and_analysed():
    data = b"FROM ubuntu\nRUN echo \xff\xfe caf\xe9\n"
    result = analyse_bytes(data, "Dockerfile")
    rules = [f.rule for f in result.findings]
    assert rules[0] == "GEN003" and "DF001" in rules


def test_binary_content_is_not_analysed():
    result = analyse_bytes(bytes(range(256)) * 20, "deploy.yaml")
    assert [f.rule for f in result.findings] == ["GEN002"]


@pytest.mark.parametrize(
    "text,path",
    [
        ("[" * 100_000, "a.json"),
        ("a = " + "[" * 100_000, "a.toml"),
        ("[" * 100_000, "a.yaml"),
        ("{" * 100_000, "a.yaml"),
        ("".join(" " * i + "a:\n" for i in range(3000)), "a.yaml"),
        ("server {" * 20_000, "nginx.conf"),
        ("}" * 10_000, "nginx.conf"),
        ("RUN \\\n" * 20_000, "Dockerfile"),
        ("FROM a\nRUN " + "apt-get " * 20_000, "Dockerfile"),
        ("[Service]\nExecStart=\\\n" * 5000, "a.service"),
        ("a" * 3_000_000, "Dockerfile"),
        ("", "Dockerfile"),
        ("", "a.yaml"),
        ("", "nginx.conf"),
        ("", "a.service"),
        ("\n\n\n", "a.json"),
        ("---\n---\n", "a.yaml"),
        ("&a [*a, *a]\nb: *a\n", "a.yaml"),
        ("a: &x [1]\nb: *x\n" + "c: [*x, *x, *x, *x]\n" * 100, "a.yaml"),
        ("!!python/object:os.system x", "a.yaml"),
        (MERGE_BOMB, "compose.yaml"),
        ("a: &a {<<: *a}\n", "compose.yaml"),
        ("x0: &m0 {a: 1}\n" + "".join(f"x{i}: &m{i} {{<<: *m{i - 1}}}\n" for i in range(1, 200)), "a.yaml"),
        ("\ufeff", "Dockerfile"),
        ("\ufeff\ufeffFROM a\n", "Dockerfile"),
        ("FROM a\nRUN <<EOF\napt-get install x\n", "Dockerfile"),
        ("FROM a\nRUN <<A <<B\nA\n", "Dockerfile"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: {{ x }}\n", "templates/p.yaml"),
        ("{{", "a.yaml"),
        ("}}\n{{- if }}\n", "a.yaml"),
        ("server { return 301 $uri; }", "nginx.conf"),
        ('"', "nginx.conf"),
        ("[Service]\nExecStart=/bin/a \\\n# c \\\n", "a.service.d/x.conf"),
    ],
)
def test_nasty_inputs(text, path):
    check(text, path)


def test_huge_file_is_capped_and_says_so():
    text = K8S_OK_DOC + ("---\n" + K8S_OK_DOC) * 4000
    result = analyse(text, "deploy.yaml")
    assert result.truncated and result.findings[0].rule == "GEN001"
    assert result.analysed_lines <= analysers.MAX_LINES


def test_analyser_bug_becomes_a_finding(monkeypatch):
    def boom(text):
        raise RuntimeError("boom")

    monkeypatch.setattr(analysers.dockerfile, "analyse_dockerfile", boom)
    result = analyse("FROM a\n", "Dockerfile")
    assert [f.rule for f in result.findings] == ["GEN004"] and "boom" in result.findings[0].message


@pytest.mark.parametrize(
    "path,text,kind",
    [
        ("Dockerfile", "", "dockerfile"),
        ("build/api.dockerfile", "", "dockerfile"),
        ("Dockerfile.prod", "", "dockerfile"),
        ("docker-compose.override.yml", "", "compose"),
        ("compose.yaml", "", "compose"),
        ("x/app.service", "", "systemd"),
        ("/etc/nginx/sites-available/shop", "", "nginx"),
        ("conf.d/site.conf", "server {\n listen 80;\n}\n", "nginx"),
        ("app.conf", "key = value\n", "other"),
        ("noext", "FROM alpine:3\n", "dockerfile"),
        ("noext", "[Unit]\nDescription=x\n", "systemd"),
        ("app.log", "", "log"),
        ("a.json", "", "json"),
        ("a.toml", "", "toml"),
        ("a.yml", "", "yaml"),
        ("Dockerfile.dev", "", "dockerfile"),
        ("Containerfile.prod", "", "dockerfile"),
        ("sites-available/shop", "", "nginx"),
        ("deploy/nginx/templates/default.conf.template", "", "nginx"),
        ("default.conf.template", "server {\n listen 80;\n}\n", "nginx"),
        ("/etc/systemd/system/nginx.service.d/override.conf", "", "systemd"),
        ("units/app.service.in", "", "systemd"),
        ("noext", "\ufeff[Unit]\nDescription=x\n", "systemd"),
    ],
)
def test_detect_kind(path, text, kind):
    assert detect_kind(path, text) == kind


def test_yaml_kind_is_refined_by_content():
    assert analyse(K8S_OK_DOC, "anything.yaml").kind == "kubernetes"
    assert analyse(COMPOSE_OK, "stack.yml").kind == "compose"
    assert analyse("a: 1\n", "values.yaml").kind == "yaml"


def test_a_bom_is_ignored_and_columns_still_count_it():
    text = "\ufeffFROM alpine\r\nRUN apk add --no-cache tini \\\r\n    && echo ok\r\nUSER 1000\r\nHEALTHCHECK NONE\r\n"
    found = analyse(text, "Dockerfile").findings
    assert [f.rule for f in found] == ["DF001"]
    assert (found[0].span.col, found[0].span.end_col) == (6, 12)  # `alpine`, after the BOM
    unit = "\ufeff[Unit]\nDescription=x\n[Service]\nType=oneshot\nExecStart=/bin/true\nUser=a\n"
    assert "SD009" not in {f.rule for f in analyse(unit, "x.service").findings}
    assert analyse("\ufeffserver {\n    listen 80;\n}\n", "site.conf").kind == "nginx"

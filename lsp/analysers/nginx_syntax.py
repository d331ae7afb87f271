"""nginx syntax beyond what crossplane reports: a directive whose ``;`` is missing swallows the next line
(NGX011), and argument counts of directives in snippets (conf.d, sites-enabled), where crossplane does not
know the context and checks nothing.

A missing ``;`` makes the next line more arguments of the directive above it: ``listen 80`` followed by
``server_name example.com;`` becomes ``listen 80 server_name example.com``. Either nginx refuses the file or,
for directives that take any number of values (server_name, index, ...), it silently takes the words as
values and the next directive is lost. The lexer's tokens carry their line, so a known directive name that
opens a line in the middle of a statement, with arguments it can take, is such a swallowed directive.
"""

from __future__ import annotations

import re

from crossplane.analyzer import (
    CONTEXTS,
    DIRECTIVES,
    NGX_CONF_1MORE,
    NGX_CONF_2MORE,
    NGX_CONF_ANY,
    NGX_CONF_BLOCK,
    NGX_CONF_FLAG,
    analyze,
    enter_block_ctx,
)
from crossplane.errors import NgxParserDirectiveError

from .findings import Fix, Lines, Span, StaticFinding, TextEdit, finding, rule

R_MISSING_SEMICOLON = rule(
    "NGX011",
    "nginx/missing-semicolon",
    "error",
    "A directive is not terminated by `;`, so the next line becomes more of its arguments.",
)

Token = tuple[str, int, bool]  # crossplane's lexer: (text, 1-based line, quoted)

# Blocks whose entries are no directives (map keys, MIME types, ...), and the words some directives take
# that are also directive names (`rewrite ... break`).
NOT_DIRECTIVE_BLOCKS = frozenset({"map", "geo", "types", "split_clients", "charset_map", "match"})
_ARGUMENT_WORDS = {
    "rewrite": {"break"},
    "listen": {"ssl", "http2", "proxy_protocol", "quic"},
}


def _takes(directive: str, args: list[str], term: str) -> bool:
    """Whether ``directive`` accepts ``args`` ending with ``term`` in some context (crossplane's masks)."""
    n = len(args)
    for mask in DIRECTIVES.get(directive, ()):
        if bool(mask & NGX_CONF_BLOCK) != (term == "{"):
            continue
        if (
            (n <= 7 and mask >> n & 1)
            or (mask & NGX_CONF_FLAG and n == 1 and args[0].lower() in ("on", "off"))
            or mask & NGX_CONF_ANY
            or (mask & NGX_CONF_1MORE and n >= 1)
            or (mask & NGX_CONF_2MORE and n >= 2)
        ):
            return True
    return False


def _only_block(directive: str) -> bool:
    masks = DIRECTIVES.get(directive, ())
    return bool(masks) and all(mask & NGX_CONF_BLOCK for mask in masks)


def statements(tokens: list[Token]):
    """(tokens of one statement, its terminator, enclosing block names) for every statement."""
    stack: list[str] = []
    stmt: list[Token] = []
    for tok in tokens:
        text, _, quoted = tok
        if not quoted and text.startswith("#"):
            continue
        if not quoted and text in (";", "{", "}"):
            if stmt:
                yield stmt, text, tuple(stack)
            if text == "{":
                stack.append(stmt[0][0] if stmt else "")
            elif text == "}" and stack:
                stack.pop()
            stmt = []
            continue
        stmt.append(tok)
    if stmt:
        yield stmt, "", tuple(stack)


def missing_semicolons(lines: Lines, tokens: list[Token]) -> tuple[list[StaticFinding], set[int]]:
    """NGX011 findings, and the 0-based lines of the directives they are about (where crossplane reports
    the same statement as having too many arguments, or as a block that should not be one)."""
    out: list[StaticFinding] = []
    hosts: set[int] = set()
    for stmt, term, blocks in statements(tokens):
        if stmt[0][2] or any(b in NOT_DIRECTIVE_BLOCKS for b in blocks) or _only_block(stmt[0][0]):
            continue  # (`location /a` + a new line is a missing `{`, which crossplane reports)
        host = 0
        for i in range(1, len(stmt)):
            text, line, quoted = stmt[i]
            if quoted or line <= stmt[i - 1][1] or text not in DIRECTIVES:
                continue
            if text in _ARGUMENT_WORDS.get(stmt[host][0], ()):
                continue
            end = i + 1
            while end < len(stmt) and stmt[end][1] == line:
                end += 1
            args = [t for t, _, _ in stmt[i + 1 : end]]
            if not _takes(text, args, term if end == len(stmt) else ";"):
                continue
            out.append(_finding(lines, stmt[host], stmt[i - 1], stmt[i:end]))
            hosts.add(stmt[host][1] - 1)
            host = i
    return out, hosts


def _finding(lines: Lines, host: Token, last: Token, swallowed: list[Token]) -> StaticFinding:
    line = last[1] - 1
    code = lines.get(line)
    fix = None
    if "#" in code and not re.search(r"[\"']", code):
        code = code[: code.index("#")]
    if "#" not in code:
        end = Span.on_line(line, len(code.rstrip()), len(code.rstrip()))
        fix = Fix("Add the missing ;", (TextEdit(end, ";"),))
    words = " ".join(t for t, _, _ in swallowed)
    return finding(
        R_MISSING_SEMICOLON,
        f"`{host[0]}` is not terminated by `;`, so `{words}` on the next line becomes more arguments of "
        f"`{host[0]}` and is lost (or nginx -t fails). Add the `;`.",
        lines.whole(line),
        fix,
    )


def argument_errors(parsed: list[dict]) -> list[tuple[int, str]]:
    """(1-based line, message) of directives with an impossible argument count that crossplane left
    unchecked because it does not know their context (snippets: a server block at the top of a file)."""
    out: list[tuple[int, str]] = []

    def walk(stmts: list[dict], ctx: tuple, skip: bool) -> None:
        for stmt in stmts:
            if not skip and ctx not in CONTEXTS:
                try:
                    analyze("", stmt, "{" if "block" in stmt else ";", (), check_ctx=False, check_args=True)
                except NgxParserDirectiveError as e:
                    out.append((stmt["line"], e.strerror))
            if "block" in stmt:
                d = stmt["directive"]
                inner = skip or d in NOT_DIRECTIVE_BLOCKS or d not in DIRECTIVES
                walk(stmt["block"], enter_block_ctx(stmt, ctx), inner)

    walk(parsed, (), False)
    return out

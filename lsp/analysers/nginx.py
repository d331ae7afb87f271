"""nginx rules (NGX...): parsed with crossplane (from a private temporary copy), with inheritance-aware checks."""

from __future__ import annotations

import os
import re
import tempfile

import crossplane

from .findings import Fix, Lines, Span, StaticFinding, TextEdit, finding, rule
from .nginx_pitfalls import check_pitfalls
from .nginx_syntax import argument_errors, missing_semicolons

R_TOKENS = rule(
    "NGX001",
    "nginx/server-tokens",
    "warning",
    "server_tokens is on (the default): nginx advertises its version.",
)
R_PROTOCOLS = rule(
    "NGX002",
    "nginx/old-tls",
    "warning",
    "ssl_protocols enables SSLv3, TLSv1 or TLSv1.1, which are broken or deprecated.",
)
R_AUTOINDEX = rule("NGX003", "nginx/autoindex", "warning", "autoindex on lists directory contents to anyone.")
R_BODY_SIZE = rule(
    "NGX004",
    "nginx/no-client-max-body-size",
    "info",
    "client_max_body_size is not set: uploads over 1 MiB fail with 413 until someone notices.",
)
R_ADD_HEADER = rule(
    "NGX005",
    "nginx/add-header-inheritance",
    "warning",
    "add_header in a block drops every add_header inherited from the enclosing block.",
)
R_ALIAS = rule(
    "NGX006",
    "nginx/alias-traversal",
    "error",
    "location without a trailing slash + alias with one allows path traversal (/static../etc).",
)
R_PROXY_HOST = rule(
    "NGX007",
    "nginx/proxy-without-host",
    "info",
    "proxy_pass without proxy_set_header Host: the upstream sees the proxy_pass host name.",
)
R_CIPHERS = rule(
    "NGX008",
    "nginx/weak-ciphers",
    "warning",
    "ssl_ciphers enables weak ciphers (RC4, DES, 3DES, MD5, NULL, EXPORT).",
)
R_SYNTAX = rule("NGX009", "nginx/syntax", "error", "nginx would refuse to load this configuration.")
R_CRLF = rule(
    "NGX010",
    "nginx/crlf-injection",
    "warning",
    "`$uri` (decoded, so it can hold a line break) in a header, redirect or proxied request: CRLF injection.",
)

_OLD_PROTOCOLS = {"SSLv2", "SSLv3", "TLSv1", "TLSv1.1"}
_WEAK_CIPHER = re.compile(
    r"(?:^|:)(?!!)\+?(?:[\w-]*-)?(RC4|DES|3DES|MD5|NULL|EXPORT|aNULL|eNULL)(?:[\w-]*)(?=:|$)", re.IGNORECASE
)
_BLOCKS_WITH_HEADERS = {"http", "server", "location", "if"}
# Directives whose arguments become response headers, a redirect's Location or the proxied request line,
# and the index of the first argument that does.
_HEADER_ARGS = {"return": 0, "rewrite": 1, "add_header": 1, "proxy_set_header": 1, "proxy_pass": 0}
_DECODED_URI = re.compile(r"\$\{?(uri|document_uri)\b\}?")


def looks_like_nginx(text: str) -> bool:
    return (
        bool(
            re.search(r"^\s*(?:server|location\s+[^{;]*|http|upstream\s+\S+|events)\s*\{", text, re.MULTILINE)
        )
        or len(
            re.findall(
                r"^\s*(?:listen|server_name|proxy_pass|root|worker_processes|ssl_certificate|"
                r"error_log|access_log|include|proxy_set_header|fastcgi_pass)\s+[^;\n]+;",
                text,
                re.MULTILINE,
            )
        )
        >= 2
    )


def parse_nginx(text: str) -> dict:
    """crossplane's payload for ``text`` (no includes followed; context checked only for whole configs),
    plus ``tokens``: its lexer's (text, line, quoted) tokens, and ``last_token_line``: the 1-based line of
    the last token the lexer kept, when text follows the last ``;`` or ``}`` (None otherwise)."""
    whole_config = bool(re.search(r"^\s*(?:http|events)\s*\{", text, re.MULTILINE))
    fd, name = tempfile.mkstemp(suffix=".conf", prefix="aletheia-nginx-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
            f.write(text)
        payload = crossplane.parse(
            name, single=True, catch_errors=True, check_ctx=whole_config, check_args=True, comments=False
        )
        payload["tokens"] = list(crossplane.lex(name))
        payload["last_token_line"] = None  # nothing after the last terminator: nothing dropped
        tail = text[max(text.rfind(";"), text.rfind("}")) + 1 :]
        if not payload.get("errors") and any(
            ln.strip() and not ln.strip().startswith("#") for ln in tail.splitlines()
        ):  # text after the last terminator: where the lexer stopped tells what it dropped
            payload["last_token_line"] = payload["tokens"][-1][1] if payload["tokens"] else 0
    finally:
        os.unlink(name)
    for err in payload.get("errors", []):
        err["error"] = (
            re.sub(r" in \S*aletheia-nginx-\S*?:\d+$", "", str(err.get("error", "")))
            or 'unexpected end of file: a directive is not terminated by ";" or a block by "}"'
        )
    return payload


def analyse_nginx(text: str) -> list[StaticFinding]:
    lines = Lines(text)
    try:
        payload = parse_nginx(text)
    except Exception as e:  # noqa: BLE001 - crossplane raises for unbalanced braces in the lexer
        line = max(getattr(e, "lineno", 1) or 1, 1) - 1
        msg = re.sub(r" in \S*aletheia-nginx-\S*?:\d+$", "", str(e))
        return [finding(R_SYNTAX, msg, lines.whole(min(line, len(lines) - 1)))]
    out, swallowing = missing_semicolons(lines, payload["tokens"])
    last = _last_content_line(lines)
    configs = payload.get("config") or []
    parsed = configs[0].get("parsed", []) if configs else []
    errors = [(err.get("line"), err["error"]) for err in payload.get("errors", [])] + argument_errors(parsed)
    for err_line, message in errors:
        # errors without a line are about the end of the file
        line = err_line - 1 if err_line else last
        if line in swallowing and _COUNT_ERROR.search(message):
            continue  # the directive that swallowed the next line: reported as such (NGX011)
        out.append(finding(R_SYNTAX, message, lines.whole(min(max(line, 0), max(len(lines) - 1, 0)))))
    if not payload.get("errors"):
        tail = _unterminated_tail(lines, payload["last_token_line"])
        if tail is not None:
            out.append(
                finding(
                    R_SYNTAX,
                    'unexpected end of file: this text is not terminated by ";" or "}" '
                    "(or a quote is not closed)",
                    lines.whole(tail),
                )
            )
    _Walker(lines, out).walk(parsed, [])
    out += _whole_file_checks(lines, parsed)
    out += check_pitfalls(parsed, lambda stmt: _directive_span(lines, stmt))
    return out


# crossplane's and nginx's words for a statement that has taken in the next line
_COUNT_ERROR = re.compile(r"invalid number of arguments|not terminated by|has no opening|must be \"on\" or \"off\"")


def _last_content_line(lines: Lines) -> int:
    for i in range(len(lines) - 1, -1, -1):
        if lines.get(i).strip():
            return i
    return 0


def _unterminated_tail(lines: Lines, last_token_line: int | None) -> int | None:
    """The first line of text after the last token, which crossplane's lexer drops silently (an unclosed
    quote, a last directive without ``;``) while nginx -t rejects it. None if there is none."""
    if last_token_line is None:
        return None
    for i in range(last_token_line, len(lines)):  # 0-based index = the line after the last token
        stripped = lines.get(i).strip()
        if stripped and not stripped.startswith("#"):
            return i
    return None


def _directive_span(lines: Lines, stmt: dict) -> Span:
    line = stmt["line"] - 1
    return lines.find(stmt["directive"], line, word=True) or lines.whole(line)


def _args_span(lines: Lines, stmt: dict) -> Span | None:
    """The span from the first to the last argument, when all are on the directive's line."""
    d = _directive_span(lines, stmt)
    if not stmt["args"] or d.line != stmt["line"] - 1:
        return None
    s = lines.get(d.line)
    col, first = d.end_col, None
    for arg in stmt["args"]:
        i = s.find(arg, col)
        if i < 0:
            return None
        first = i if first is None else first
        col = i + len(arg)
    return Span.on_line(d.line, first, col)


def _arg_span(lines: Lines, stmt: dict, index: int) -> Span | None:
    d = _directive_span(lines, stmt)
    s, col = lines.get(d.line), d.end_col
    for i, arg in enumerate(stmt["args"]):
        j = s.find(arg, col)
        if j < 0:
            return None
        if i == index:
            return Span.on_line(d.line, j, j + len(arg))
        col = j + len(arg)
    return None


class _Walker:
    def __init__(self, lines: Lines, out: list[StaticFinding]):
        self.lines, self.out = lines, out

    def walk(self, stmts: list[dict], ancestors: list[dict]) -> None:
        for stmt in stmts:
            self.check(stmt, stmts, ancestors)
            if "block" in stmt:
                self.walk(stmt["block"], ancestors + [stmt])

    def check(self, stmt: dict, siblings: list[dict], ancestors: list[dict]) -> None:
        d, args, lines = stmt["directive"], stmt["args"], self.lines
        if d == "server_tokens" and args[:1] == ["on"]:
            arg = _arg_span(lines, stmt, 0)
            fix = Fix("Set server_tokens off", (TextEdit(arg, "off"),)) if arg else None
            self.out.append(
                finding(
                    R_TOKENS,
                    "server_tokens on puts the nginx version in every error page and "
                    "Server header, which helps attackers pick exploits.",
                    _directive_span(lines, stmt),
                    fix,
                )
            )
        elif d == "ssl_protocols":
            old = [a for a in args if a in _OLD_PROTOCOLS]
            if old:
                span = _args_span(lines, stmt)
                fix = (
                    Fix("Allow only TLSv1.2 and TLSv1.3", (TextEdit(span, "TLSv1.2 TLSv1.3"),))
                    if span
                    else None
                )
                self.out.append(
                    finding(
                        R_PROTOCOLS,
                        f"ssl_protocols enables {', '.join(old)}: broken or deprecated "
                        "(POODLE, BEAST; RFC 8996). Use TLSv1.2 TLSv1.3.",
                        span or _directive_span(lines, stmt),
                        fix,
                    )
                )
        elif d == "ssl_ciphers" and args:
            weak = sorted({m.group(1).upper() for m in _WEAK_CIPHER.finditer(args[0])})
            if weak:
                self.out.append(
                    finding(
                        R_CIPHERS,
                        f"ssl_ciphers enables weak ciphers ({', '.join(weak)}); "
                        "exclude them (e.g. `!aNULL:!MD5:!RC4`) or use a modern cipher list.",
                        _arg_span(lines, stmt, 0) or _directive_span(lines, stmt),
                    )
                )
        elif d == "autoindex" and args[:1] == ["on"]:
            arg = _arg_span(lines, stmt, 0)
            fix = Fix("Set autoindex off", (TextEdit(arg, "off"),)) if arg else None
            self.out.append(
                finding(
                    R_AUTOINDEX,
                    "autoindex on lets anyone list the directory: backups, .git and "
                    "other files nobody meant to publish.",
                    _directive_span(lines, stmt),
                    fix,
                )
            )
        elif d == "alias" and ancestors and ancestors[-1]["directive"] == "location":
            self.check_alias(stmt, ancestors[-1])
        elif d == "proxy_pass" and not any(a["directive"] == "stream" for a in ancestors):
            self.check_proxy_host(stmt, siblings, ancestors)  # (stream proxies TCP: no Host header)
        if d in _HEADER_ARGS and not any(a["directive"] == "stream" for a in ancestors):
            self.check_decoded_uri(stmt)
        if "block" in stmt and d in _BLOCKS_WITH_HEADERS:
            self.check_add_header(stmt, ancestors)

    def check_decoded_uri(self, stmt: dict) -> None:
        first = _HEADER_ARGS[stmt["directive"]]
        if stmt["directive"] == "return" and stmt["args"][:1] and stmt["args"][0].isdigit():
            if stmt["args"][0] not in ("301", "302", "303", "307", "308"):
                return  # `return 200 "$uri"` is a body, not a header
            first = 1
        for index, arg in enumerate(stmt["args"]):
            m = _DECODED_URI.search(arg) if index >= first else None
            if m:
                arg_span = _arg_span(self.lines, stmt, index)
                span = (
                    Span.on_line(arg_span.line, arg_span.col + m.start(), arg_span.col + m.end())
                    if arg_span and self.lines.get(arg_span.line)[arg_span.col :].startswith(arg)
                    else _directive_span(self.lines, stmt)
                )
                self.out.append(
                    finding(
                        R_CRLF,
                        f"`${m.group(1)}` is URL-decoded, so a request for `/%0d%0aSet-Cookie:...` puts a line "
                        f"break into what {stmt['directive']} sends (header injection, response splitting). "
                        "Use `$request_uri`, which keeps the encoding.",
                        span,
                    )
                )
                return

    def check_alias(self, alias: dict, location: dict) -> None:
        args = location["args"]
        if not args or not alias["args"]:
            return
        if args[0] in ("^~",) and len(args) > 1:
            prefix = args[1]
        elif args[0] in ("=", "~", "~*", "@") or args[0].startswith("@"):
            return
        else:
            prefix = args[0]
        if prefix.endswith("/") or not alias["args"][0].endswith("/"):
            return
        loc_arg = _arg_span(self.lines, location, len(args) - 1)
        fix = None
        if loc_arg:
            end = Span.on_line(loc_arg.line, loc_arg.end_col, loc_arg.end_col)
            fix = Fix("Add a trailing slash to the location", (TextEdit(end, "/"),))
        self.out.append(
            finding(
                R_ALIAS,
                f"`location {prefix}` has no trailing slash but its alias does: "
                f"`{prefix}../` maps outside `{alias['args'][0]}` (off-by-slash traversal). "
                f"Use `location {prefix}/`.",
                _directive_span(self.lines, alias),
                fix,
            )
        )

    def check_proxy_host(self, stmt: dict, siblings: list[dict], ancestors: list[dict]) -> None:
        levels = [siblings] + [a.get("block", []) for a in reversed(ancestors)][1:]
        for level in levels:
            headers = [s for s in level if s["directive"] == "proxy_set_header"]
            if not headers and _has_include(level):
                return  # an included file (proxy_params, ...) may set the headers: cannot tell
            if headers:  # proxy_set_header is inherited only when a level defines none
                if any(h["args"] and h["args"][0].lower() == "host" for h in headers):
                    return
                break
        self.out.append(
            finding(
                R_PROXY_HOST,
                "proxy_pass without `proxy_set_header Host $host;`: the upstream "
                "receives the proxy_pass host name, which breaks virtual hosts and redirects.",
                _directive_span(self.lines, stmt),
            )
        )

    def check_add_header(self, block: dict, ancestors: list[dict]) -> None:
        own = [s for s in block["block"] if s["directive"] == "add_header"]
        if not own or _has_include(block["block"]):
            return  # (an included file may repeat the inherited headers)
        for anc in reversed(ancestors):
            inherited = [s for s in anc.get("block", []) if s["directive"] == "add_header"]
            if inherited:
                own_names = {s["args"][0].lower() for s in own if s["args"]}
                lost = [
                    s["args"][0] for s in inherited if s["args"] and s["args"][0].lower() not in own_names
                ]
                if lost:
                    self.out.append(
                        finding(
                            R_ADD_HEADER,
                            f"add_header in this {block['directive']} block drops the "
                            f"headers set in the enclosing {anc['directive']}: {', '.join(lost)}. "
                            "Repeat them here (or use an include).",
                            _directive_span(self.lines, own[0]),
                        )
                    )
                return


def _has_include(stmts: list[dict]) -> bool:
    """An include that may hold directives (mime.types holds only types)."""
    return any(
        s["directive"] == "include" and s["args"] and not s["args"][0].endswith("mime.types") for s in stmts
    )


def _whole_file_checks(lines: Lines, parsed: list[dict]) -> list[StaticFinding]:
    out = []
    all_stmts = list(_iter([s for s in parsed if s["directive"] != "stream"]))  # stream: TCP/UDP only
    names = {s["directive"] for s in all_stmts}
    http = next((s for s in parsed if s["directive"] == "http"), None)
    servers = [s for s in all_stmts if s["directive"] == "server" and "block" in s]
    if http is not None and "server_tokens" not in names:
        span = _directive_span(lines, http)
        fix = None
        head = lines.get(span.line)
        if head.rstrip().endswith("{"):
            indent = head[: len(head) - len(head.lstrip())] + "    "
            end = lines.end_of(span.line)
            fix = Fix("Add server_tokens off", (TextEdit(end, f"\n{indent}server_tokens off;"),))
        out.append(
            finding(
                R_TOKENS,
                "server_tokens is not set, so it is on: nginx advertises its version in the "
                "Server header and error pages.",
                span,
                fix,
                severity="info",
            )
        )
    if (http is not None or servers) and "client_max_body_size" not in names:
        anchor = http if http is not None else servers[0]
        out.append(
            finding(
                R_BODY_SIZE,
                "client_max_body_size is not set: the default of 1m rejects larger uploads "
                "with 413. Set it to what the application accepts.",
                _directive_span(lines, anchor),
            )
        )
    return out


def _iter(stmts: list[dict]):
    for s in stmts:
        yield s
        yield from _iter(s.get("block", []))

"""nginx rules NGX012-NGX018: the pitfalls of gixy's catalogue and of nginx's own "Pitfalls and Common
Mistakes" page that real configurations have, read from crossplane's parse (see :mod:`.nginx`).

Each rule looks at one statement and the blocks around it; an ``include`` in a block may hold what a rule
misses (a certificate, ``try_files``), so a rule that needs a directive to be absent is quiet there.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from .findings import Span, StaticFinding, finding, rule

R_HOST_SPOOFING = rule(
    "NGX012",
    "nginx/host-spoofing",
    "warning",
    "proxy_set_header Host $http_host: the client's Host header, any value, goes to the upstream.",
)
R_REFERERS_NONE = rule(
    "NGX013",
    "nginx/valid-referers-none",
    "warning",
    "valid_referers none: a request without a Referer passes the referer check.",
)
R_ERROR_LOG_OFF = rule(
    "NGX014",
    "nginx/error-log-off",
    "warning",
    "error_log off writes the error log to a file named `off`.",
)
R_SSL_NO_CERT = rule(
    "NGX015",
    "nginx/ssl-without-certificate",
    "error",
    "listen ... ssl in a server without ssl_certificate: every TLS handshake fails.",
)
R_SSRF = rule(
    "NGX016",
    "nginx/ssrf",
    "warning",
    "proxy_pass to a host taken from the request ($arg_, $http_, $cookie_): server-side request forgery.",
)
R_REGEX_PROXY_URI = rule(
    "NGX017",
    "nginx/proxy-pass-uri-in-regex-location",
    "error",
    "proxy_pass with a URI part in a regex location: nginx -t refuses it.",
)
R_PHP_ANY_FILE = rule(
    "NGX018",
    "nginx/php-without-try-files",
    "warning",
    "A .php location passes requests to FastCGI without checking that the script exists.",
)

_REQUEST_VARIABLE = re.compile(r"^\$(?:arg_|http_|cookie_|args\b|query_string\b|request_uri\b)")
# scheme://host[:port]/uri -- the URI part is what a regex location cannot have (a variable anywhere is fine)
_PROXY_URL = re.compile(r"^(?:https?|grpcs?|uwsgi)://(?P<host>[^/$]*|\$\w+)(?P<uri>/.*)?$")
SpanOf = Callable[[dict], Span]


def _include(stmts: list[dict]) -> bool:
    """An include that may hold directives (mime.types holds only types)."""
    return any(s["directive"] == "include" and s["args"] and not s["args"][0].endswith("mime.types") for s in stmts)


def check_pitfalls(parsed: list[dict], span_of: SpanOf) -> list[StaticFinding]:
    """The findings of NGX012-NGX018 in ``parsed`` (crossplane's statements of one file)."""
    out: list[StaticFinding] = []
    _walk(parsed, [], out, span_of)
    return out


def _walk(stmts: list[dict], ancestors: list[dict], out: list[StaticFinding], span_of: SpanOf) -> None:
    for stmt in stmts:
        if any(a["directive"] == "stream" for a in ancestors):
            continue  # TCP/UDP proxying: no HTTP headers, certificates are checked the same but rarely
        _check(stmt, stmts, ancestors, out, span_of)
        if "block" in stmt:
            _walk(stmt["block"], ancestors + [stmt], out, span_of)


def _check(stmt: dict, siblings: list[dict], ancestors: list[dict], out: list[StaticFinding],
           span_of: SpanOf) -> None:
    d, args = stmt["directive"], stmt["args"]
    if d == "proxy_set_header" and len(args) >= 2 and args[0].lower() == "host" and "$http_host" in args[1]:
        out.append(finding(R_HOST_SPOOFING, "proxy_set_header Host $http_host passes on whatever Host the "
                           "client sent (gixy: host_spoofing); use $host, which nginx checks against "
                           "server_name.", span_of(stmt)))
    elif d == "valid_referers" and "none" in args:
        out.append(finding(R_REFERERS_NONE, "valid_referers none lets every request without a Referer "
                           "header through, so the check is bypassed by omitting it (gixy: "
                           "valid_referers). Remove `none`.", span_of(stmt)))
    elif d == "error_log" and args[:1] == ["off"]:
        out.append(finding(R_ERROR_LOG_OFF, "error_log off does not turn the error log off: nginx writes it "
                           "to a file named `off` in its prefix. Use `error_log /dev/null crit;`.", span_of(stmt)))
    elif d == "proxy_pass" and args:
        _check_proxy_pass(stmt, ancestors, out, span_of)
    elif d == "server" and "block" in stmt and not any(a["directive"] == "upstream" for a in ancestors):
        _check_certificate(stmt, ancestors, out, span_of)
    elif d == "location" and "block" in stmt:
        _check_php(stmt, out, span_of)


def _check_proxy_pass(stmt: dict, ancestors: list[dict], out: list[StaticFinding], span_of: SpanOf) -> None:
    m = _PROXY_URL.match(stmt["args"][0])
    if m is None:
        return
    if _REQUEST_VARIABLE.match(m.group("host")):
        out.append(finding(R_SSRF, f"proxy_pass to `{m.group('host')}`, a host the client chooses: it can make "
                           "nginx request internal services (gixy: ssrf). Map allowed values to upstreams "
                           "(`map` or fixed locations).", span_of(stmt)))
        return
    location = next((a for a in reversed(ancestors) if a["directive"] == "location"), None)
    in_regex = location is not None and location["args"][:1] in (["~"], ["~*"])
    # (inside "if" or limit_except, or with variables, nginx allows the URI; it is then replaced at run time)
    if in_regex and m.group("uri") and "$" not in stmt["args"][0] and ancestors[-1] is location:
        out.append(finding(R_REGEX_PROXY_URI, "proxy_pass cannot have a URI part in a location given by a "
                           "regular expression: nginx -t fails. Drop the URI (`proxy_pass http://host;`) or "
                           "rewrite the path with `rewrite ... break`.", span_of(stmt)))


def _check_certificate(server: dict, ancestors: list[dict], out: list[StaticFinding], span_of: SpanOf) -> None:
    block = server["block"]
    ssl_listen = next((s for s in block if s["directive"] == "listen" and "ssl" in s["args"][1:]), None)
    if ssl_listen is None or _include(block) or not any(a["directive"] == "http" for a in ancestors):
        return  # (a site file's server inherits from an http block in another file, which may set it)
    scopes = [block] + [a.get("block", []) for a in ancestors]
    if any(_include(scope) or any(s["directive"] == "ssl_certificate" for s in scope) for scope in scopes):
        return
    if any(s["directive"] == "ssl_reject_handshake" and s["args"][:1] == ["on"] for s in block):
        return  # a catch-all server that refuses handshakes needs no certificate (nginx 1.19.4+)
    out.append(finding(R_SSL_NO_CERT, "This server listens with ssl but no ssl_certificate applies to it (nor "
                       "in http): nginx logs `no \"ssl_certificate\" is defined` and every handshake fails. "
                       "Add ssl_certificate and ssl_certificate_key.", span_of(ssl_listen)))


def _check_php(location: dict, out: list[StaticFinding], span_of: SpanOf) -> None:
    args, block = location["args"], location["block"]
    if args[:1] not in (["~"], ["~*"]) or len(args) < 2 or r"\.php" not in args[1]:
        return
    if not any(s["directive"] == "fastcgi_pass" for s in block) or _include(block):
        return  # (Debian's snippets/fastcgi-php.conf holds the try_files)
    if any(s["directive"] in ("try_files", "fastcgi_split_path_info") for s in block):
        return
    out.append(finding(R_PHP_ANY_FILE, "This location hands any URI ending in .php to PHP, also "
                       "/uploads/avatar.jpg/x.php, which makes PHP run an uploaded file (nginx pitfalls: "
                       "\"Passing uncontrolled requests to PHP\"). Add `try_files $uri =404;`.", span_of(location)))

"""Variable masking: replace the parts of a log message that change from one occurrence of an event to
the next (addresses, ids, numbers, paths, durations, sizes, quoted values...) with ``<*>`` before mining.

Every rule is general: it describes a kind of value (an IPv4 address, a UUID, a hex number, a path, a
number with or without a unit, an id with digits in it), never a particular system's message.
"""

from __future__ import annotations

import re
from functools import lru_cache

MASK = "<*>"

# Ordered: the most specific kinds first, so that a UUID is not cut into hex words and numbers.
_RULES: list[tuple[str, re.Pattern[str]]] = [
    # Double-quoted strings are values: tag="View Lock", file "a b.txt"
    ("quoted", re.compile(r'(?<=")[^"\n]{1,200}(?=")(?<!\s)(?=\"(?:[\s,;:)\]}]|$))')),
    # The value of key=value: name=com.android.systemui, mode=fast (up to a space or a delimiter)
    # (a value may hold bracketed parts: ws=WorkSource{10113}, state=Running(pid=4)).
    ("kv", re.compile(r"(?<=[A-Za-z_]=)(?![\"'(<\[{])(?:[^\s,;()\[\]{}|\"]|\{[^{}\s]{0,100}\}|\([^()\s]{0,100}\)"
                      r"|\[[^\[\]\s]{0,100}\]){1,200}")),
    ("url", re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>()\[\]]+")),
    ("email", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("uuid", re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")),
    ("mac", re.compile(r"\b(?:[0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}\b")),
    # IPv4 with optional port, also host/1.2.3.4:port as Java prints InetSocketAddress
    ("ipv4", re.compile(r"(?<![\w.])(?:[\w.-]*/)?\d{1,3}(?:\.\d{1,3}){3}(?::\d{1,5})?(?![\w.])")),
    # IPv6: the full eight groups, or a compressed form with "::" and at least two groups
    ("ipv6", re.compile(r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}|(?=[0-9a-fA-F:]*[0-9a-fA-F]:"
                        r"[0-9a-fA-F:]*:[0-9a-fA-F])(?:[0-9a-fA-F]{1,4}:)*:(?:[0-9a-fA-F]{1,4}:?)*)(?![\w:])")),
    # Host names: dotted names ending in a generic or two-letter country domain (ns1.example.com,
    # 61-220-159-99.hinet-ip.hinet.net, x.inode.at); Java packages, which start with one, are left alone.
    ("hostname", re.compile(
        r"(?<![\w.-])(?!(?:com|org|net|java|javax|android|io)\.)(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+"
        r"(?:com|net|org|edu|gov|mil|int|info|biz|local|internal|lan|localdomain|[a-z]{2})"
        r"(?::\d{1,5})?(?![\w.-])")),
    ("hexnum", re.compile(r"\b0[xX][0-9a-fA-F]+\b")),
    # Unix and Windows paths with at least two components: /etc/httpd/conf/x.properties, C:\a\b
    ("path", re.compile(r"(?<![\w/])(?:[A-Za-z]:\\|~?/)(?:[\w.@%+-]+[/\\])+[\w.@%+-]*")),
    # Dates and times inside messages: 2005-06-29, 14:44:35, Wed Jun 29 14:44:35 2005
    ("datetime", re.compile(
        r"\b(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+)?(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+\d{1,2}"
        r"\s+\d{2}:\d{2}:\d{2}(?:\s+\d{4})?\b|\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?)?\b"
        r"|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b")),
]

# A number, possibly signed / decimal / with a unit: 42, -7, 3.14, 9.6 KB, 200ms, 1.5GB, 30s, 10%.
_NUMBER = re.compile(
    r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*(?:\s?(?:[kKMGTP]i?[Bb]|[Bb]ytes?|B|ms|us|µs|ns|sec|secs|s|m|min|mins|h|hrs?"
    r"|[kKMG]?Hz|%))?(?![\w])"
)
# Compound ids: a word, an underscore, then anything with a digit: attempt_1445_0020_m_000000_0,
# container_1445_0020_01_000012, rdd_42_3 -- the word is kept, the rest is one variable.
_COMPOUND_ID = re.compile(r"(?<=\b[A-Za-z]{2}_)(?=[\w-]*\d)[\w-]*\w|(?<=[A-Za-z]{3}_)(?=[\w-]*\d)[\w-]*\w")
# Digits glued to a word: blk_-1234, appattempt_1445_0020, broadcast_22, id=123, user42, port:8080.
_GLUED_DIGITS = re.compile(r"(?<=[_#=:@-])-?\d+|(?<=[A-Za-z])\d{2,}(?![A-Za-z])")
# Long runs of base64 / random tokens: 20+ characters mixing letters and digits.
_TOKEN = re.compile(r"\b(?=[A-Za-z0-9+/=]*\d)(?=[A-Za-z0-9+/=]*[A-Za-z])[A-Za-z0-9+/=]{20,}\b")


# A word of hex characters with both letters and digits, at least 6 long: 9f4ef63, de9231d.
_HEXWORD_MIXED = r"\b(?=[0-9a-fA-F]*[a-fA-F])(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{6,}\b"

_EMPTY_VALUE = r"\(\)|\[\]|\"\"|''|(?<=\w=)$"

# The kinds that may span spaces are found on the whole message first (when it holds the characters they
# need): quoted strings, dates with month names, numbers with a separate unit ("9.6 KB").
_QUOTED = _RULES[0][1]
_DATETIME = _RULES[-1][1]
_NUMBER_UNIT = re.compile(
    r"(?<![\w.])[-+]?\d+(?:[.,]\d+)*\s(?:[kKMGTP]i?[Bb]|[Bb]ytes?|B|ms|us|µs|ns|sec|secs|s|min|mins|h|hrs?|[kKMG]?Hz)(?!\w)"
)
_HAS_DIGIT_SPACE = re.compile(r"\d\s")
# Every other kind lies inside one whitespace-separated token that holds a digit or one of / \ @ = " ' ( [ .
_CANDIDATE = re.compile(r"(?<!\S)(?=[^\s\d/\\@=\"'(\[.]*[\d/\\@=\"'(\[.])\S+")
# Within such a token: at each position the first kind that matches wins, in the order above.
_ANY_VARIABLE = re.compile("|".join(
    f"(?:{p})" for p in [*(r.pattern for _k, r in _RULES[1:]), _TOKEN.pattern, _HEXWORD_MIXED,
                         _COMPOUND_ID.pattern, _NUMBER.pattern, _GLUED_DIGITS.pattern]
))
_EMPTY = re.compile(_EMPTY_VALUE)
# Runs of masks separated only by spaces or punctuation are one variable of varying length.
_RUN = re.compile(r"<\*>(?:[\s,.:;/_-]*<\*>)+")
# A list of same-shaped variables ("blk_<*> blk_<*> blk_<*>") is one variable-length list.
_REPEATED = re.compile(r"(?<!\S)(\S*<\*>\S*)(?:[\s,]+\1)+(?!\S)")


def _empty(m: re.Match[str]) -> str:
    return m.group(0)[:1] + MASK + m.group(0)[1:]


@lru_cache(maxsize=1 << 16)
def _mask_one_token(token: str) -> str:
    return _EMPTY.sub(_empty, _ANY_VARIABLE.sub(MASK, token))


def _mask_token(m: re.Match[str]) -> str:
    token = m.group(0)
    return token if token == MASK else _mask_one_token(token)


def clear_mask_cache() -> None:
    """Forget the masks of tokens seen so far (benchmarks time a cold start with it)."""
    _mask_one_token.cache_clear()


# An HTTP request opening a message (access logs, proxies, web frameworks: "GET /users/42 HTTP/1.1" 200,
# 10.0.0.5:4012 - "GET /x HTTP/1.1" 200 OK, GET /api/orders 500 41 ms): its method and route are the event,
# so the route keeps its constant segments and only ids, hashes and query values in it are masked. A
# request further on is a detail of another event (nginx's error log: ... request: "GET / HTTP/1.1").
_METHOD = r"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE|PROPFIND)"
_HTTP_REQUEST = re.compile(
    rf"^(?:\S+\s+){{0,2}}?\"?{_METHOD} (?P<target>/[^\s\"]*|\*) (?P<version>HTTP/\d(?:\.\d)?)(?=[\s\"]|$)"
    rf"|^{_METHOD} (?P<route>/\S*) (?=[1-5]\d\d\b)"  # morgan, Express, Phoenix: "GET /api/orders 500 41 ms"
)


def _mask_route(target: str) -> str:
    path, question, query = target.partition("?")
    segments = [_mask_one_token(seg) if seg else seg for seg in path.split("/")]
    masked = "/".join(MASK if MASK in seg else seg for seg in segments)
    if question:
        masked += "?" + "&".join(_mask_one_token(pair) if "=" in pair else MASK for pair in query.split("&"))
    return masked


def mask(message: str) -> str:
    """``message`` with its variable parts replaced by ``<*>``."""
    m = _HTTP_REQUEST.match(message) if " /" in message[:200] else None
    if m is None:
        return _mask_plain(message)
    target = "target" if m.group("target") is not None else "route"
    version = " " + m.group("version") if m.group("version") else " "
    return (_mask_plain(message[:m.start(target)]) + _mask_route(m.group(target)) + version
            + _mask_plain(message[m.end():], opening=False))


# A JSON object inside a message (Monolog's context, zap's console fields): one value, whatever its keys.
_JSON_OBJECT = re.compile(r'\{"[^{}"]*"\s*:(?:[^{}]|\{[^{}]*\})*\}')


def _mask_plain(message: str, opening: bool = True) -> str:
    """Masks of every kind but HTTP routes; ``opening``: ``message`` opens the whole message."""
    text = message
    if '{"' in text:
        text = _JSON_OBJECT.sub(MASK, text)
    if '"' in text:
        # A quoted sentence opening the message is the message (klog: "Successfully bound pod" pod="a/b").
        end = text.find('"', 1) if opening and text[:1] == '"' else -1
        head = text[:end + 1] if end > 0 and " " in text[1:end] else ""
        text = head + _QUOTED.sub(MASK, text[len(head):])
    if ":" in text or "-" in text:
        text = _DATETIME.sub(MASK, text)
    if _HAS_DIGIT_SPACE.search(text):
        text = _NUMBER_UNIT.sub(MASK, text)
    text = _CANDIDATE.sub(_mask_token, text)
    return _REPEATED.sub(r"\1", _RUN.sub(MASK, text))

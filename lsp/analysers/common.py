"""Checks shared by several config kinds: secret-looking variables and mutable image references."""

from __future__ import annotations

import difflib
import re

# Names that say "credential". Matched on word parts so DB_PASSWORD and apiToken hit, PASSWORD_FILE does not.
_SECRET_NAME = re.compile(
    r"(?:^|[_\-.])(?:pass(?:word|wd)?|pwd|secret|token|api[_\-]?key|apikey|access[_\-]?key|private[_\-]?key"
    r"|client[_\-]?secret|credentials?|auth[_\-]?key)(?:$|[_\-.])",
    re.IGNORECASE,
)
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
# Suffixes that point at a secret instead of holding it.
# Suffixes that point at a secret, or configure how one is handled (TOKEN_EXPIRY, PASSWORD_MIN_LENGTH),
# instead of holding it.
_SECRET_REFERENCE_SUFFIX = re.compile(
    r"[_\-.](?:file|path|env|name|ref|id|dir|length|len|ttl|url|uri|header|expiry|expires|expiration"
    r"|timeout|lifetime|max[_\-]?age|age|interval|seconds|secs|minutes|hours|days|size|count|min|max"
    r"|enabled?|disabled?|required|mode|type|algorithm|alg|policy|method|rotation|dummy|prefix|version"
    r"|issuer|audience|endpoint|host|port|scopes?|provider|backend|store|location)$",
    re.IGNORECASE,
)
# Values that are no credential: references to one ($VAR, ${VAR}, $(VAR), <...>), placeholders and
# booleans (MYSQL_ALLOW_EMPTY_PASSWORD=yes, SECRET_KEY_BASE_DUMMY=1).
_PLACEHOLDER = re.compile(
    r"^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*.*\}?|\$\(.*\)|<[^>]*>|changeme|xxx+|\*+|none|null|"
    r"true|false|yes|no|on|off|0|1|enabled|disabled|)$",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """True when an environment variable name says it holds a credential."""
    snake = _CAMEL.sub("_", name.strip())
    return bool(_SECRET_NAME.search(snake)) and not _SECRET_REFERENCE_SUFFIX.search(snake)


def is_literal_secret(name: str, value: str | None) -> bool:
    """A credential-named variable with a literal value (not empty, not a ``$VAR`` reference)."""
    if value is None or not is_secret_name(name):
        return False
    v = value.strip().strip("'\"")
    return bool(v) and not _PLACEHOLDER.match(v)


_URL_CREDENTIALS = re.compile(r"\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:([^\s@/]+)@", re.IGNORECASE)


def has_url_credentials(value: str | None) -> bool:
    """A connection URL with an inline password (``postgres://app:s3cret@db/app``), not a ``${VAR}``."""
    if not value:
        return False
    m = _URL_CREDENTIALS.search(value)
    return bool(m) and not _PLACEHOLDER.match(m.group(1))


def image_tag_problem(image: str) -> str | None:
    """Why an image reference is mutable: ``"latest"`` or ``"untagged"``; None when pinned (tag or digest).

    Handles registries with ports (``host:5000/app``) and digests (``app@sha256:...``).
    """
    image = image.strip()
    if not image or "$" in image or "{" in image:
        return None  # a variable: cannot tell
    if "@" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "untagged"
    tag = last.rsplit(":", 1)[1]
    if tag == "latest":
        return "latest"
    if not tag:
        return "untagged"
    return None


def closest(name: str, candidates: list[str]) -> tuple[str, bool] | None:
    """The likeliest intended name among ``candidates`` for a misspelt ``name``, and whether it is the one
    clear candidate (it differs only in case, or it is well ahead of the next one); None when none is close."""
    by_case = [c for c in candidates if c.lower() == name.lower()]
    if by_case:
        return by_case[0], len(by_case) == 1
    close = difflib.get_close_matches(name, candidates, n=2, cutoff=0.75)
    if not close:
        return None
    ratios = [difflib.SequenceMatcher(None, name, c).ratio() for c in close]
    return close[0], len(close) == 1 or ratios[0] - ratios[1] >= 0.05

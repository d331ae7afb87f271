"""Dockerfile build-stage rules: FROM lines that do not parse (DF021), stage names used twice (DF022), and
references to stages that do not exist (DF020: ``COPY --from``, ``RUN --mount=from=``, ``FROM``), as BuildKit
resolves them. Follows hadolint's DL3022/DL3023/DL3024 where BuildKit agrees.

BuildKit reads a ``--from`` that names no stage as an image (or a ``--build-context``), so only a name that
is no image reference and is within two edits of a stage name (a typo: the pull of
``docker.io/library/buidler`` fails) is reported, with a stage index out of range and a stage that copies
from itself. A stage may name one defined later: BuildKit resolves it (hadolint's "previously defined" is
stricter than the builder).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .common import closest
from .findings import Fix, Lines, Span, StaticFinding, TextEdit, finding, rule

if TYPE_CHECKING:
    from .dockerfile import _Instr

R_UNKNOWN_STAGE = rule(
    "DF020",
    "dockerfile/unknown-stage",
    "error",
    "COPY --from, RUN --mount=from or FROM names a stage that does not exist (a typo, an index out of range, "
    "the stage itself).",
)
R_BAD_FROM = rule(
    "DF021",
    "dockerfile/invalid-from",
    "error",
    "FROM without an image, or not `FROM image [AS name]`: the build stops at parsing.",
)
R_DUPLICATE_STAGE = rule(
    "DF022", "dockerfile/duplicate-stage-name", "error", "Two stages have the same name (`AS build` twice)."
)

# Official images whose bare name could pass for a stage name (`--from=bash`, `FROM node`): an image meant.
_OFFICIAL_IMAGES = frozenset(
    str.split("""
    alpine busybox scratch ubuntu debian centos fedora rockylinux almalinux amazonlinux archlinux oraclelinux
    photon clearlinux node python golang rust ruby php perl openjdk eclipse-temurin amazoncorretto ibmjava
    maven gradle nginx httpd redis postgres mysql mariadb mongo memcached rabbitmq elasticsearch kibana
    logstash bash docker registry traefik haproxy caddy tomcat jetty erlang elixir haskell julia swift dart
    gcc clojure composer wordpress ghost nextcloud sonarqube jenkins consul vault influxdb telegraf cassandra
    couchdb neo4j zookeeper kong eclipse-mosquitto buildpack-deps hello-world groovy kotlin mono nats solr
    sapmachine ibm-semeru-runtimes pypy r-base rakudo-star crate odoo drupal joomla matomo redmine
    """)
)
_STAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_COPY_FROM = re.compile(r"(?:^|\s)--from=(\S+)")
_MOUNT = re.compile(r"(?:^|\s)--mount=(\S+)")


def _from_words(value: str) -> list[str]:
    return [w for w in value.split() if not w.startswith("--")]


def _looks_like_image(ref: str) -> bool:
    return bool(re.search(r"[/:@]", ref)) or ref.lower() in _OFFICIAL_IMAGES


def check_stages(lines: Lines, instrs: list[_Instr]) -> list[StaticFinding]:
    out: list[StaticFinding] = []
    froms = [ins for ins in instrs if ins.name == "FROM"]
    names: list[str] = []  # the lower-cased name of each stage ('' when it has none)
    first_named: dict[str, int] = {}
    for index, ins in enumerate(froms):
        words = _from_words(ins.value)
        problem = _from_problem(words)
        if problem:
            out.append(finding(R_BAD_FROM, problem, lines.whole(ins.start)))
        alias = words[2] if len(words) == 3 and words[1].lower() == "as" else ""
        names.append(alias.lower())
        if not alias or "$" in alias:
            continue
        if alias.lower() in first_named:
            earlier = froms[first_named[alias.lower()]]
            out.append(
                finding(
                    R_DUPLICATE_STAGE,
                    f"Stage name `{alias}` is already used by the FROM on line {earlier.start + 1}: BuildKit "
                    "refuses the Dockerfile (\"duplicate stage name\"). Give each stage its own name.",
                    _word_span(lines, ins, alias, len("FROM")),
                )
            )
        else:
            first_named[alias.lower()] = index
    stage = -1
    for ins in instrs:
        if ins.name == "FROM":
            stage += 1
            words = _from_words(ins.value)
            if words and words[0].lower() != "as":
                out += _check_base(lines, ins, words[0], stage, names, froms)
        elif ins.name == "COPY" and stage >= 0:
            for m in _COPY_FROM.finditer(ins.value):
                out += _check_ref(lines, ins, m.group(1).strip("\"'"), stage, first_named, len(froms))
        elif ins.name == "RUN" and stage >= 0:
            for m in _MOUNT.finditer(ins.value):
                for option in m.group(1).strip("\"'").split(","):
                    key, _, ref = option.partition("=")
                    if key.strip().lower() == "from" and ref:
                        out += _check_ref(lines, ins, ref, stage, first_named, len(froms))
    return out


def _from_problem(words: list[str]) -> str | None:
    if not words:
        return "FROM has no image: write `FROM image[:tag] [AS name]`."
    if words[0].lower() == "as":
        return "FROM names no image before AS: write `FROM image[:tag] AS name`."
    if len(words) == 2 and words[1].lower() == "as":
        return "FROM ... AS needs a stage name after AS."
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
        return (
            f"`FROM {' '.join(words)}` is not `FROM image [AS name]`: BuildKit stops with "
            '"FROM requires either one or three arguments".'
        )
    if len(words) == 3 and "$" not in words[2] and not _STAGE_NAME.match(words[2]):
        return (
            f"`{words[2]}` is not a valid stage name: it must start with a letter and hold only letters, "
            "digits, `-`, `_` and `.`."
        )
    return None


def _check_base(
    lines: Lines, ins: _Instr, ref: str, stage: int, names: list[str], froms: list[_Instr]
) -> list[StaticFinding]:
    """FROM builds on an earlier stage or an image: a later stage's name is pulled as an image."""
    later = [i for i, n in enumerate(names) if n == ref.lower() and i > stage]
    if later and "$" not in ref and ref.lower() not in names[:stage]:
        return [
            finding(
                R_UNKNOWN_STAGE,
                f"`FROM {ref}`: the stage `{ref}` is defined later (line {froms[later[0]].start + 1}), and FROM "
                "can only build on an earlier stage, so Docker pulls an image of that name instead.",
                _word_span(lines, ins, ref, len("FROM")),
            )
        ]
    earlier = {n: i for i, n in enumerate(names[:stage]) if n}
    return _check_ref(lines, ins, ref, stage, earlier, len(names), in_from=True)


def _check_ref(
    lines: Lines,
    ins: _Instr,
    ref: str,
    stage: int,
    stages: dict[str, int],
    count: int,
    *,
    in_from: bool = False,
) -> list[StaticFinding]:
    """Findings for one stage reference ``ref`` made in stage number ``stage``; ``stages`` maps the names
    it may use to their index (for FROM: only earlier stages)."""
    if not ref or "$" in ref:
        return []  # an ARG: cannot tell
    said = f"FROM {ref}" if in_from else (f"COPY --from={ref}" if ins.name == "COPY" else f"RUN --mount=from={ref}")
    span = _word_span(lines, ins, ref, len(ins.name))
    if ref.isdigit() and not in_from:
        n = int(ref)
        if n >= count:
            last = f"0 to {count - 1}" if count > 1 else "only 0"
            return [
                finding(
                    R_UNKNOWN_STAGE,
                    f"`{said}`: there is no stage {n} (the stages are numbered {last}); BuildKit stops "
                    'with "invalid stage index".',
                    span,
                )
            ]
        if n == stage:
            return [_self_reference(said, span)]
        return []
    lower = ref.lower()
    if lower in stages:
        return [_self_reference(said, span)] if stages[lower] == stage and not in_from else []
    if _looks_like_image(ref):
        return []
    guess = closest(ref, sorted(stages))
    if guess is None or _edits(ref.lower(), guess[0]) > 2:
        return []  # an image from Docker Hub's library (or a --build-context), as BuildKit takes it
    intended = guess[0]
    fix = Fix(f"Use stage {intended}", (TextEdit(span, intended),)) if guess[1] else None
    return [
        finding(
            R_UNKNOWN_STAGE,
            f"`{said}` names no stage, so Docker pulls an image `{ref}` and the build fails. "
            f"Did you mean the stage `{intended}`?",
            span,
            fix,
        )
    ]


def _self_reference(said: str, span: Span) -> StaticFinding:
    return finding(
        R_UNKNOWN_STAGE,
        f"`{said}` is the stage it is in: BuildKit stops with \"circular dependency\". Name another stage.",
        span,
    )


def _word_span(lines: Lines, ins: _Instr, word: str, start_col: int) -> Span:
    """The span of ``word`` as a whole token in the instruction, after the keyword."""
    pattern = re.compile(r"(?:(?<=[\s=,])|^)" + re.escape(word) + r"(?=[\s,\"']|$)")
    for ln in range(ins.start, ins.end + 1):
        m = pattern.search(lines.get(ln), start_col if ln == ins.start else 0)
        if m:
            return Span.on_line(ln, m.start(), m.end())
    return lines.whole(ins.start)


def _edits(a: str, b: str) -> int:
    """Edit distance, a swap of neighbours counting as one edit (``buidler`` is one from ``builder``)."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cost = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cost = min(cost, prev2[j - 2] + 1)
            cur.append(cost)
        prev2, prev = prev, cur
    return prev[-1]

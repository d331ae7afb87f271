"""Dockerfile rules (DF...): parsed with dockerfile-parse, tokens located on the raw lines for exact ranges."""

from __future__ import annotations

import bisect
import io
import json
import re
import shlex
from dataclasses import dataclass

from dockerfile_parse import DockerfileParser

from .common import has_url_credentials, image_tag_problem, is_literal_secret
from .findings import Fix, Lines, Span, StaticFinding, TextEdit, finding, rule

R_TAG = rule(
    "DF001",
    "dockerfile/mutable-base-image",
    "warning",
    "Base image uses the `latest` tag or no tag, so builds are not reproducible.",
)
R_USER = rule(
    "DF002", "dockerfile/runs-as-root", "warning", "The final stage runs as root (no `USER`, or `USER root`)."
)
R_RECOMMENDS = rule(
    "DF003",
    "dockerfile/apt-install-recommends",
    "info",
    "`apt-get install` without `--no-install-recommends` pulls in unneeded packages.",
)
R_APT_LISTS = rule(
    "DF004",
    "dockerfile/apt-lists-not-cleaned",
    "info",
    "`apt-get` in a RUN that does not remove /var/lib/apt/lists leaves the package index in the layer.",
)
R_APT_YES = rule(
    "DF005",
    "dockerfile/apt-install-no-yes",
    "warning",
    "`apt-get install` without `-y` waits for confirmation and fails the build.",
)
R_ADD = rule(
    "DF006", "dockerfile/add-local-file", "warning", "`ADD` used for a local file or directory: use `COPY`."
)
R_SUDO = rule("DF007", "dockerfile/sudo", "warning", "`sudo` in RUN: builds already run as root; use `USER`.")
R_PIP_CACHE = rule(
    "DF008",
    "dockerfile/pip-cache",
    "info",
    "`pip install` without `--no-cache-dir` keeps the cache in the image.",
)
R_CD = rule(
    "DF009", "dockerfile/cd-in-run", "info", "`cd` in RUN: use `WORKDIR`, which persists and is explicit."
)
R_SHELL_FORM = rule(
    "DF010",
    "dockerfile/shell-form-cmd",
    "warning",
    "Shell-form CMD/ENTRYPOINT runs under /bin/sh -c, so the process does not get signals.",
)
R_SECRET = rule(
    "DF011",
    "dockerfile/secret-in-env",
    "error",
    "A credential (or a URL with a password) is baked into the image with ENV or ARG; `docker history` shows it.",
)
R_HEALTH = rule("DF012", "dockerfile/no-healthcheck", "info", "The final stage has no HEALTHCHECK.")
R_MULTI_CMD = rule(
    "DF013",
    "dockerfile/multiple-cmd",
    "warning",
    "More than one CMD or ENTRYPOINT in a stage: only the last takes effect.",
)
R_MAINTAINER = rule(
    "DF014", "dockerfile/maintainer-deprecated", "info", "MAINTAINER is deprecated: use a LABEL."
)
R_UNKNOWN = rule("DF015", "dockerfile/unknown-instruction", "error", "Not a Dockerfile instruction.")
R_NO_FROM = rule(
    "DF016", "dockerfile/no-from", "error", "Instructions before the first FROM (only ARG may precede it)."
)
R_WORKDIR = rule(
    "DF017",
    "dockerfile/relative-workdir",
    "warning",
    "WORKDIR with a relative path depends on earlier WORKDIRs.",
)

INSTRUCTIONS = {
    "FROM",
    "RUN",
    "CMD",
    "LABEL",
    "MAINTAINER",
    "EXPOSE",
    "ENV",
    "ADD",
    "COPY",
    "ENTRYPOINT",
    "VOLUME",
    "USER",
    "WORKDIR",
    "ARG",
    "ONBUILD",
    "STOPSIGNAL",
    "HEALTHCHECK",
    "SHELL",
}
_ARCHIVE = re.compile(
    r"\.(?:tar|tar\.gz|tgz|tar\.bz2|tbz2?|tar\.xz|txz|tar\.zst|tar\.lz|tar\.lzma)$", re.IGNORECASE
)
_WS = r"(?:[ \t]|\\\r?\n)+"  # whitespace, including line continuations
_SEGMENT_END = re.compile(r"&&|\|\||;|\||(?<!\\)$", re.MULTILINE)  # a line end continued with \ is no end
_APT = re.compile(r"(?<![\w/-])apt(?:-get)?(?=[ \t\\])")
_PIP = re.compile(rf"(?<![\w/-])(?:pip3?|python3?(?:\.\d+)?{_WS}-m{_WS}pip)(?=[ \t\\])")
_OPTION_WITH_VALUE = {
    "-o",
    "-c",
    "-t",
    "--option",
    "--config-file",
    "--target-release",
    "-r",
    "-e",
    "-i",
    "--index-url",
    "--constraint",
    "--requirement",
}
_SUDO = re.compile(r"(?:^|[;&|(`]|\s)(sudo)(?=\s)")
_CD = re.compile(r"(?:^\s*RUN(?:\s+--\S+)*|&&|\|\||;)[ \t]*(cd)[ \t]+\S", re.IGNORECASE)
_HEREDOC = re.compile(r"<<-?\s*[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?")
_SHELL_META = re.compile(r"[$&|;<>*?`(){}\[\]~\\'\"#]")


@dataclass
class _Instr:
    name: str
    value: str
    start: int
    end: int


class _Block:
    """The raw text of one instruction (all its lines), with offset -> (line, col) mapping."""

    def __init__(self, lines: Lines, ins: _Instr):
        self.start = ins.start
        self.raw = "\n".join(lines.get(i) for i in range(ins.start, ins.end + 1))
        self._starts = [0]
        self._ends: list[int] | None = None
        for i in range(ins.start, ins.end):
            self._starts.append(self._starts[-1] + len(lines.get(i)) + 1)

    def pos(self, offset: int) -> tuple[int, int]:
        idx = bisect.bisect_right(self._starts, offset) - 1
        return self.start + idx, offset - self._starts[idx]

    def span(self, a: int, b: int) -> Span:
        la, ca = self.pos(a)
        lb, cb = self.pos(b)
        return Span(la, ca, lb, cb)

    def segment_end(self, offset: int) -> int:
        """Where the shell command that contains ``offset`` ends (the next &&, ||, ;, | or unescaped line end)."""
        if self._ends is None:
            self._ends = [m.start() for m in _SEGMENT_END.finditer(self.raw)] + [len(self.raw)]
        return self._ends[bisect.bisect_left(self._ends, offset)]


def _instructions(text: str) -> list[_Instr]:
    normalised = text.replace("\r\n", "\n").replace("\r", "\n")
    parser = DockerfileParser(fileobj=io.BytesIO(normalised.encode("utf-8", "replace")), env_replace=False)
    raw_lines = normalised.split("\n")
    heredoc_lines: set[int] = set()
    out = []
    for item in parser.structure:
        if item["instruction"] == "COMMENT" or item["startline"] in heredoc_lines:
            continue
        ins = _Instr(item["instruction"].upper(), item["value"], item["startline"], item["endline"])
        out.append(ins)
        first = raw_lines[ins.start] if ins.start < len(raw_lines) else ""
        for m in _HEREDOC.finditer(first):
            delim = m.group(1)
            for i in range(ins.end + 1, len(raw_lines)):
                heredoc_lines.add(i)
                if raw_lines[i].strip() == delim:
                    break
    return out


def _resolve(image: str, args: dict[str, str]) -> str:
    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(2)
        return args.get(name, m.group(0))

    return re.sub(r"\$\{([A-Za-z_]\w*)(?::?-[^}]*)?\}|\$([A-Za-z_]\w*)", sub, image)


def analyse_dockerfile(text: str) -> list[StaticFinding]:
    lines = Lines(text)
    out: list[StaticFinding] = []
    instrs = _instructions(text)
    global_args: dict[str, str] = {}
    stages: list[tuple[_Instr, str]] = []  # (FROM instruction, alias)
    seen_from = False
    pip_no_cache_env = False
    stage_cmds: dict[str, list[_Instr]] = {}
    for ins in instrs:
        name = ins.name
        if name not in INSTRUCTIONS:
            word = lines.find(
                lines.get(ins.start).split()[0] if lines.get(ins.start).split() else "", ins.start
            )
            out.append(
                finding(
                    R_UNKNOWN,
                    f"`{name.lower()}` is not a Dockerfile instruction.",
                    word or lines.whole(ins.start),
                )
            )
            continue
        if name == "ARG" and not seen_from:
            k, _, v = ins.value.strip().partition("=")
            global_args[k.strip()] = v.strip().strip("\"'")
        if name != "FROM" and name != "ARG" and not seen_from:
            out.append(
                finding(
                    R_NO_FROM,
                    f"`{name}` before the first FROM: a Dockerfile must start with FROM.",
                    lines.whole(ins.start),
                )
            )
        if name == "FROM":
            seen_from = True
            out += _check_from(lines, ins, global_args, {a.lower() for _, a in stages if a})
            words = ins.value.split()
            alias = words[-1] if len(words) >= 3 and words[-2].lower() == "as" else ""
            stages.append((ins, alias))
            stage_cmds = {}
        elif name == "RUN":
            out += _check_run(lines, ins, pip_no_cache_env)
        elif name == "ADD":
            out += _check_add(lines, ins)
        elif name in ("ENV", "ARG"):
            out += _check_env(lines, ins)
            if name == "ENV" and re.search(r"\bPIP_NO_CACHE_DIR\b", ins.value):
                pip_no_cache_env = True
        elif name in ("CMD", "ENTRYPOINT"):
            out += _check_exec_form(lines, ins)
            stage_cmds.setdefault(name, []).append(ins)
            if len(stage_cmds[name]) > 1:
                prev = stage_cmds[name][-2]
                out.append(
                    finding(
                        R_MULTI_CMD,
                        f"This {name} is overridden by the {name} on line {ins.start + 1}.",
                        lines.whole(prev.start),
                    )
                )
        elif name == "MAINTAINER":
            who = ins.value.strip().replace('"', '\\"')
            span = lines.whole(ins.start)
            out.append(
                finding(
                    R_MAINTAINER,
                    "MAINTAINER is deprecated; record the maintainer in a LABEL.",
                    span,
                    Fix(
                        "Replace MAINTAINER with LABEL maintainer=...",
                        (TextEdit(span, f'LABEL maintainer="{who}"'),),
                    ),
                )
            )
        elif name == "WORKDIR":
            path = ins.value.strip().strip("\"'")
            if path and not path.startswith(("/", "$")) and not re.match(r"^[A-Za-z]:[\\/]", path):
                out.append(
                    finding(
                        R_WORKDIR,
                        f"WORKDIR `{path}` is relative; use an absolute path.",
                        lines.find(path, ins.start) or lines.whole(ins.start),
                    )
                )
    if stages:
        out += _check_final_stage(lines, instrs, stages)
    return out


def _image_token(value: str) -> str:
    words = [w for w in value.split() if not w.startswith("--")]
    return words[0] if words else ""


def _check_from(lines: Lines, ins: _Instr, args: dict[str, str], aliases: set[str]) -> list[StaticFinding]:
    image = _image_token(ins.value)
    if not image or image.lower() == "scratch" or image.lower() in aliases:
        return []
    resolved = _resolve(image, args)
    problem = image_tag_problem(resolved)
    if not problem:
        return []
    span = lines.find(image, ins.start, ins.end, start_col=4) or lines.whole(ins.start)
    via = f" (`{image}` resolves to `{resolved}`)" if resolved != image else ""
    what = "the mutable `latest` tag" if problem == "latest" else "no tag, so it means `latest`"
    return [
        finding(
            R_TAG,
            f"Base image `{resolved}` uses {what}{via}: rebuilds can silently change. "
            "Pin a version tag or a digest.",
            span,
        )
    ]


def _check_run(lines: Lines, ins: _Instr, pip_no_cache_env: bool) -> list[StaticFinding]:
    value = ins.value.strip()
    if value.startswith("["):
        return []
    block = _Block(lines, ins)
    raw = block.raw
    cache_mount = "--mount=type=cache" in raw
    out = []
    for start, end, seg in _subcommands(block, _APT, "install"):
        inst = block.span(start, end)
        if "--no-install-recommends" not in seg and "Install-Recommends=false" not in seg:
            out.append(
                finding(
                    R_RECOMMENDS,
                    "`apt-get install` without `--no-install-recommends` installs "
                    "recommended packages too: bigger image, more attack surface.",
                    inst,
                    Fix("Add --no-install-recommends", (TextEdit(_after(inst), " --no-install-recommends"),)),
                )
            )
        if not re.search(r"(?:^|\s)(?:-\w*y\w*|--yes|--assume-yes|-qq|-q=?2)(?=\s|$)", seg):
            out.append(
                finding(
                    R_APT_YES,
                    "`apt-get install` without `-y` stops at the confirmation prompt and the build fails.",
                    inst,
                    Fix("Add -y", (TextEdit(_after(inst), " -y"),)),
                )
            )
    if (
        re.search(r"\bapt(?:-get)?\s+(?:-\S+\s+)*(?:install|update)\b", raw)
        and not cache_mount
        and "/var/lib/apt/lists" not in raw
    ):
        end = lines.end_of(ins.end)
        out.append(
            finding(
                R_APT_LISTS,
                "This RUN uses apt-get but does not `rm -rf /var/lib/apt/lists/*`: "
                "the package index stays in the layer.",
                lines.whole(ins.start),
                Fix(
                    "Remove the apt lists in the same RUN",
                    (TextEdit(end, " \\\n    && rm -rf /var/lib/apt/lists/*"),),
                ),
            )
        )
    if not pip_no_cache_env and not cache_mount:
        for start, end, seg in _subcommands(block, _PIP, "install"):
            if "--no-cache-dir" not in seg:
                inst = block.span(start, end)
                out.append(
                    finding(
                        R_PIP_CACHE,
                        "`pip install` without `--no-cache-dir` stores wheels in the image layer.",
                        inst,
                        Fix("Add --no-cache-dir", (TextEdit(_after(inst), " --no-cache-dir"),)),
                    )
                )
    for m in _SUDO.finditer(raw):
        out.append(
            finding(
                R_SUDO,
                "`sudo` in a RUN: build steps already run as the current USER; "
                "switch with `USER` instead (sudo in images is also an escalation path).",
                block.span(m.start(1), m.end(1)),
            )
        )
    for m in _CD.finditer(raw):
        out.append(
            finding(
                R_CD,
                "`cd` in RUN only lasts for this RUN; use `WORKDIR` to set the directory.",
                block.span(m.start(1), m.end(1)),
            )
        )
    return out


_WORD = re.compile(r"[^\s\\]+")


def _subcommands(block: _Block, tool: re.Pattern, sub: str):
    """(start, end, segment) of each ``<tool> [options] <sub>`` command in the RUN block."""
    raw = block.raw
    for m in tool.finditer(raw):
        seg_end = block.segment_end(m.end())
        skip_next = False
        for w in _WORD.finditer(raw, m.end(), seg_end):
            word = w.group(0)
            if skip_next:
                skip_next = False
                continue
            if word.startswith("-"):
                skip_next = word in _OPTION_WITH_VALUE
                continue
            if word == sub:
                yield w.start(), w.end(), raw[m.end() : seg_end]
            break


def _after(span: Span) -> Span:
    return Span(span.end_line, span.end_col, span.end_line, span.end_col)


def _check_add(lines: Lines, ins: _Instr) -> list[StaticFinding]:
    value = ins.value.strip()
    try:
        parts = json.loads(value) if value.startswith("[") else shlex.split(value)
    except (ValueError, json.JSONDecodeError):
        return []
    if not isinstance(parts, list):
        return []
    parts = [str(p) for p in parts if not str(p).startswith("--")]
    sources = parts[:-1]
    if not sources:
        return []
    if any(re.match(r"^(?:https?|git|ssh)://|^git@", s) or _ARCHIVE.search(s) for s in sources):
        return []
    kw = lines.find("ADD", ins.start) or lines.find("add", ins.start) or lines.whole(ins.start)
    kw = Span.on_line(kw.line, kw.col, kw.col + 3)
    return [
        finding(
            R_ADD,
            "`ADD` of a local path: ADD also fetches URLs and unpacks archives, so COPY says "
            "what you mean and avoids surprises.",
            kw,
            Fix("Replace ADD with COPY", (TextEdit(kw, "COPY"),)),
        )
    ]


def _env_pairs(value: str) -> list[tuple[str, str]]:
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    if words and "=" not in words[0]:
        # legacy form: ENV KEY value with spaces
        return [(words[0], " ".join(words[1:]))]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words if "=" in w]


def _check_env(lines: Lines, ins: _Instr) -> list[StaticFinding]:
    out = []
    for key, val in _env_pairs(ins.value):
        if ins.name == "ARG" and not val:
            continue
        if is_literal_secret(key, val) or has_url_credentials(val):
            span = lines.find(key, ins.start, ins.end, start_col=len(ins.name), word=True) or lines.whole(
                ins.start
            )
            out.append(
                finding(
                    R_SECRET,
                    f"`{key}` holds a literal credential in {ins.name}: it is stored in the image "
                    "and shown by `docker history`. Pass it at run time or use a build secret "
                    "(`RUN --mount=type=secret`).",
                    span,
                )
            )
    return out


def _check_exec_form(lines: Lines, ins: _Instr) -> list[StaticFinding]:
    value = ins.value.strip()
    if not value or value.startswith("["):
        return []
    span = (
        lines.whole(ins.start)
        if ins.start == ins.end
        else Span(ins.start, lines.whole(ins.start).col, ins.end, lines.whole(ins.end).end_col)
    )
    fix = None
    if ins.start == ins.end and not _SHELL_META.search(value):
        words = value.split()
        arg_span = lines.find(value, ins.start, start_col=len(ins.name))
        if arg_span and words:
            fix = Fix(f"Use the exec form of {ins.name}", (TextEdit(arg_span, json.dumps(words)),))
    return [
        finding(
            R_SHELL_FORM,
            f"Shell-form {ins.name} runs `/bin/sh -c`, which becomes PID 1 and does not "
            "forward SIGTERM, so `docker stop` waits and kills. Use the exec form "
            f'{ins.name} ["executable", "arg"].',
            span,
            fix,
        )
    ]


def _check_final_stage(
    lines: Lines, instrs: list[_Instr], stages: list[tuple[_Instr, str]]
) -> list[StaticFinding]:
    out = []
    final_from = stages[-1][0]
    final = [i for i in instrs if i.start > final_from.start]
    users = [i for i in final if i.name == "USER"]
    image = _image_token(final_from.value)
    from_span = lines.find(image, final_from.start, start_col=4) if image else None
    from_span = from_span or lines.whole(final_from.start)
    if not users:
        out.append(
            finding(
                R_USER,
                "The final stage never sets USER, so the container runs as root: "
                "a process escape gets root on the host's kernel interface. Add a non-root USER.",
                from_span,
            )
        )
    else:
        last = users[-1]
        who = last.value.strip().split(":")[0]
        if who in ("root", "0"):
            out.append(
                finding(
                    R_USER,
                    "The last USER of the final stage is root: the container runs as root.",
                    lines.whole(last.start),
                )
            )
    if not any(i.name == "HEALTHCHECK" for i in final):
        out.append(
            finding(
                R_HEALTH,
                "No HEALTHCHECK: Docker and compose cannot tell a hung container from a "
                "healthy one (ignore this if an orchestrator probes it).",
                from_span,
            )
        )
    return out

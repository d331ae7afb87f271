"""Dockerfile rules (DF...): parsed with dockerfile-parse, tokens located on the raw lines for exact ranges."""

from __future__ import annotations

import ast
import bisect
import io
import json
import re
import shlex
from dataclasses import dataclass

from dockerfile_parse import DockerfileParser

from .common import has_url_credentials, image_tag_problem, is_literal_secret
from .dockerfile_stages import R_BAD_FROM, R_UNKNOWN_STAGE, check_stages
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
R_APK_CACHE = rule(
    "DF018",
    "dockerfile/apk-no-cache",
    "info",
    "`apk add` without `--no-cache` leaves the package index in the layer.",
)
R_PIPEFAIL = rule(
    "DF019",
    "dockerfile/pipe-without-pipefail",
    "info",
    "A RUN pipes commands without `set -o pipefail`: only the last command's failure fails the build.",
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
_APK = re.compile(r"(?<![\w/-])apk(?=[ \t\\])")
_PIP = re.compile(rf"(?<![\w/-])(?<!uv[ \t])(?:pip3?|python3?(?:\.\d+)?{_WS}-m{_WS}pip)(?=[ \t\\])")
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
    "-X",
    "--repository",
    "-p",
    "--root",
}
# `sudo` where a command starts (after RUN and its flags, && || ; | ( ` or $(, past VAR=value prefixes);
# in a heredoc script also at the start of a line. Elsewhere it is an argument (`apt-get install sudo`).
_COMMAND_START = r"(?:^\s*(?i:RUN)(?:\s+--\S+)*\s|&&|\|\||[;|(`]|\$\()"
_SUDO = re.compile(_COMMAND_START + r"[ \t]*(?:\w+=\S*[ \t]+)*(sudo)(?=\s)")
_SUDO_SCRIPT_LINE = re.compile(r"^[ \t]*(?:\w+=\S*[ \t]+)*(sudo)(?=\s)", re.MULTILINE)
_CD = re.compile(r"(?:^\s*RUN(?:\s+--\S+)*|&&|\|\||;)[ \t]*(cd)[ \t]+\S", re.IGNORECASE)
# A BuildKit heredoc: a word that starts with << (not a <<< here-string), then the delimiter.
_HEREDOC = re.compile(r"(?:^|(?<=\s))<<(?!<)-?[\"']?([A-Za-z_][A-Za-z0-9_]*)[\"']?(?=\s|$)")
_SHELL_META = re.compile(r"[$&|;<>*?`(){}\[\]~\\'\"#]")


@dataclass
class _Instr:
    name: str
    value: str
    start: int
    end: int  # last line of the instruction; for a RUN with a script heredoc, the heredoc's terminator
    script: bool = False  # a RUN whose shell script is a heredoc body (lines start+1..end are the script)


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
    body_end = -1  # heredoc bodies are no instructions: skip up to their last terminator
    out = []
    for item in parser.structure:
        if item["instruction"] == "COMMENT" or item["startline"] <= body_end:
            continue
        ins = _Instr(item["instruction"].upper(), item["value"], item["startline"], item["endline"])
        out.append(ins)
        delims = [
            m.group(1)
            for line in raw_lines[ins.start : ins.end + 1]
            for m in _HEREDOC.finditer(line)
        ] if ins.name in ("RUN", "COPY", "ADD") else []
        i = ins.end
        for delim in delims:  # each body follows the previous one's terminator
            i += 1
            while i < len(raw_lines) and raw_lines[i].strip() != delim:
                i += 1
        if delims:
            body_end = min(i, len(raw_lines) - 1)
            if ins.name == "RUN" and _is_shell_heredoc(ins.value, raw_lines[ins.end + 1 : ins.end + 2]):
                ins.end, ins.script = body_end, True
    return out


_SHELLS = re.compile(r"^(?:/(?:usr/)?bin/)?(?:ba|da|a|z)?sh(?:\s+-\w+)*\s*<<")


def _is_shell_heredoc(value: str, first_body_line: list[str]) -> bool:
    """Whether a heredoc RUN's body is a shell script: ``RUN <<EOF`` (run by the SHELL, unless a shebang
    names another interpreter) or ``RUN bash <<EOF``; ``RUN python3 <<EOF`` feeds Python."""
    cmd = re.sub(r"^(?:--\S+\s+)*", "", value.strip())
    shebang = first_body_line[0].strip() if first_body_line and first_body_line[0].startswith("#!") else ""
    if shebang and not re.search(r"\b(?:ba|da|a|z)?sh\b", shebang):
        return False
    return cmd.startswith("<<") or bool(_SHELLS.match(cmd))


def _resolve(image: str, args: dict[str, str]) -> str:
    """``image`` with the global ARGs substituted; an unknown ``${VAR:-default}`` takes its default."""

    def sub(m: re.Match) -> str:
        name = m.group(1) or m.group(4)
        if name in args:
            return args[name]
        return m.group(3) if m.group(2) else m.group(0)

    return re.sub(r"\$\{([A-Za-z_]\w*)(?:(:?-)([^}]*))?\}|\$([A-Za-z_]\w*)", sub, image)


_WINDOWS_ESCAPE = re.compile(r"\A\ufeff?(?:[ \t]*#[^\n]*\n)*?[ \t]*#[ \t]*escape[ \t]*=[ \t]*`", re.IGNORECASE)


@dataclass
class _Stage:
    """One FROM ... section. ``parent`` is the earlier stage it builds on (``FROM builder``), whose USER,
    HEALTHCHECK and ENV it inherits."""

    from_ins: _Instr
    alias: str
    image: str
    parent: _Stage | None = None
    user: _Instr | None = None  # the last USER of this stage
    shell: _Instr | None = None  # the last SHELL of this stage
    healthcheck: bool = False
    pip_no_cache: bool = False

    def effective(self, attribute: str) -> _Instr | None:
        """The last USER or SHELL in force: this stage's, else the one it builds on."""
        stage: _Stage | None = self
        while stage is not None:
            if getattr(stage, attribute) is not None:
                return getattr(stage, attribute)
            stage = stage.parent
        return None

    def inherits(self, attribute: str) -> bool:
        stage: _Stage | None = self
        while stage is not None:
            if getattr(stage, attribute):
                return True
            stage = stage.parent
        return False

    def base_image(self) -> str:
        stage: _Stage = self
        while stage.parent is not None:
            stage = stage.parent
        return stage.image


def analyse_dockerfile(text: str) -> list[StaticFinding]:
    lines = Lines(text)
    out: list[StaticFinding] = []
    instrs = _instructions(text)
    global_args: dict[str, str] = {}
    stages: list[_Stage] = []
    stage_cmds: dict[str, list[_Instr]] = {}
    windows = bool(_WINDOWS_ESCAPE.match(text))  # `# escape=`` : a Windows image, whose default shell is cmd
    out += check_stages(lines, instrs)
    # a FROM that names no image, or a stage by mistake, is reported as such, not as an untagged image
    bad_from = {f.span.line for f in out if f.rule in (R_BAD_FROM.id, R_UNKNOWN_STAGE.id)}
    for ins in instrs:
        name = ins.name
        stage = stages[-1] if stages else None
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
        if name == "ARG" and stage is None:
            global_args.update(_env_pairs(ins.value, arg=True))
        if name != "FROM" and name != "ARG" and stage is None:
            out.append(
                finding(
                    R_NO_FROM,
                    f"`{name}` before the first FROM: a Dockerfile must start with FROM.",
                    lines.whole(ins.start),
                )
            )
        if name == "FROM":
            by_alias = {st.alias.lower(): st for st in stages if st.alias}
            if ins.start not in bad_from:
                out += _check_from(lines, ins, global_args, set(by_alias))
            words = ins.value.split()
            alias = words[-1] if len(words) >= 3 and words[-2].lower() == "as" else ""
            image = _resolve(_image_token(ins.value), global_args)
            stages.append(_Stage(ins, alias, image, by_alias.get(image.lower())))
            stage_cmds = {}
        elif name == "RUN":
            out += _check_run(lines, ins, stage is not None and stage.inherits("pip_no_cache"))
            if not windows:
                out += _check_pipefail(lines, ins, stage.effective("shell") if stage else None)
        elif name == "ADD":
            out += _check_add(lines, ins)
        elif name in ("ENV", "ARG"):
            out += _check_env(lines, ins)
            if name == "ENV" and stage is not None and re.search(r"\bPIP_NO_CACHE_DIR\b", ins.value):
                stage.pip_no_cache = True
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
        elif name == "USER" and stage is not None:
            stage.user = ins
        elif name == "SHELL" and stage is not None:
            stage.shell = ins
        elif name == "HEALTHCHECK" and stage is not None:
            stage.healthcheck = True
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
        out += _check_final_stage(lines, stages[-1])
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
        if ins.script:  # a new script line just above the heredoc's terminator
            edit = TextEdit(Span(ins.end, 0, ins.end, 0), "rm -rf /var/lib/apt/lists/*\n")
        else:
            edit = TextEdit(lines.end_of(ins.end), " \\\n    && rm -rf /var/lib/apt/lists/*")
        out.append(
            finding(
                R_APT_LISTS,
                "This RUN uses apt-get but does not `rm -rf /var/lib/apt/lists/*`: "
                "the package index stays in the layer.",
                lines.whole(ins.start),
                Fix("Remove the apt lists in the same RUN", (edit,)),
            )
        )
    if not cache_mount and "/var/cache/apk" not in raw:
        for start, end, seg in _subcommands(block, _APK, "add"):
            if not re.search(r"(?:^|\s)--no-cache(?=\s|$)", seg):
                inst = block.span(start, end)
                out.append(
                    finding(
                        R_APK_CACHE,
                        "`apk add` without `--no-cache` keeps the package index (/var/cache/apk) in the layer.",
                        inst,
                        Fix("Add --no-cache", (TextEdit(_after(inst), " --no-cache"),)),
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
    sudo = {m.start(1): m for m in _SUDO.finditer(raw)}
    if ins.script:
        sudo.update({m.start(1): m for m in _SUDO_SCRIPT_LINE.finditer(raw)})
    for _, m in sorted(sudo.items()):
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


def _pipes(raw: str, script: bool) -> list[tuple[int, str]]:
    """(offset, first word of the command on its left) of each pipe ``|`` in a RUN's shell text, outside
    quotes and comments (``||`` is no pipe). In a heredoc script an unescaped line end ends a command."""
    out: list[tuple[int, str]] = []
    quote = ""
    command_start = 0
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "\\":
            i += 1
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or raw[i - 1] in " \t\n"):
            while i < n and raw[i] != "\n":
                i += 1
            continue
        elif ch == "|" and raw[i + 1 : i + 2] != "|" and raw[i - 1 : i] != "|":
            word = re.match(r"\s*(?:(?i:RUN)(?:\s+--\S+)*\s+)?(?:\w+=\S*\s+)*([^\s;&|()]*)", raw[command_start:i])
            out.append((i, word.group(1) if word else ""))
            command_start = i + 1
        elif ch in ";&(" or (ch == "|") or (script and ch == "\n"):
            command_start = i + 1
        i += 1
    return out


def _check_pipefail(lines: Lines, ins: _Instr, shell: _Instr | None) -> list[StaticFinding]:
    value = ins.value.strip()
    if value.startswith("["):
        return []  # exec form: no shell, no pipes
    if shell is not None and (
        "pipefail" in shell.value or not re.search(r"(?:^|[\"/\s\[])(?:ba|z|k|a)?sh\b", shell.value)
    ):
        return []  # SHELL sets pipefail, or is no POSIX shell (PowerShell, cmd)
    block = _Block(lines, ins)
    if "|" not in block.raw or re.search(r"\bpipefail\b", block.raw):
        return []
    for offset, left in _pipes(block.raw, ins.script):
        if left in ("echo", "printf", "yes", "true"):
            continue  # a producer that cannot fail: its status does not matter
        return [
            finding(
                R_PIPEFAIL,
                f"`{left} ... |` in a RUN without pipefail: if `{left}` fails, the pipe still succeeds and "
                "the build goes on with broken output. Start the RUN with `set -o pipefail &&` or set "
                '`SHELL ["/bin/bash", "-o", "pipefail", "-c"]`.',
                block.span(offset, offset + 1),
            )
        ]
    return []


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


def _env_pairs(value: str, *, arg: bool = False) -> list[tuple[str, str]]:
    """(name, value) pairs of ENV (``K=v ...`` or the legacy ``K v w``) or ARG (``A B=1``; a name
    without ``=`` has no default and is left out)."""
    try:
        words = shlex.split(value, posix=True)
    except ValueError:
        words = value.split()
    if not arg and words and "=" not in words[0]:
        # legacy form: ENV KEY value with spaces
        return [(words[0], " ".join(words[1:]))]
    return [(w.partition("=")[0], w.partition("=")[2]) for w in words if "=" in w]


def _check_env(lines: Lines, ins: _Instr) -> list[StaticFinding]:
    out = []
    for key, val in _env_pairs(ins.value, arg=ins.name == "ARG"):
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
    if not value:
        return []
    span = (
        lines.whole(ins.start)
        if ins.start == ins.end
        else Span(ins.start, lines.whole(ins.start).col, ins.end, lines.whole(ins.end).end_col)
    )
    if value.startswith("["):
        return _check_json_form(lines, ins, value, span)
    if ins.name == "CMD" and re.match(r"exec\s", value):
        return []  # `CMD exec prog $VAR`: the shell expands variables, then hands PID 1 to the program
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


def _check_json_form(lines: Lines, ins: _Instr, value: str, span: Span) -> list[StaticFinding]:
    """``CMD ['a', 'b']`` is not JSON, so Docker runs the text as a shell command (and fails)."""
    try:
        if isinstance(json.loads(value), list):
            return []
    except ValueError:
        pass
    fix = None
    try:
        words = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        words = None
    arg_span = lines.find(value, ins.start, start_col=len(ins.name)) if ins.start == ins.end else None
    if isinstance(words, list) and all(isinstance(w, str) for w in words) and arg_span:
        fix = Fix(f"Write {ins.name} as a JSON array", (TextEdit(arg_span, json.dumps(words)),))
    return [
        finding(
            R_SHELL_FORM,
            f"This {ins.name} is not a valid JSON array (JSON needs double quotes), so Docker runs "
            f"`{value}` as a shell command, which fails. Write {ins.name} [\"executable\", \"arg\"].",
            span,
            fix,
        )
    ]


# Images built to run unprivileged, by their own naming (distroless `:nonroot`, `*-rootless`) or by
# their publisher's rule (Chainguard images all default to a non-root user).
_NON_ROOT_IMAGE = re.compile(r"[:\-_.]nonroot\b|nonroot[\-_.]|rootless|^cgr\.dev/chainguard/", re.IGNORECASE)


def _check_final_stage(lines: Lines, final: _Stage) -> list[StaticFinding]:
    out = []
    image = _image_token(final.from_ins.value)
    from_span = lines.find(image, final.from_ins.start, start_col=4) if image else None
    from_span = from_span or lines.whole(final.from_ins.start)
    user = final.effective("user")
    if user is None:
        if not _NON_ROOT_IMAGE.search(final.base_image()):
            out.append(
                finding(
                    R_USER,
                    "The final stage never sets USER, so the container runs as root: "
                    "a process escape gets root on the host's kernel interface. Add a non-root USER.",
                    from_span,
                )
            )
    else:
        who = user.value.strip().split(":")[0]
        if who in ("root", "0"):
            inherited = "" if user.start > final.from_ins.start else f" (set on line {user.start + 1}, inherited)"
            out.append(
                finding(
                    R_USER,
                    f"The last USER of the final stage is root{inherited}: the container runs as root.",
                    lines.whole(user.start) if not inherited else from_span,
                )
            )
    if not final.inherits("healthcheck"):
        out.append(
            finding(
                R_HEALTH,
                "No HEALTHCHECK: Docker and compose cannot tell a hung container from a "
                "healthy one (ignore this if an orchestrator probes it).",
                from_span,
            )
        )
    return out

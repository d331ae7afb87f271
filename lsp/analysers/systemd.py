"""systemd unit rules (SD...) and a small position-keeping unit-file parser.

Unit files are INI-like but not INI: keys repeat (``ExecStartPre=`` twice runs two commands), an empty
assignment resets a list, lines continue with a trailing backslash, and ``#``/``;`` start comments only at
the start of a line. configparser gets all of that wrong, so the parser here keeps every assignment in
order with its line and columns.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field

from . import systemd_directives as directives
from .common import is_literal_secret
from .findings import Lines, Span, StaticFinding, finding, rule
from .systemd_names import check_names
from .systemd_pitfalls import check_service_pitfalls, check_unit_pitfalls

R_RESTART = rule(
    "SD001",
    "systemd/no-restart",
    "warning",
    "Long-running service without Restart=: it stays down after a crash.",
)
R_ROOT = rule(
    "SD002", "systemd/runs-as-root", "warning", "No User= or DynamicUser=: the service runs as root."
)
R_NNP = rule("SD003", "systemd/no-new-privileges", "info", "NoNewPrivileges= is not set.")
R_PROTECT = rule(
    "SD004",
    "systemd/protect-system",
    "info",
    "ProtectSystem= is not set: the service can write /usr and /etc.",
)
R_PRIVATE_TMP = rule(
    "SD005",
    "systemd/private-tmp",
    "info",
    "PrivateTmp= is not set: the service shares /tmp with every other.",
)
R_RELATIVE = rule(
    "SD006",
    "systemd/relative-exec",
    "info",
    "Exec command is not an absolute path: only systemd 239+ accepts it, searching a fixed set of directories.",
)
R_PIDFILE = rule(
    "SD007",
    "systemd/forking-without-pidfile",
    "warning",
    "Type=forking without PIDFile=: systemd has to guess the main process.",
)
R_INSTALL = rule(
    "SD008",
    "systemd/no-wanted-by",
    "warning",
    "[Install] names no WantedBy=/RequiredBy=, so `systemctl enable` does nothing (info when there is no [Install]: a static unit).",
)
R_SYNTAX = rule(
    "SD009", "systemd/syntax", "error", "A line systemd cannot parse (outside a section or not Key=Value)."
)
R_NO_EXEC = rule(
    "SD010", "systemd/no-exec-start", "error", "The service has no ExecStart= (required unless Type=oneshot)."
)
R_TIMER = rule(
    "SD011", "systemd/timer-without-trigger", "error", "The timer has no OnCalendar=/OnBootSec=/... trigger."
)
R_SECRET = rule(
    "SD012",
    "systemd/secret-in-environment",
    "warning",
    "A credential in Environment= is readable by any user via `systemctl show`.",
)
UNIT_SUFFIXES = (
    ".service",
    ".socket",
    ".timer",
    ".mount",
    ".path",
    ".target",
    ".automount",
    ".swap",
    ".slice",
)
_EXEC_KEYS = {
    "ExecStart",
    "ExecStartPre",
    "ExecStartPost",
    "ExecStop",
    "ExecStopPost",
    "ExecReload",
    "ExecCondition",
}
_TIMER_KEYS = {
    "OnActiveSec",
    "OnBootSec",
    "OnStartupSec",
    "OnUnitActiveSec",
    "OnUnitInactiveSec",
    "OnCalendar",
    "OnClockChange",
    "OnTimezoneChange",
}


@dataclass
class Assignment:
    key: str
    value: str
    line: int  # 0-based line of the key
    key_span: Span
    value_span: Span


@dataclass
class Section:
    name: str
    line: int
    span: Span
    assignments: list[Assignment] = field(default_factory=list)

    def all(self, key: str) -> list[Assignment]:
        return [a for a in self.assignments if a.key == key]

    def last(self, key: str) -> Assignment | None:
        found = self.all(key)
        return found[-1] if found else None


@dataclass
class Unit:
    sections: list[Section]
    errors: list[tuple[str, Span]]

    def section(self, name: str) -> Section | None:
        """The section ``name``; a section that appears twice is one section, as systemd reads it."""
        found = [s for s in self.sections if s.name == name]
        if len(found) <= 1:
            return found[0] if found else None
        return Section(name, found[0].line, found[0].span, [a for s in found for a in s.assignments])


def parse_unit(text: str) -> Unit:
    lines = Lines(text)
    sections: list[Section] = []
    errors: list[tuple[str, Span]] = []
    i = 0
    while i < len(lines):
        raw = lines.get(i)
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            i += 1
            continue
        if stripped.startswith("["):
            m = re.match(r"^\s*\[([^\]]*)\]\s*$", raw)
            if m:
                sections.append(Section(m.group(1), i, Span.on_line(i, raw.index("["), raw.index("]") + 1)))
            else:
                errors.append(("Section header is not closed with `]`.", lines.whole(i)))
            i += 1
            continue
        start = i
        value_lines = [raw]
        end_line = start
        while value_lines[-1].rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            nxt = lines.get(i)
            if nxt.lstrip().startswith(("#", ";")):
                continue  # systemd ignores comment lines inside a continued value
            value_lines.append(nxt)
            end_line = i
        i += 1
        m = re.match(r"^(\s*)([A-Za-z0-9_\-.@]+)\s*=\s*(.*)$", raw)
        if not m:
            errors.append(("Not a `Key=Value` assignment.", lines.whole(start)))
            continue
        if not sections:
            errors.append(
                ("Assignment outside any section (add e.g. `[Service]` above it).", lines.whole(start))
            )
            continue
        key = m.group(2)
        value = " ".join(
            v.rstrip().removesuffix("\\").strip() for v in [m.group(3)] + value_lines[1:]
        ).strip()
        kcol = len(m.group(1))
        vcol = m.start(3)
        vspan = Span(start, vcol, end_line, len(lines.get(end_line).rstrip()))
        sections[-1].assignments.append(
            Assignment(key, value, start, Span.on_line(start, kcol, kcol + len(key)), vspan)
        )
    return Unit(sections, errors)


_DROP_IN = re.compile(
    r"(?:^|[/\\])(?:[^/\\]*\.)?(" + "|".join(x[1:] for x in UNIT_SUFFIXES) + r")\.d[/\\][^/\\]+\.conf$"
)


def is_drop_in(path: str) -> bool:
    """A drop-in (``foo.service.d/override.conf``): it amends a unit, so what it leaves out is not missing."""
    return bool(_DROP_IN.search(path))


def type_from_path(path: str) -> str | None:
    """The unit type the file name says (``api.service``, ``api.service.d/x.conf``, ``app.container``)."""
    m = _DROP_IN.search(path)
    if m:
        return m.group(1)
    name = posixpath.basename(path.replace("\\", "/")).removesuffix(".in")
    suffix = name.rpartition(".")[2] if "." in name else ""
    if suffix in directives.SECTIONS or suffix in directives.QUADLET_SECTIONS:
        return suffix
    return None


def unit_type(path: str, text: str) -> str:
    """The unit's type from its file name, else from its sections; ``quadlet`` for a Podman Quadlet file,
    whose [Service] quadlet completes (ExecStart= and the rest are generated)."""
    typ = type_from_path(path)
    if typ in directives.QUADLET_SECTIONS:
        return "quadlet"
    if typ:
        return typ
    for name in ("Service", "Socket", "Timer", "Mount"):
        if re.search(rf"^\s*\[{name}\]\s*$", text, re.MULTILINE):
            return name.lower()
    return "unit"


def looks_like_systemd(text: str) -> bool:
    return bool(re.search(r"^\s*\[(?:Unit|Service|Install|Socket|Timer|Mount)\]\s*$", text, re.MULTILINE))


def _yes(a: Assignment | None) -> bool:
    return a is not None and a.value.strip().lower() in ("yes", "true", "1", "on")


def analyse_unit(text: str, path: str = "") -> list[StaticFinding]:
    unit = parse_unit(text)
    out = [finding(R_SYNTAX, msg, span) for msg, span in unit.errors]
    if not unit.sections and not unit.errors:
        return out  # empty or only comments: a masked unit (a link to /dev/null) or a placeholder
    if unit.section("D-BUS Service") or (
        type_from_path(path) is None and not any(s.name in directives.DIRECTIVES for s in unit.sections)
    ):
        return out  # no unit: a D-Bus activation file, a daemon's config (journald.conf, logind.conf)
    out += check_names(unit, path, type_from_path(path))
    kind = unit_type(path, text)
    # A drop-in amends a unit defined elsewhere: report what it sets, never what it leaves out.
    complete = not is_drop_in(path)
    if complete:
        out += check_unit_pitfalls(unit)
    if kind == "service":
        out += _check_service(unit, complete=complete, template=path.endswith(".in"))
    if kind == "timer" and complete:
        timer = unit.section("Timer")
        if timer is not None and not any(a.key in _TIMER_KEYS and a.value for a in timer.assignments):
            out.append(
                finding(
                    R_TIMER,
                    "The [Timer] section has no trigger (OnCalendar=, OnBootSec=, "
                    "OnUnitActiveSec=, ...): the timer never fires.",
                    timer.span,
                )
            )
    if kind in ("service", "socket", "timer", "path", "mount") and complete:
        install = unit.section("Install")
        targets = [
            a
            for a in (install.assignments if install else [])
            if a.key in ("WantedBy", "RequiredBy", "UpheldBy", "Alias", "Also")
        ]
        if not any(a.value for a in targets):
            anchor = (
                install.span if install else (unit.sections[0].span if unit.sections else Span(0, 0, 0, 0))
            )
            if install is not None:
                message = (
                    "[Install] has no WantedBy=: `systemctl enable` creates no link, so the unit does not "
                    "start at boot (e.g. WantedBy=multi-user.target, or timers.target for a timer)."
                )
            else:
                message = (
                    "No [Install] section: this is a static unit that `systemctl enable` cannot enable. Fine "
                    "if a timer, socket or another unit starts it; otherwise add WantedBy=multi-user.target."
                )
            out.append(finding(R_INSTALL, message, anchor, severity=None if install is not None else "info"))
    return out


# Settings that make systemd set no_new_privs whatever NoNewPrivileges= says (systemd.exec(5)).
_IMPLY_NNP_BOOL = (
    "DynamicUser",
    "LockPersonality",
    "MemoryDenyWriteExecute",
    "PrivateDevices",
    "ProtectClock",
    "ProtectHostname",
    "ProtectKernelLogs",
    "ProtectKernelModules",
    "ProtectKernelTunables",
    "RestrictRealtime",
    "RestrictSUIDSGID",
)
_IMPLY_NNP_LIST = (
    "RestrictAddressFamilies",
    "RestrictNamespaces",
    "SystemCallArchitectures",
    "SystemCallFilter",
    "SystemCallLog",
)
_EXEC_PREFIX = "@-:+!|"


def _set(a: Assignment | None) -> bool:
    """A list-valued setting that is non-empty after its last reset (``RestrictNamespaces=no`` is off)."""
    return a is not None and a.value.strip().lower() not in ("", "no", "false", "0", "off")


def _check_service(unit: Unit, *, complete: bool = True, template: bool = False) -> list[StaticFinding]:
    """Rules of a [Service]. ``complete`` is False for a drop-in, whose unset keys the unit may set;
    ``template`` for a ``.service.in`` whose paths are build-time ``@substitutions@``."""
    svc = unit.section("Service")
    if svc is None:
        return []
    out = []
    typ = (svc.last("Type").value if svc.last("Type") else "simple").lower()
    dynamic_user = _yes(svc.last("DynamicUser"))
    if complete and not any(a.value for a in svc.all("ExecStart")) and _needs_exec_start(unit, svc):
        out.append(
            finding(R_NO_EXEC, "This service has no ExecStart=: systemd refuses to start it.", svc.span)
        )
    # A oneshot ends by design; an idle one is a console shell (emergency.service); a D-Bus service with a
    # BusName= and no [Install] is only ever bus-activated, so the next call to it starts it again.
    on_demand = typ in ("oneshot", "idle") or (_set(svc.last("BusName")) and unit.section("Install") is None)
    if complete and not on_demand and svc.last("Restart") is None:
        out.append(
            finding(
                R_RESTART,
                "No Restart=: after a crash the service stays down. Use Restart=on-failure "
                "(with RestartSec=).",
                svc.span,
            )
        )
    user = svc.last("User")
    if dynamic_user:
        pass
    elif user is not None and user.value in ("root", "0"):
        out.append(finding(R_ROOT, "User=root: the service runs as root.", user.value_span))
    elif complete and (user is None or not user.value):
        out.append(
            finding(
                R_ROOT,
                "No User= (or DynamicUser=yes): the service runs as root, so any bug in it is a "
                "root compromise.",
                svc.span,
            )
        )
    nnp_implied = any(_yes(svc.last(k)) for k in _IMPLY_NNP_BOOL) or any(
        _set(svc.last(k)) for k in _IMPLY_NNP_LIST
    )
    if complete and not _yes(svc.last("NoNewPrivileges")) and not nnp_implied:
        out.append(
            finding(
                R_NNP,
                "NoNewPrivileges=yes is not set: the service and its children can gain privileges "
                "through setuid binaries.",
                svc.span,
            )
        )
    protect = svc.last("ProtectSystem")
    if complete and not dynamic_user and (protect is None or protect.value.lower() in ("", "no", "false", "0")):
        out.append(
            finding(
                R_PROTECT,
                "ProtectSystem= is not set: the service can modify /usr, /boot and /etc. Use "
                "ProtectSystem=strict (with ReadWritePaths=) or full.",
                svc.span,
            )
        )
    if complete and not _yes(svc.last("PrivateTmp")) and not dynamic_user:
        out.append(
            finding(
                R_PRIVATE_TMP,
                "PrivateTmp=yes is not set: /tmp is shared with other services "
                "(symlink and snooping attacks).",
                svc.span,
            )
        )
    if complete and typ == "forking" and svc.last("PIDFile") is None:
        out.append(
            finding(
                R_PIDFILE,
                "Type=forking without PIDFile=: systemd guesses the main PID, and restarts or "
                "stops can hit the wrong process.",
                svc.last("Type").value_span,
            )
        )
    for a in svc.assignments:
        if a.key in _EXEC_KEYS and a.value:
            out += _check_exec(a, template)
        if a.key == "Environment":
            out += _check_environment(a)
    return out + check_service_pitfalls(unit, svc, typ, complete)


def _needs_exec_start(unit: Unit, svc: Section) -> bool:
    """Whether systemd refuses the service for want of ExecStart=: always when Type= is set to anything but
    oneshot; without Type= (then oneshot) only when it has no ExecStop= and no SuccessAction= either."""
    typ = svc.last("Type")
    if typ is not None and typ.value:
        return typ.value.lower() != "oneshot"
    head = unit.section("Unit")
    success = head.last("SuccessAction") if head else None
    return not any(a.value for a in svc.all("ExecStop")) and not (success and success.value)


def _check_exec(a: Assignment, template: bool) -> list[StaticFinding]:
    cmd = a.value.lstrip(_EXEC_PREFIX)
    if not cmd or cmd.startswith(("/", "$")) or (template and re.match(r"@\w+@", a.value)):
        return []
    exe = cmd.split()[0]
    start = a.value_span.col + len(a.value) - len(cmd)
    span = Span.on_line(a.line, start, start + len(exe)) if a.value_span.end_line == a.line else a.value_span
    return [
        finding(
            R_RELATIVE,
            f"{a.key}=`{exe}` is not an absolute path: systemd before 239 rejects it and newer "
            "versions search only a fixed set of directories. The full path is unambiguous.",
            span,
        )
    ]


# One word of an Environment= value: quotes may open anywhere in it (A="b c" is A=b c), as systemd splits.
_ENV_WORD = re.compile(r"""(?:"[^"]*"?|'[^']*'?|[^\s"'])+""")


def _check_environment(a: Assignment) -> list[StaticFinding]:
    out = []
    one_line = a.value_span.end_line == a.line
    for m in _ENV_WORD.finditer(a.value):
        k, eq, v = re.sub(r"""["']""", "", m.group(0)).partition("=")
        if eq and is_literal_secret(k, v):
            col = a.value_span.col + m.start()
            out.append(
                finding(
                    R_SECRET,
                    f"`{k}` is a credential in Environment=: any local user can read it "
                    "with `systemctl show`. Use LoadCredential= or an EnvironmentFile= readable "
                    "only by root.",
                    Span.on_line(a.line, col, col + len(m.group(0))) if one_line else a.value_span,
                )
            )
    return out


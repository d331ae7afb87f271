"""systemd rules SD014-SD019: settings systemd refuses or silently ignores, and the ordering mistake
systemd's own NETWORK_ONLINE page warns about, read from the parsed unit (see :mod:`.systemd`).

Sources: systemd.service(5) and systemd.exec(5) (what makes a service "bad" or a line ignored), the
systemd.special(7) / "Running Services After the Network Is Up" notes, and the deprecations systemd logs.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .findings import StaticFinding, finding, rule

if TYPE_CHECKING:
    from .systemd import Assignment, Section, Unit

R_SHELL = rule(
    "SD014",
    "systemd/exec-shell-syntax",
    "error",
    "An Exec command uses shell syntax (|, >, &&, $(...)), which systemd does not interpret.",
)
R_NETWORK_ONLINE = rule(
    "SD015",
    "systemd/network-online-without-after",
    "warning",
    "Wants=/Requires=network-online.target without After=network-online.target: no ordering.",
)
R_MULTI_EXEC = rule(
    "SD016",
    "systemd/multiple-exec-start",
    "error",
    "More than one ExecStart= in a service that is not Type=oneshot: systemd refuses the unit.",
)
R_ONESHOT_RESTART = rule(
    "SD017",
    "systemd/oneshot-restart-always",
    "error",
    "Type=oneshot with Restart=always or on-success: systemd refuses the unit.",
)
R_DEPRECATED = rule(
    "SD018",
    "systemd/deprecated-key",
    "info",
    "A deprecated setting (MemoryLimit=, CPUShares=, BlockIOWeight=, PermissionsStartOnly=...).",
)
R_RELATIVE_PATH = rule(
    "SD019",
    "systemd/relative-path",
    "error",
    "EnvironmentFile= or WorkingDirectory= is not an absolute path: systemd ignores the line.",
)

# Words of an Exec line that only a shell gives meaning to (systemd passes them as arguments).
_SHELL_WORD = re.compile(r"^(?:\||\|\||&&|&|>|>>|<|<<|2>&1|2>|&>)$|^[12]?>{1,2}/|^\$\(|^`")
_SHELLS = re.compile(r"(?:^|/)(?:sh|bash|dash|zsh|ksh|busybox)$")
_QUOTED = re.compile(r"""'[^']*'|"(?:[^"\\]|\\.)*\"""")
_DEPRECATED = {
    "MemoryLimit": "MemoryMax=",
    "CPUShares": "CPUWeight=",
    "StartupCPUShares": "StartupCPUWeight=",
    "BlockIOWeight": "IOWeight=",
    "BlockIODeviceWeight": "IODeviceWeight=",
    "BlockIOReadBandwidth": "IOReadBandwidthMax=",
    "BlockIOWriteBandwidth": "IOWriteBandwidthMax=",
    "BlockIOAccounting": "IOAccounting=",
    "PermissionsStartOnly": "the `+` prefix on the Exec lines that need full privileges",
}
_EXEC_KEYS = ("ExecStart", "ExecStartPre", "ExecStartPost", "ExecStop", "ExecStopPost", "ExecReload",
              "ExecCondition")


def check_service_pitfalls(unit: Unit, svc: Section, typ: str, complete: bool) -> list[StaticFinding]:
    """SD014, SD016, SD017, SD018 (in [Service]) and SD019 for a service's [Service] section ``svc``."""
    out: list[StaticFinding] = []
    for a in svc.assignments:
        if a.key in _EXEC_KEYS and a.value:
            out += _shell_syntax(a)
        elif a.key in _DEPRECATED:
            out.append(finding(R_DEPRECATED, f"{a.key}= is deprecated: use {_DEPRECATED[a.key]} instead "
                               "(systemd still reads it, with a warning in the journal).", a.key_span))
        elif a.key in ("EnvironmentFile", "WorkingDirectory") and a.value:
            path = a.value.lstrip("-")
            if not path.startswith(("/", "~", "%", "$", "@")):
                out.append(finding(R_RELATIVE_PATH, f"{a.key}={a.value} is not an absolute path: systemd logs "
                                   "an error and ignores the setting. Write the full path.", a.value_span))
    if complete and typ != "oneshot":
        starts = _after_last_reset(svc.all("ExecStart"))
        if len(starts) > 1:
            out.append(finding(R_MULTI_EXEC, f"{len(starts)} ExecStart= lines in a Type={typ} service: systemd "
                               "refuses it (only Type=oneshot runs several). Use ExecStartPre= for the commands "
                               "before the main one.", starts[1].key_span))
    restart = svc.last("Restart")
    if typ == "oneshot" and restart is not None and restart.value.lower() in ("always", "on-success"):
        out.append(finding(R_ONESHOT_RESTART, f"Restart={restart.value} is not allowed for Type=oneshot: systemd "
                           "refuses the unit. Use Restart=on-failure, or Type=simple for a long-running "
                           "process.", restart.value_span))
    return out


def check_unit_pitfalls(unit: Unit) -> list[StaticFinding]:
    """SD015, in [Unit] (any kind of unit)."""
    head = unit.section("Unit")
    if head is None:
        return []
    out = []
    wanted = [a for a in head.assignments if a.key in ("Wants", "Requires", "BindsTo")
              and "network-online.target" in a.value.split()]
    after = {w for a in head.all("After") for w in a.value.split()}
    install = unit.section("Install")
    at_boot = install is not None and any(a.key in ("WantedBy", "RequiredBy") and a.value for a in install.assignments)
    # (a unit started on demand, by D-Bus, a socket or a timer, starts long after boot: ordering is moot)
    if wanted and at_boot and "network-online.target" not in after:
        out.append(finding(R_NETWORK_ONLINE, f"{wanted[0].key}=network-online.target only pulls the target in; "
                           "without After=network-online.target the service may start before the network "
                           "is up. Add After=network-online.target.", wanted[0].value_span))
    return out


def _after_last_reset(assignments: list[Assignment]) -> list[Assignment]:
    """The assignments of a list setting after its last empty one (``ExecStart=`` resets the list)."""
    out: list[Assignment] = []
    for a in assignments:
        out = [] if not a.value else out + [a]
    return out


def _shell_syntax(a: Assignment) -> list[StaticFinding]:
    prefix = a.value[:len(a.value) - len(a.value.lstrip("@-:+!|"))]
    if "|" in prefix:
        return []  # systemd 257+: the "|" prefix runs the command through the user's shell
    cmd = a.value[len(prefix):]
    words = _QUOTED.sub("''", cmd).split()
    if not words or _SHELLS.search(words[0]):
        return []  # /bin/sh -c '...' is the way to use a shell
    odd = next((w for w in words[1:] if _SHELL_WORD.search(w)), None)
    if odd is None:
        return []
    return [finding(R_SHELL, f"{a.key}= passes `{odd}` to the program as an argument: systemd runs no shell, so "
                    "pipes, redirections, `&&` and `$(...)` do nothing. Wrap the command: "
                    f"{a.key}=/bin/sh -c '...'.", a.value_span)]

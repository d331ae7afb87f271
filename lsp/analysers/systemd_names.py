"""systemd unit names (SD013): sections a unit type does not read and keys a section does not know, which
systemd reports as "Unknown section" / "Unknown key ... ignoring" and skips. The catalogue is
``systemd_directives``."""

from __future__ import annotations

import posixpath
import re
from typing import TYPE_CHECKING

from . import systemd_directives as directives
from .common import closest
from .findings import Fix, Span, StaticFinding, TextEdit, finding, rule

if TYPE_CHECKING:
    from .systemd import Assignment, Section, Unit

R_UNKNOWN_KEY = rule(
    "SD013",
    "systemd/unknown-key",
    "warning",
    "A key its section does not know, or a section this unit type does not read: systemd ignores it.",
)

# Sections of files whose type the path does not tell: every unit section, systemd-networkd's and Quadlet's.
_KNOWN_SECTIONS = (
    set(directives.DIRECTIVES) | set(directives.QUADLET_SECTIONS.values()) | {"Quadlet", "Link", "Match", "NetDev"}
)

# INI files of systemd's family that are no units: systemd-networkd's (a Quadlet .network shares the suffix)
# and systemd-nspawn's.
_NOT_UNITS = (".network", ".netdev", ".link", ".nspawn")


def check_names(unit: Unit, path: str, typ: str | None) -> list[StaticFinding]:
    """Sections this kind of unit does not read, and keys their section does not know: systemd logs
    "Unknown section" / "Unknown key name" and ignores them, so the setting silently does nothing.
    ``typ`` is the unit type the file name says (None when it says none)."""
    name = posixpath.basename(path.replace("\\", "/"))
    if name.endswith(_NOT_UNITS):
        return []  # networkd and nspawn files: other catalogues
    if typ in directives.SECTIONS:
        allowed = set(directives.SECTIONS[typ])
    elif typ in directives.QUADLET_SECTIONS:
        allowed = {"Unit", "Service", "Install", "Quadlet", directives.QUADLET_SECTIONS[typ]}
    else:  # the type is only guessed from the content: any unit section may be meant
        allowed = _KNOWN_SECTIONS
    out = []
    for s in unit.sections:
        if s.name.startswith("X-"):
            continue
        if s.name not in allowed:
            out.append(_unknown_section(s, typ, allowed))
            continue
        known = directives.DIRECTIVES.get(s.name)
        if known is None:
            continue  # Quadlet's and networkd's own sections: not catalogued here
        for a in s.assignments:
            if a.key not in known and not a.key.startswith("X-") and not re.search(r"[@{$%]", a.key):
                out.append(_unknown_key(a, s.name, allowed))
    return out


def _unknown_section(s: Section, typ: str | None, allowed: set[str]) -> StaticFinding:
    owner = s.name.lower() if s.name in directives.DIRECTIVES and s.name not in ("Unit", "Install") else None
    if owner and typ:
        message = (
            f"A .{typ} unit has no [{s.name}] section (that is for .{owner} units): systemd ignores it "
            "and every setting in it."
        )
        return finding(R_UNKNOWN_KEY, message, s.span)
    guess = closest(s.name, sorted(allowed))
    message = f"Unknown section [{s.name}]: systemd ignores it and every setting in it"
    if not guess:
        return finding(R_UNKNOWN_KEY, message + " (prefix custom sections with X-).", s.span)
    name = Span.on_line(s.span.line, s.span.col + 1, s.span.end_col - 1)
    return finding(
        R_UNKNOWN_KEY,
        f"{message}. Did you mean [{guess[0]}]?",
        s.span,
        Fix(f"Rename the section to [{guess[0]}]", (TextEdit(name, guess[0]),)) if guess[1] else None,
    )


def _unknown_key(a: Assignment, section: str, allowed: set[str]) -> StaticFinding:
    elsewhere = [
        name for name in directives.SECTIONS_BY_PREFERENCE if a.key in directives.DIRECTIVES[name]
    ]
    here = [name for name in elsewhere if name in allowed]
    if here or elsewhere:
        other = (here or elsewhere)[0]
        message = (
            f"`{a.key}=` belongs in [{other}]: systemd ignores it in [{section}] "
            f"(\"Unknown key '{a.key}' in section [{section}], ignoring\")."
        )
        return finding(R_UNKNOWN_KEY, message, a.key_span)
    guess = closest(a.key, sorted(directives.DIRECTIVES[section]))
    message = f"Unknown key `{a.key}=` in [{section}]: systemd ignores this line"
    if not guess:
        return finding(R_UNKNOWN_KEY, message + ".", a.key_span)
    return finding(
        R_UNKNOWN_KEY,
        f"{message}. Did you mean `{guess[0]}=`?",
        a.key_span,
        Fix(f"Rename to {guess[0]}=", (TextEdit(a.key_span, guess[0]),)) if guess[1] else None,
    )


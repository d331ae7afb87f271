"""systemd units as real systems carry them: drop-ins, templates, quoted Environment=, continuation lines with
comments, settings that imply hardening; the idioms that must stay quiet and the defects that must be found."""

from __future__ import annotations

from .realworld import at, findings, rules_of


def test_drop_ins_are_judged_on_what_they_set():
    drop_in = "[Service]\nExecStart=\nExecStart=/usr/local/bin/api --config /etc/api/prod.yaml\nMemoryMax=1G\n"
    assert findings(drop_in, "/etc/systemd/system/api.service.d/override.conf") == []
    leak = drop_in + "Environment=API_TOKEN=sk-live-abc123\nUser=root\n"
    assert rules_of(leak, "api.service.d/10-env.conf") == {"SD002", "SD012"}
    assert "SD001" in rules_of(drop_in, "api.service")  # the same text as a whole unit


def test_environment_quotes_and_exact_ranges():
    unit = (
        "[Service]\nUser=a\nExecStart=/bin/a\n"
        "Environment=\"DB_PASSWORD=hunter2\" DEBUG=1 'MYSQL_PWD=abc' \"LOG=a b\" A=\"TOKEN=1 2\"\n"
    )
    found = [f for f in findings(unit, "a.service") if f.rule == "SD012"]
    assert [at(unit, f) for f in found] == ['"DB_PASSWORD=hunter2"', "'MYSQL_PWD=abc'"]


HARDENED = """\
[Unit]
Description=Worker %i

[Service]
DynamicUser=yes
ExecStart=/usr/bin/worker \\
# the queue comes from the instance name
    --queue %i
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def test_settings_that_imply_hardening():
    assert findings(HARDENED, "worker@.service") == []
    user = HARDENED.replace("DynamicUser=yes", "User=worker\nSystemCallFilter=@system-service\nPrivateTmp=yes")
    assert rules_of(user, "worker@.service") == {"SD004"}  # no_new_privs is implied by the filter


def test_repeated_sections_and_build_templates():
    unit = "[Service]\nExecStart=@bindir@/app\nRestart=always\n[Unit]\nDescription=x\n[Service]\nUser=app\n"
    unit += "NoNewPrivileges=yes\nProtectSystem=full\nPrivateTmp=yes\n[Install]\nWantedBy=multi-user.target\n"
    assert findings(unit, "units/app.service.in") == []
    assert rules_of(unit, "app.service") == {"SD006"}  # outside a build template, @bindir@ is no path

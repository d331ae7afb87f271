"""systemd units as real systems carry them: drop-ins, templates, quoted Environment=, continuation lines with
comments, settings that imply hardening; the idioms that must stay quiet and the defects that must be found."""

from __future__ import annotations

import pytest

from lsp.analysers import analyse

from .realworld import at, findings, rules_of
from .test_rules import apply_fix


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


@pytest.mark.parametrize(
    "line,message,fix",
    [
        ("ExecStrat=/usr/bin/api", "Did you mean `ExecStart=`?", "ExecStart"),
        ("Enviroment=A=1", "Did you mean `Environment=`?", "Environment"),
        ("limitnofile=65536", "Did you mean `LimitNOFILE=`?", "LimitNOFILE"),
        ("RestartSecs=5", "Did you mean `RestartSec=`?", "RestartSec"),
        ("StandardOut=journal", "Did you mean `StandardOutput=`?", None),  # StandardInput= is as close
        ("Frobnicate=yes", "Unknown key `Frobnicate=` in [Service]: systemd ignores this line.", None),
        ("StartLimitIntervalSec=60", "belongs in [Unit]", None),  # only [Unit] has it (Service has the old name)
        ("WantedBy=multi-user.target", "belongs in [Install]", None),
        ("ListenStream=8080", "belongs in [Socket]", None),
    ],
)
def test_unknown_keys_name_the_likely_one(line, message, fix):
    unit = SERVICE.replace("Restart=on-failure", f"Restart=on-failure\n{line}")
    (f,) = [f for f in findings(unit, "api.service") if f.rule == "SD013"]
    assert message in f.message and at(unit, f) == line.split("=")[0]
    assert (f.fix.edits[0].new_text if f.fix else None) == fix
    if f.fix:
        assert "SD013" not in rules_of(apply_fix(unit, f.fix), "api.service")


SERVICE = """\
[Unit]
Description=API
After=network-online.target
Wants=network-online.target
StartLimitIntervalSec=60

[Service]
User=api
ExecStart=/usr/bin/api
Restart=on-failure
NoNewPrivileges=yes
ProtectSystem=strict
PrivateTmp=yes

[Install]
WantedBy=multi-user.target
"""


def test_keys_systemd_knows_stay_quiet():
    # deprecated names systemd still reads, vendor X- keys and sections, newer (v254+) keys
    legacy = SERVICE.replace(
        "Restart=on-failure",
        "Restart=on-failure\nStartLimitInterval=10\nStartLimitBurst=3\nMemoryLimit=1G\nCPUShares=512\n"
        "PermissionsStartOnly=true\nX-Team=payments\nRestartSteps=5\nRestartMaxDelaySec=1min\nMemoryKSM=yes",
    ) + "[X-Fleet]\nMachineOf=db.service\n"
    assert "SD013" not in rules_of(legacy, "api.service")
    sock = "[Unit]\nDescription=s\n[Socket]\nListenStream=/run/api.sock\nSocketMode=0660\nAccept=no\nUser=api\n"
    sock += "[Install]\nWantedBy=sockets.target\n"
    assert "SD013" not in rules_of(sock, "api.socket")
    for path, unit in (
        ("data.mount", "[Mount]\nWhat=/dev/sdb1\nWhere=/data\nType=ext4\nOptions=noatime\nLimitNOFILE=1\n"),
        ("data.automount", "[Automount]\nWhere=/data\nTimeoutIdleSec=300\n"),
        ("jobs.slice", "[Slice]\nCPUQuota=50%\nMemoryMax=2G\n"),
        ("spool.path", "[Path]\nPathChanged=/var/spool/x\nUnit=x.service\nMakeDirectory=yes\n"),
        ("swapfile.swap", "[Swap]\nWhat=/swapfile\nPriority=10\n"),
        ("app.target", "[Unit]\nDescription=App\nRequires=a.service\n[Install]\nWantedBy=multi-user.target\n"),
    ):
        assert "SD013" not in rules_of("[Unit]\nDescription=x\n" + unit, path), path


def test_sections_depend_on_the_unit_type():
    with_socket = SERVICE + "[Socket]\nListenStream=80\n"
    (f,) = [f for f in findings(with_socket, "api.service") if f.rule == "SD013"]
    assert at(with_socket, f) == "[Socket]" and ".socket" in f.message
    # with no telling file name, the sections decide what the unit is: both are taken as meant
    assert "SD013" not in rules_of(with_socket, "")
    typo = SERVICE.replace("[Service]", "[Servce]")
    (f,) = [f for f in findings(typo, "api.service") if f.rule == "SD013"]
    assert "[Service]" in f.message and f.fix is not None
    assert "SD013" not in rules_of(apply_fix(typo, f.fix), "api.service")
    lower = SERVICE.replace("[Install]", "[install]")
    assert "SD013" in rules_of(lower, "api.service")  # section names are case-sensitive


def test_drop_ins_and_templates_are_checked_for_names():
    drop_in = "[Service]\nEnviroment=LOG_LEVEL=debug\n"
    (f,) = findings(drop_in, "/etc/systemd/system/api.service.d/override.conf")
    assert f.rule == "SD013" and at(drop_in, f) == "Enviroment"
    assert findings("[Service]\nEnvironment=LOG_LEVEL=debug\n", "api.service.d/override.conf") == []
    assert rules_of("[Serivce]\nUser=api\n", "api.service.d/override.conf") == {"SD013"}
    template = SERVICE.replace("ExecStart=/usr/bin/api", "ExecStart=@bindir@/api --instance %i")
    assert "SD013" not in rules_of(template, "api@.service.in")


def test_files_that_are_no_units_are_not_judged_as_units():
    dbus = "[D-BUS Service]\nName=org.example.Api\nExec=/usr/bin/api\nUser=root\nSystemdService=api.service\n"
    assert findings(dbus, "/usr/share/dbus-1/system-services/org.example.Api.service") == []
    quadlet = (
        "[Unit]\nDescription=Web\n[Container]\nImage=docker.io/library/nginx:1.27\nPublishPort=8080:80\n"
        "[Service]\nRestart=always\nTimeoutStartSec=900\n[Install]\nWantedBy=default.target\n"
    )
    assert findings(quadlet, "~/.config/containers/systemd/web.container") == []  # quadlet writes ExecStart=
    assert rules_of(quadlet.replace("Restart=", "Restrat="), "web.container") == {"SD013"}
    network = "[Match]\nName=eth0\n[Network]\nDHCP=yes\n[Route]\nGateway=10.0.0.1\n"
    assert analyse(network, "/etc/systemd/network/10-eth0.network", "systemd").findings == []
    assert analyse("[Journal]\nStorage=persistent\n", "journald.conf", "systemd").findings == []


@pytest.mark.parametrize(
    "service_section,refused",
    [
        ("ExecStop=/usr/bin/cleanup\n", False),  # no Type=: oneshot, which needs no ExecStart=
        ("Type=oneshot\nRemainAfterExit=yes\n", False),
        ("Type=simple\nExecStop=/usr/bin/cleanup\n", True),
        ("Slice=-.slice\n", True),  # nothing to run and no SuccessAction=
    ],
)
def test_exec_start_is_required_as_systemd_requires_it(service_section, refused):
    unit = "[Unit]\nDescription=x\n[Service]\n" + service_section
    assert ("SD010" in rules_of(unit, "x.service")) is refused
    exit_unit = "[Unit]\nDescription=Exit\nSuccessAction=exit-force\n[Service]\nSlice=-.slice\n"
    assert "SD010" not in rules_of(exit_unit, "systemd-exit.service")


def test_a_masked_or_empty_unit_has_nothing_to_report():
    """``systemctl mask`` links the unit to /dev/null: an editor opening it sees an empty file."""
    assert findings("", "/lib/systemd/system/x11-common.service") == []
    assert findings("# placeholder, see the .d/ drop-ins\n\n", "app.service") == []


BUS_ACTIVATED = """\
[Unit]
Description=Hostname Service

[Service]
BusName=org.freedesktop.hostname1
ExecStart=/lib/systemd/systemd-hostnamed
DynamicUser=yes
"""


def test_services_started_on_demand_need_no_restart_policy():
    assert "SD001" not in rules_of(BUS_ACTIVATED, "systemd-hostnamed.service")
    shell = "[Service]\nType=idle\nExecStart=-/lib/systemd/systemd-sulogin-shell emergency\nUser=root\n"
    assert "SD001" not in rules_of(shell, "emergency.service")
    # enabled at boot, it is a daemon like any other: after a crash nothing calls it back up
    enabled = BUS_ACTIVATED + "\n[Install]\nWantedBy=multi-user.target\n"
    assert "SD001" in rules_of(enabled, "hostnamed.service")

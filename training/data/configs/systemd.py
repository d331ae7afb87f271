"""systemd service units: parametrised long-running services, and their defects."""

from __future__ import annotations

import random

from .doc import Defect, Doc, Injector, Invented, Line

KIND = "systemd"

_SERVICES = [
    ("queue-consumer", "Queue consumer"),
    ("metrics-agent", "Metrics agent"),
    ("api-gateway", "API gateway"),
    ("backup-runner", "Backup runner"),
    ("search-node", "Search node"),
    ("ws-relay", "WebSocket relay"),
    ("license-server", "License server"),
    ("pdf-render", "PDF renderer"),
    ("mqtt-bridge", "MQTT bridge"),
]


def base(rng: random.Random) -> tuple[Doc, str]:
    name, desc = rng.choice(_SERVICES)
    user = rng.choice([name.split("-")[0], "svc-" + name.split("-")[0], name])
    lang = rng.choice(["go", "python", "java", "node"])
    if lang == "go":
        exec_start = f"/usr/local/bin/{name} --config /etc/{name}/config.yaml"
    elif lang == "python":
        exec_start = (
            f"/opt/{name}/venv/bin/python -m {name.replace('-', '_')} --port {rng.choice([8000, 8081, 9100])}"
        )
    elif lang == "java":
        exec_start = f"/usr/bin/java -Xms{rng.choice([256, 512])}m -Xmx{rng.choice([1, 2, 4])}g -jar /opt/{name}/{name}.jar"
    else:
        exec_start = f"/usr/bin/node /opt/{name}/dist/main.js"
    typ = "notify" if lang == "go" and rng.random() < 0.4 else rng.choice(["simple", "exec"])
    lines: list = [("[Unit]", "unit"), (f"Description={desc}", "desc")]
    if rng.random() < 0.5:
        lines.append((f"Documentation=https://wiki.internal.example/runbooks/{name}", ""))
    lines += [("After=network-online.target", "after"), ("Wants=network-online.target", "wants")]
    if rng.random() < 0.5:
        lines += [("StartLimitIntervalSec=300", ""), ("StartLimitBurst=5", "")]
    lines += [
        "",
        ("[Service]", "service"),
        (f"Type={typ}", "type"),
        (f"User={user}", "user"),
        (f"Group={user}", "user"),
        (f"WorkingDirectory=/opt/{name}", ""),
    ]
    if rng.random() < 0.6:
        lines.append((f"EnvironmentFile=/etc/{name}/{name}.env", "envfile"))
    lines += [(f"ExecStart={exec_start}", "execstart")]
    if rng.random() < 0.4:
        lines.append(("ExecReload=/bin/kill -HUP $MAINPID", ""))
    lines += [
        (f"Restart={rng.choice(['on-failure', 'always'])}", "restart"),
        (f"RestartSec={rng.choice([2, 5, 10])}", "restartsec"),
        (f"TimeoutStopSec={rng.choice([20, 30, 60])}", ""),
        (f"LimitNOFILE={rng.choice([65536, 131072, 1048576])}", "nofile"),
        ("NoNewPrivileges=yes", "nnp"),
        ("ProtectSystem=strict", "protectsystem"),
        ("ProtectHome=yes", ""),
        ("PrivateTmp=yes", "privatetmp"),
        (f"ReadWritePaths=/var/lib/{name}", ""),
        "",
        ("[Install]", "install"),
        ("WantedBy=multi-user.target", "wantedby"),
    ]
    path = rng.choice(
        [f"/etc/systemd/system/{name}.service", f"deploy/systemd/{name}.service", f"{name}.service"]
    )
    return Doc(lines), path


def _no_restart(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("restart")
    doc.remove("restartsec")
    line = doc.get("service")
    return Defect(
        "missing-restart",
        line,
        "[Service]",
        "The [Service] section has no Restart=, so the default `Restart=no` leaves the service dead after a crash",
        "add `Restart=on-failure` and `RestartSec=5`.",
    )


def _no_user(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("user")
    line = doc.get("service")
    return Defect(
        "runs-as-root",
        line,
        "[Service]",
        "The [Service] section has no User= (or DynamicUser=), so ExecStart runs as root",
        "create a system user (`useradd --system`) and add `User=` and `Group=` (or `DynamicUser=yes`).",
    )


def _env_secret(doc: Doc, rng: random.Random) -> Defect:
    key = rng.choice(["DB_PASSWORD", "API_KEY", "AWS_SECRET_ACCESS_KEY", "BROKER_PASSWORD"])
    value = rng.choice(["Tr0ub4dor&3", "9c2f7a61e0b84d", "correct-horse-battery", "s3cret!"])
    anchor = doc.find("envfile") or doc.get("user")
    line = Line(f"Environment={key}={value}", "envsecret")
    doc.insert_after(anchor, [line])
    return Defect(
        "secret-in-unit",
        line,
        key,
        f"The secret {key} is in an Environment= line; unit files are world-readable and `systemctl show` prints it to any local user",
        "move it to a root-only (0600) EnvironmentFile= or pass it with `LoadCredential=` and read it from $CREDENTIALS_DIRECTORY.",
    )


def _network_target(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("wants")
    line = doc.get("after")
    line.text = "After=network.target"
    return Defect(
        "network-not-online",
        line,
        "After=network.target",
        "`After=network.target` does not wait for the network to be configured, so a service that connects at start-up fails at boot",
        "use `After=network-online.target` together with `Wants=network-online.target`.",
    )


def _restart_loop(doc: Doc, rng: random.Random) -> Defect:
    doc.get("restart").text = "Restart=always"
    line = doc.get("restartsec")
    line.text = "RestartSec=0"
    return Defect(
        "restart-loop",
        line,
        "RestartSec=0",
        "`RestartSec=0` restarts a crashing service immediately, so it exhausts the start rate limit (5 starts in 10 s by default) and systemd gives up on it",
        "use `RestartSec=5` or more (and tune StartLimitIntervalSec/StartLimitBurst if needed).",
    )


def _killmode(doc: Doc, rng: random.Random) -> Defect:
    anchor = doc.get("restartsec")
    line = Line("KillMode=none", "killmode")
    doc.insert_after(anchor, [line])
    return Defect(
        "killmode-none",
        line,
        "KillMode=none",
        "`KillMode=none` makes systemd leave the service's processes running on stop or restart (deprecated), so old instances pile up",
        "remove it (default `control-group`) or use `KillMode=mixed`.",
    )


def _forking(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("type")
    line.text = "Type=forking"
    return Defect(
        "wrong-service-type",
        line,
        "Type=forking",
        "`Type=forking` expects ExecStart to fork and exit, but this process stays in the foreground, so the start times out after TimeoutStartSec (90 s) and is killed",
        "use `Type=exec` (or `Type=notify` if it calls sd_notify).",
    )


def _no_install(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("wantedby")
    line = doc.get("install")
    return Defect(
        "missing-wantedby",
        line,
        "[Install]",
        "The [Install] section has no WantedBy=, so `systemctl enable` has nothing to link and the service does not start at boot",
        "add `WantedBy=multi-user.target`.",
    )


INJECTORS = [
    Injector("missing-restart", ("restart", "service"), _no_restart),
    Injector("runs-as-root", ("user", "execstart"), _no_user),
    Injector("secret-in-unit", ("user",), _env_secret),
    Injector("network-not-online", ("after", "wants"), _network_target),
    Injector("restart-loop", ("restart", "restartsec"), _restart_loop),
    Injector("killmode-none", ("restartsec",), _killmode),
    Injector("wrong-service-type", ("type",), _forking),
    Injector("missing-wantedby", ("wantedby", "install"), _no_install),
]

INVENTED = [
    Invented(
        "wantedby",
        "system services must use `WantedBy=default.target`; multi-user.target is for user units",
        "change it to `WantedBy=default.target`.",
    ),
    Invented(
        "privatetmp",
        "PrivateTmp=yes deletes /tmp for every other service on the host when this one stops",
        "set `PrivateTmp=no`.",
    ),
    Invented(
        "nofile",
        "LimitNOFILE above 4096 exceeds the kernel maximum and the unit fails to start",
        "use `LimitNOFILE=4096`.",
    ),
    Invented(
        "protectsystem",
        "ProtectSystem=strict overrides ReadWritePaths=, so the service cannot write its state",
        "use `ProtectSystem=false`.",
    ),
    Invented(
        "nnp", "NoNewPrivileges=yes prevents the service from binding any port", "remove NoNewPrivileges."
    ),
]

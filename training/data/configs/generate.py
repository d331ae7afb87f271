"""Seeded generation of config review examples: a base file, 0-3 injected defects, the task as the
editor sends it (with or without static findings) and the reference answer."""

from __future__ import annotations

import random
from dataclasses import dataclass

from aletheia.tasks import CONFIG_KIND_NAMES, ConfigReviewTask, Finding, format_config_review_answer

from . import compose, dockerfile, kubernetes, nginx, systemd
from .doc import Defect, Doc, Invented

KINDS = {m.KIND: m for m in (dockerfile, kubernetes, compose, nginx, systemd)}

# Rules in rough order of severity, used to pick what the summary leads with.
_SEVERITY = [
    "privileged-container",
    "docker-socket-mount",
    "hostpath-volume",
    "secret-in-image",
    "secret-in-env",
    "secret-in-unit",
    "alias-path-traversal",
    "curl-pipe-shell",
    "runs-as-root",
    "no-root-user",
    "privilege-escalation",
    "host-network",
    "port-exposed-all-interfaces",
    "weak-tls-protocols",
    "weak-ciphers",
    "autoindex-on",
    "service-port-mismatch",
    "job-restart-policy",
    "wrong-service-type",
    "db-without-volume",
    "world-writable",
    "missing-restart",
    "missing-restart-policy",
    "restart-loop",
    "missing-resources",
    "missing-probes",
    "depends-on-not-healthy",
    "network-not-online",
    "missing-wantedby",
    "killmode-none",
    "no-https-redirect",
    "proxy-host-header",
    "unlimited-body-size",
    "cronjob-overlap",
    "image-latest-tag",
    "shell-form-cmd",
    "add-instead-of-copy",
    "apt-no-cleanup",
    "copy-before-install",
    "server-tokens-on",
]

_CLEAN_SUMMARY = {
    "dockerfile": [
        "The base image is pinned, the final stage runs as an unprivileged user and the command uses exec form.",
        "Pinned base image, a non-root runtime user and an exec-form command: nothing to change.",
    ],
    "kubernetes": [
        "Images are pinned, the pod runs as non-root without privilege escalation and resources are declared.",
        "Pinned image, restrictive securityContext and secrets read from a Secret: nothing to change.",
    ],
    "compose": [
        "Images are pinned, the database password comes from a secret and Postgres keeps its data in a named volume.",
        "Restart policies, pinned images, a healthcheck-gated depends_on and file-based secrets: nothing to change.",
    ],
    "nginx": [
        "Only TLS 1.2 and 1.3 are enabled, HTTP redirects to HTTPS and the proxy forwards Host and X-Forwarded-* headers.",
        "Modern TLS settings, HSTS, hidden server version and correct proxy headers: nothing to change.",
    ],
    "systemd": [
        "The unit runs as a dedicated user, restarts on failure, waits for network-online and is sandboxed.",
        "Dedicated user, Restart= with a back-off, ProtectSystem=strict and a WantedBy= target: nothing to change.",
    ],
}


# Which static-analyser rules (lsp/RULES.md) report each injected defect; answers tag a finding with the
# analyser's rule id when the editor sent that finding, exactly as the editor labels it.
STATIC_RULES: dict[str, tuple[str, ...]] = {
    "image-latest-tag": ("DF001", "DC002", "K8S003"),
    "no-root-user": ("DF002",),
    "add-instead-of-copy": ("DF006",),
    "apt-no-cleanup": ("DF004", "DF003"),
    "secret-in-image": ("DF011",),
    "shell-form-cmd": ("DF010",),
    "secret-in-env": ("DC004", "K8S011"),
    "docker-socket-mount": ("DC006",),
    "missing-restart-policy": ("DC005",),
    "host-network": ("DC007", "K8S007"),
    "port-exposed-all-interfaces": ("DC003",),
    "privileged-container": ("DC001", "K8S004", "K8S006"),  # K8S006: escalation no longer set to false
    "runs-as-root": ("K8S005", "SD002"),
    "hostpath-volume": ("K8S008",),
    "missing-probes": ("K8S010", "K8S009"),
    "privilege-escalation": ("K8S006",),
    "missing-resources": ("K8S001", "K8S002"),
    "server-tokens-on": ("NGX001",),
    "alias-path-traversal": ("NGX006",),
    "autoindex-on": ("NGX003",),
    "proxy-host-header": ("NGX007",),
    "weak-tls-protocols": ("NGX002",),
    "weak-ciphers": ("NGX008",),
    "wrong-service-type": ("SD007",),
    "missing-restart": ("SD001",),
    "missing-wantedby": ("SD008",),
    "secret-in-unit": ("SD012",),
}


@dataclass(frozen=True)
class StaticResult:
    line: int  # 1-based
    rule: str
    severity: str
    message: str


def static_analysis(text: str, path: str) -> list[StaticResult]:
    """The language server's static findings for a file, as the editor would send them."""
    from lsp.analysers import analyse  # the editor's own analyser: pure functions, no LSP dependency

    return [
        StaticResult(f.span.line + 1, f.rule, f.severity, f.message)
        for f in analyse(text, path=path).findings
        if not f.rule.startswith("GEN")
    ][:MAX_STATIC_FINDINGS]


@dataclass
class ConfigSample:
    kind: str
    seed: int
    path: str
    doc: Doc
    defects: list[Defect]
    findings: list[Finding]  # the reference answer's findings, sorted by line
    static: tuple[Finding, ...]
    summary: str
    full_findings: list[Finding]  # the same findings, each with its generator rule id (for summaries)
    tags: dict[str, str]  # finding message -> analyser rule id shown in the answer (when the editor sent it)
    notes: list[str]  # analyser rule ids reported away from any defect (informational)

    @property
    def content(self) -> str:
        return self.doc.text()

    def task(self) -> ConfigReviewTask:
        return ConfigReviewTask(
            kind=self.kind, content=self.content, path=self.path, static_findings=self.static
        )

    def answer(self) -> str:
        return format_config_review_answer(self.findings, self.summary)

    def invented_candidates(self) -> list[tuple[int, Invented]]:
        module = KINDS[self.kind]
        out = []
        for inv in module.INVENTED:
            line = self.doc.find(inv.tag)
            if line is not None:
                out.append((self.doc.number(line), inv))
        return out


_LABELS = {
    "image-latest-tag": "unpinned image tag",
    "no-root-user": "root runtime user",
    "runs-as-root": "root user",
    "add-instead-of-copy": "ADD used for local files",
    "apt-no-cleanup": "unclean apt-get layer",
    "secret-in-image": "secret baked into the image",
    "secret-in-env": "plain-text secret",
    "secret-in-unit": "secret in the unit file",
    "curl-pipe-shell": "unverified curl-to-shell install",
    "shell-form-cmd": "shell-form command",
    "world-writable": "world-writable application directory",
    "privileged-container": "privileged container",
    "docker-socket-mount": "Docker socket mount",
    "hostpath-volume": "hostPath volume",
    "host-network": "host networking",
    "port-exposed-all-interfaces": "database port published on all interfaces",
    "weak-tls-protocols": "legacy TLS protocols",
    "weak-ciphers": "weak cipher list",
    "autoindex-on": "directory listing",
    "alias-path-traversal": "alias path traversal",
    "service-port-mismatch": "Service/container port mismatch",
    "job-restart-policy": "invalid Job restartPolicy",
    "wrong-service-type": "wrong service Type=",
    "db-without-volume": "database without a volume",
    "missing-restart": "missing Restart=",
    "missing-restart-policy": "missing restart policy",
    "restart-loop": "zero restart delay",
    "missing-resources": "missing resource requests",
    "missing-probes": "missing probes",
    "depends-on-not-healthy": "depends_on without a health condition",
    "network-not-online": "network.target ordering",
    "missing-wantedby": "missing WantedBy=",
    "killmode-none": "KillMode=none",
    "no-https-redirect": "missing HTTPS redirect",
    "proxy-host-header": "missing Host header",
    "unlimited-body-size": "unlimited request body size",
    "cronjob-overlap": "overlapping CronJob runs",
    "copy-before-install": "source copied before the dependency install",
    "privilege-escalation": "privilege escalation allowed",
    "server-tokens-on": "exposed server version",
}


def _label(rule: str) -> str:
    return _LABELS.get(rule, rule.replace("-", " "))


def summarise(kind: str, findings: list[Finding], rng: random.Random) -> str:
    if not findings:
        return rng.choice(_CLEAN_SUMMARY[kind])
    worst = min(findings, key=lambda f: _SEVERITY.index(f.rule) if f.rule in _SEVERITY else len(_SEVERITY))
    name = CONFIG_KIND_NAMES[kind]
    if len(findings) == 1:
        return rng.choice(
            [
                f"One defect: the {_label(worst.rule)} on line {worst.line}.",
                f"The {name} is otherwise sound; fix the {_label(worst.rule)} on line {worst.line}.",
            ]
        )
    n = len(findings)
    return rng.choice(
        [
            f"{n} defects; the most serious is the {_label(worst.rule)} on line {worst.line}, fix that first.",
            f"{n} problems in this {name}, led by the {_label(worst.rule)} (line {worst.line}).",
            f"Fix line {worst.line} ({_label(worst.rule)}) first; "
            + ("the other one is lower risk." if n == 2 else f"the other {n - 1} are lower risk."),
        ]
    )


# The model's context is 1024 tokens (config text runs at about 2.6 characters per token, indented YAML a
# little more): examples whose prompt plus answer exceed this many characters are regenerated from the next
# attempt's seed.
MAX_CHARS = {"kubernetes": 2700}
MAX_STATIC_FINDINGS = 25  # as many as the editor sends (lsp.commands.MAX_STATIC_FINDINGS)
DEFAULT_MAX_CHARS = 2250


def notes_sentence(notes: list[str]) -> str:
    if not notes:
        return ""
    verb = "note is" if len(notes) == 1 else "notes are"
    return f" The analyser's {' and '.join(notes)} {verb} informational, not a defect here."


def generate(kind: str, seed: int) -> ConfigSample:
    budget = MAX_CHARS.get(kind, DEFAULT_MAX_CHARS)
    for attempt in range(50):
        sample = _generate(kind, seed, attempt)
        if len(sample.task().user_prompt()) + len(sample.answer()) <= budget:
            return sample
    raise RuntimeError(f"no {kind} example within {budget} characters for seed {seed}")


def _generate(kind: str, seed: int, attempt: int) -> ConfigSample:
    module = KINDS[kind]
    rng = random.Random(f"{kind}:{seed}" if attempt == 0 else f"{kind}:{seed}:{attempt}")
    doc, path = module.base(rng)
    r = rng.random()
    wanted = 0 if r < 0.1 else 1 if r < 0.45 else 2 if r < 0.82 else 3
    by_rule: dict[str, list] = {}
    for inj in module.INJECTORS:
        by_rule.setdefault(inj.rule, []).append(inj)
    rules = sorted(by_rule)
    rng.shuffle(rules)
    defects: list[Defect] = []
    for rule in rules:
        if len(defects) >= wanted:
            break
        options = [inj for inj in by_rule[rule] if inj.applies(doc)]
        if options:
            defects.append(rng.choice(options).apply(doc, rng))
    # A later edit may remove or rewrite an earlier defect's line: keep only defects still present.
    alive = [d for d in defects if any(ln is d.line for ln in doc.lines) and d.token in d.line.text]
    numbered = sorted(((doc.number(d.line), d) for d in alive), key=lambda p: p[0])
    # Like the editor, about half of the requests carry the static analyser's findings (all of them).
    static: tuple[Finding, ...] = ()
    reported: dict[str, str] = {}  # defect message -> the analyser rule id that reported it
    notes: list[str] = []  # informational analyser findings that are not defects here
    if rng.random() < 0.5:
        analysed = static_analysis(doc.text(), path)
        static = tuple(Finding(f.line, f.message, rule=f.rule) for f in analysed)
        matched: set[tuple[int, str]] = set()
        for n, d in numbered:
            ids = [f.rule for f in analysed if f.line == n and f.rule in STATIC_RULES.get(d.rule, ())]
            matched.update((n, rule_id) for rule_id in ids)
            if ids:
                reported[d.message] = ids[0]
        explained = {rule_id for _, d in numbered for rule_id in STATIC_RULES.get(d.rule, ())}
        notes = sorted(
            {f.rule for f in analysed if (f.line, f.rule) not in matched and f.rule not in explained}
        )
    findings = [Finding(n, d.message, d.fix, reported.get(d.message, "")) for n, d in numbered]
    summary_findings = [Finding(n, d.message, d.fix, d.rule) for n, d in numbered]
    summary = summarise(kind, summary_findings, rng) + notes_sentence(notes)
    return ConfigSample(
        kind, seed, path, doc, alive, findings, static, summary, summary_findings, reported, notes
    )

"""Clean, parametrised Kubernetes manifests: Deployments (optionally with a Service), StatefulSets and
CronJobs whose lines are tagged for the injectors in ``kubernetes.py``."""

from __future__ import annotations

import random

from .doc import Doc

_NAMES = [
    "orders-api",
    "payments",
    "session-store",
    "thumbnailer",
    "audit-log",
    "feature-flags",
    "geo-lookup",
    "mailer",
    "quota-service",
    "ingest",
    "pricing",
    "tenant-admin",
    "event-router",
    "kv-cache",
]
_REGISTRIES = [
    "registry.acme.io/platform",
    "ghcr.io/northwind",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
    "europe-docker.pkg.dev/globex-prod/apps",
    "harbor.internal.example/team-a",
]


def _container(rng: random.Random, name: str, image: str, port: int | None, ind: str, probes: bool) -> list:
    i = ind
    out: list = [(f"{i}- name: {name}", "container"), (f"{i}  image: {image}", "image")]
    if rng.random() < 0.5:
        out.append((f"{i}  imagePullPolicy: IfNotPresent", "pullpolicy"))
    if port:
        out += [
            (f"{i}  ports:", ""),
            (f"{i}    - containerPort: {port}", "containerport"),
            (f"{i}      name: http", ""),
        ]
    out += [
        (f"{i}  env:", "env"),
        (f"{i}    - name: LOG_LEVEL", ""),
        (f"{i}      value: {rng.choice(['info', 'warn', 'debug'])}", ""),
    ]
    key = rng.choice(["DB_PASSWORD", "API_TOKEN", "REDIS_PASSWORD", "SMTP_PASSWORD"])
    out += [
        (f"{i}    - name: {key}", "secretname"),
        (f"{i}      valueFrom:", "secretref"),
        (f"{i}        secretKeyRef:", "secretref"),
        (f"{i}          name: {name}-credentials", "secretref"),
        (f"{i}          key: {key.lower().replace('_', '-')}", "secretref"),
    ]
    cpu = rng.choice(["100m", "250m", "500m", "1"])
    mem = rng.choice([128, 256, 512, 1024])
    out += [
        (f"{i}  resources:", "res"),
        (f"{i}    requests:", "res"),
        (f"{i}      cpu: {cpu}", "res"),
        (f"{i}      memory: {mem}Mi", "res"),
        (f"{i}    limits:", "res"),
        (f"{i}      memory: {mem * 2}Mi", "res"),
    ]
    if probes and port:
        out += [
            (f"{i}  readinessProbe:", "probe"),
            (f"{i}    httpGet:", "probe"),
            (f"{i}      path: /readyz", "probe"),
            (f"{i}      port: http", "probe"),
            (f"{i}    periodSeconds: {rng.choice([5, 10])}", "probe"),
            (f"{i}  livenessProbe:", "probe"),
            (f"{i}    httpGet:", "probe"),
            (f"{i}      path: /healthz", "probe"),
            (f"{i}      port: http", "probe"),
            (f"{i}    initialDelaySeconds: {rng.choice([10, 15, 30])}", "probe"),
        ]
    out += [
        (f"{i}  securityContext:", "sc"),
        (f"{i}    runAsNonRoot: true", "nonroot"),
        (f"{i}    allowPrivilegeEscalation: false", "ape"),
        (f"{i}    readOnlyRootFilesystem: true", "rofs"),
        (f"{i}  volumeMounts:", ""),
        (f"{i}    - name: tmp", ""),
        (f"{i}      mountPath: /tmp", "mounttmp"),
    ]
    return out


def _meta(name: str, ns: str, kind: str, api: str) -> list:
    return [
        (f"apiVersion: {api}", "api"),
        (f"kind: {kind}", "kind"),
        ("metadata:", ""),
        (f"  name: {name}", ""),
        (f"  namespace: {ns}", ""),
    ]


def _deployment(rng, name, ns, image, port, kind="Deployment") -> list:
    lines = _meta(name, ns, kind, "apps/v1") + [("spec:", "")]
    if kind == "StatefulSet":
        lines += [(f"  serviceName: {name}-headless", "")]
    lines += [
        (f"  replicas: {rng.choice([2, 3, 4, 6])}", "replicas"),
        ("  selector:", ""),
        ("    matchLabels:", ""),
        (f"      app.kubernetes.io/name: {name}", ""),
        ("  template:", ""),
        ("    metadata:", ""),
        ("      labels:", ""),
        (f"        app.kubernetes.io/name: {name}", ""),
        ("    spec:", "podspec"),
    ]
    if rng.random() < 0.5:
        lines += [
            (f"      serviceAccountName: {name}", ""),
            ("      automountServiceAccountToken: false", ""),
        ]
    lines += [("      containers:", "")]
    lines += _container(rng, name, image, port, "        ", probes=True)
    if kind == "StatefulSet":
        lines += [("            - name: data", ""), (f"              mountPath: /var/lib/{name}", "")]
    lines += [("      volumes:", ""), ("        - name: tmp", ""), ("          emptyDir: {}", "emptydir")]
    if kind == "StatefulSet":
        lines += [
            ("  volumeClaimTemplates:", ""),
            ("    - metadata:", ""),
            ("        name: data", ""),
            ("      spec:", ""),
            ('        accessModes: ["ReadWriteOnce"]', ""),
            ("        resources:", ""),
            ("          requests:", ""),
            (f"            storage: {rng.choice([10, 20, 50])}Gi", ""),
        ]
    return lines


def _service(rng, name, ns, port, headless: bool) -> list:
    target = str(port) if rng.random() < 0.5 else "http"
    lines = [
        "---",
        ("apiVersion: v1", ""),
        ("kind: Service", ""),
        ("metadata:", ""),
        (f"  name: {name}{'-headless' if headless else ''}", ""),
        (f"  namespace: {ns}", ""),
        ("spec:", ""),
    ]
    if headless:
        lines.append(("  clusterIP: None", ""))
    lines += [
        ("  selector:", ""),
        (f"    app.kubernetes.io/name: {name}", ""),
        ("  ports:", ""),
        ("    - name: http", ""),
        (f"      port: {rng.choice([80, port])}", ""),
        (f"      targetPort: {target}", "targetport"),
    ]
    return lines


def _cronjob(rng, name, ns, image) -> list:
    sched = rng.choice(["*/15 * * * *", "0 3 * * *", "30 1 * * 0", "0 */6 * * *"])
    lines = _meta(name, ns, "CronJob", "batch/v1") + [
        ("spec:", ""),
        (f'  schedule: "{sched}"', "schedule"),
        ("  concurrencyPolicy: Forbid", "concurrency"),
        (f"  successfulJobsHistoryLimit: {rng.choice([1, 3])}", ""),
        ("  failedJobsHistoryLimit: 3", ""),
        ("  jobTemplate:", ""),
        ("    spec:", ""),
        (f"      backoffLimit: {rng.choice([2, 3, 4])}", ""),
        (f"      activeDeadlineSeconds: {rng.choice([600, 1800, 3600])}", ""),
        ("      template:", ""),
        ("        spec:", "podspec"),
        ("          restartPolicy: OnFailure", "restartpolicy"),
        ("          containers:", ""),
    ]
    lines += _container(rng, name, image, None, "            ", probes=False)
    lines += [
        ("          volumes:", ""),
        ("            - name: tmp", ""),
        ("              emptyDir: {}", "emptydir"),
    ]
    return lines


def base(rng: random.Random) -> tuple[Doc, str]:
    name = rng.choice(_NAMES)
    ns = rng.choice(["prod", "staging", "payments", "platform", "default", "data"])
    version = f"{rng.randint(1, 4)}.{rng.randint(0, 19)}.{rng.randint(0, 9)}"
    image = f"{rng.choice(_REGISTRIES)}/{name}:{version}"
    port = rng.choice([8080, 8000, 3000, 9090, 5000])
    shape = rng.choice(["deploy", "deploy+svc", "deploy+svc", "sts", "cron"])
    if shape == "cron":
        lines = _cronjob(rng, name, ns, image)
    elif shape == "sts":
        lines = _deployment(rng, name, ns, image, port, "StatefulSet")  # its headless Service lives elsewhere
    else:
        lines = _deployment(rng, name, ns, image, port)
        if shape == "deploy+svc":
            lines += _service(rng, name, ns, port, False)
    path = rng.choice(
        [f"k8s/{name}.yaml", f"deploy/{ns}/{name}.yaml", f"manifests/{name}/{shape.split('+')[0]}.yaml"]
    )
    return Doc(lines), path

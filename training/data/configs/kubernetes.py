"""Kubernetes manifests: defect injectors and false claims (the clean bases are in ``kubernetes_bases``)."""

from __future__ import annotations

import random

from .doc import Defect, Doc, Injector, Invented, Line, indent_of
from .kubernetes_bases import base  # noqa: F401 - part of the kind module's interface

KIND = "kubernetes"

# ------------------------------------------------------------------------------------------ injectors


def _latest(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("image")
    image = line.text.split("image: ", 1)[1]
    repo = image.rsplit(":", 1)[0]
    line.text = line.text.replace(image, f"{repo}:latest")
    return Defect(
        "image-latest-tag",
        line,
        ":latest",
        "The image uses the mutable `latest` tag (and imagePullPolicy IfNotPresent), so nodes can run different builds",
        f"pin an immutable tag or digest, e.g. `{image}`.",
    )


def _no_resources(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("res")
    line = doc.get("container")
    name = line.text.split("name: ", 1)[1]
    return Defect(
        "missing-resources",
        line,
        f"name: {name}",
        f"Container `{name}` declares neither requests nor limits: it runs as QoS BestEffort, is scheduled as if it needed nothing, is evicted first under pressure and may hog the node's memory",
        "add `resources.requests` for cpu and memory and a `limits.memory`.",
    )


def _no_probes(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("probe")
    line = doc.get("container")
    name = line.text.split("name: ", 1)[1]
    return Defect(
        "missing-probes",
        line,
        f"name: {name}",
        f"Container `{name}` has no readiness or liveness probe, so it receives traffic before it is ready and is never restarted when it hangs",
        "add a `readinessProbe` and a `livenessProbe` (e.g. httpGet on /readyz and /healthz).",
    )


def _privileged(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("ape")
    line.text = indent_of(line) + "privileged: true"
    line.tag = "privileged"
    return Defect(
        "privileged-container",
        line,
        "privileged: true",
        "The container runs privileged: it gets all capabilities and access to the host's devices, so a compromise is a node compromise",
        "remove `privileged: true` and set `allowPrivilegeEscalation: false`; add only the specific capability needed.",
    )


def _escalation(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("ape")
    line.text = indent_of(line) + "allowPrivilegeEscalation: true"
    line.tag = "escalation"
    return Defect(
        "privilege-escalation",
        line,
        "allowPrivilegeEscalation: true",
        "`allowPrivilegeEscalation: true` lets processes gain more privileges than their parent (setuid binaries, "
        "file capabilities), undoing runAsNonRoot",
        "set `allowPrivilegeEscalation: false` (required by the restricted Pod Security level).",
    )


def _root(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("nonroot")
    line.text = indent_of(line) + "runAsUser: 0"
    line.tag = "root"
    return Defect(
        "runs-as-root",
        line,
        "runAsUser: 0",
        "`runAsUser: 0` runs the container as root",
        "set `runAsNonRoot: true` and a non-zero `runAsUser` (e.g. 10001).",
    )


def _plain_secret(doc: Doc, rng: random.Random) -> Defect:
    name_line = doc.get("secretname")
    key = name_line.text.split("name: ", 1)[1]
    value = rng.choice(
        ["hunter2-prod", "Sup3rS3cret!", "tok_9f8e7d6c5b4a", "p@ssw0rd2024", "eyJhbGciOiJIUzI1NiJ9.x"]
    )
    ind = indent_of(doc.get("secretref"))
    doc.remove("secretref")
    line = Line(f'{ind}value: "{value}"', "plainsecret")
    doc.insert_after(name_line, [line])
    return Defect(
        "secret-in-env",
        line,
        value,
        f"`{key}` is set as a plain-text value in the manifest, so it is stored in git and readable by anyone who can read the Deployment",
        f"store it in a Secret and use `valueFrom.secretKeyRef` for `{key}`.",
    )


_HOSTPATHS = [
    (
        "/var/run/docker.sock",
        "mounts the Docker socket, which gives full control of the node's container runtime",
    ),
    ("/", "mounts the node's root filesystem"),
    ("/etc", "mounts the node's /etc, including credentials and kubelet config"),
    ("/var/lib/kubelet", "mounts the kubelet's state, including other pods' secrets"),
]


def _hostpath(doc: Doc, rng: random.Random) -> Defect:
    path, why = rng.choice(_HOSTPATHS)
    empty = doc.get("emptydir")
    ind = indent_of(empty)[:-2]
    host = Line(f"{ind}  hostPath:", "hostpath")
    doc.insert_after(empty, [Line(f"{ind}- name: host"), host, Line(f"{ind}    path: {path}")])
    mount = doc.get("mounttmp")
    mind = indent_of(mount)[:-2]
    doc.insert_after(mount, [Line(f"{mind}- name: host"), Line(f"{mind}  mountPath: /host")])
    return Defect(
        "hostpath-volume",
        host,
        "hostPath",
        f"A hostPath volume {why}; a compromised pod escapes to the node",
        "use an emptyDir, a ConfigMap/Secret or a PersistentVolumeClaim instead of hostPath.",
    )


def _host_network(doc: Doc, rng: random.Random) -> Defect:
    spec = doc.get("podspec")
    line = Line(indent_of(spec) + "  hostNetwork: true", "hostnetwork")
    doc.insert_after(spec, [line])
    return Defect(
        "host-network",
        line,
        "hostNetwork: true",
        "`hostNetwork: true` puts the pod in the node's network namespace: it can bind node ports, sniff node traffic and bypass NetworkPolicy",
        "remove `hostNetwork` and expose the port through a Service.",
    )


def _target_port(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("targetport")
    cport = int(doc.get("containerport").text.rsplit(" ", 1)[1])
    wrong = rng.choice([p for p in (80, 8081, 8443, 9000, 3001) if p != cport])
    line.text = indent_of(line) + f"targetPort: {wrong}"
    return Defect(
        "service-port-mismatch",
        line,
        f"targetPort: {wrong}",
        f"The Service sends traffic to targetPort {wrong}, but the container listens on {cport}, so every request fails with connection refused",
        f"set `targetPort: {cport}` (or the named port `http`).",
    )


def _concurrency(doc: Doc, rng: random.Random) -> Defect:
    doc.remove("concurrency")
    line = doc.get("schedule")
    return Defect(
        "cronjob-overlap",
        line,
        "schedule:",
        "The CronJob has no concurrencyPolicy, so it defaults to Allow and a slow run overlaps the next one",
        "add `concurrencyPolicy: Forbid` (or Replace) under `spec`.",
    )


def _restart_always(doc: Doc, rng: random.Random) -> Defect:
    line = doc.get("restartpolicy")
    line.text = indent_of(line) + "restartPolicy: Always"
    return Defect(
        "job-restart-policy",
        line,
        "restartPolicy: Always",
        "A Job's pod template only accepts restartPolicy OnFailure or Never; the API server rejects `Always`",
        "use `restartPolicy: OnFailure` (retries in place) or `Never` (new pod per retry, up to backoffLimit).",
    )


INJECTORS = [
    Injector("image-latest-tag", ("image",), _latest),
    Injector("missing-resources", ("res", "container"), _no_resources),
    Injector("missing-probes", ("probe", "container"), _no_probes),
    Injector("privileged-container", ("ape",), _privileged),
    Injector("runs-as-root", ("nonroot",), _root),
    Injector("privilege-escalation", ("ape",), _escalation),
    Injector("secret-in-env", ("secretname", "secretref"), _plain_secret),
    Injector("hostpath-volume", ("emptydir", "mounttmp"), _hostpath),
    Injector("host-network", ("podspec",), _host_network),
    Injector("service-port-mismatch", ("targetport", "containerport"), _target_port),
    Injector("cronjob-overlap", ("concurrency", "schedule"), _concurrency),
    Injector("job-restart-policy", ("restartpolicy",), _restart_always),
]

INVENTED = [
    Invented("api", "`apps/v1` is deprecated for workloads", "use `apiVersion: extensions/v1beta1`."),
    Invented(
        "replicas",
        "replicas must be an odd number so the pods can elect a leader",
        "use an odd replica count.",
    ),
    Invented(
        "pullpolicy",
        "imagePullPolicy IfNotPresent makes the kubelet pull the image on every container start",
        "set `imagePullPolicy: Never`.",
    ),
    Invented(
        "rofs",
        "readOnlyRootFilesystem prevents the container from writing logs to stdout",
        "set `readOnlyRootFilesystem: false`.",
    ),
    Invented(
        "emptydir",
        "an emptyDir volume is shared between all pods of the Deployment",
        "use a hostPath so each pod gets its own directory.",
    ),
]

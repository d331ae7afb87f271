"""Kubernetes manifest rules (K8S...): every document of a multi-document stream, every pod template in it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from yaml.nodes import MappingNode, Node, SequenceNode

from .common import has_url_credentials, image_tag_problem, is_literal_secret
from .findings import Fix, Span, StaticFinding, TextEdit, finding, rule
from .kubernetes_selectors import PodTemplate, check_services, check_workload_selector, match_services, pod_template
from .yaml_nodes import get, get_pair, is_false, is_true, items, path, scalar, seq, span_of

R_REQUESTS = rule(
    "K8S001",
    "k8s/no-resource-requests",
    "warning",
    "Container without CPU/memory requests: the scheduler cannot place it sensibly.",
)
R_LIMITS = rule(
    "K8S002",
    "k8s/no-memory-limit",
    "warning",
    "Container without a memory limit: one leak can exhaust the node and trigger evictions.",
)
R_IMAGE = rule(
    "K8S003",
    "k8s/mutable-image",
    "warning",
    "Image uses `latest` or no tag: pods on different nodes may run different code.",
)
R_PRIVILEGED = rule(
    "K8S004", "k8s/privileged", "error", "Privileged container: full access to the host's devices and kernel."
)
R_NON_ROOT = rule(
    "K8S005",
    "k8s/run-as-root",
    "warning",
    "Neither runAsNonRoot: true nor a non-zero runAsUser: the container may run as root.",
)
R_ESCALATION = rule(
    "K8S006",
    "k8s/privilege-escalation",
    "warning",
    "allowPrivilegeEscalation is not false: setuid binaries can gain privileges.",
)
R_HOST_NS = rule(
    "K8S007",
    "k8s/host-namespace",
    "warning",
    "hostNetwork/hostPID/hostIPC shares the node's namespaces with the pod.",
)
R_HOST_PATH = rule(
    "K8S008", "k8s/host-path", "warning", "hostPath volume: the pod reads or writes the node's filesystem."
)
R_LIVENESS = rule(
    "K8S009", "k8s/no-liveness-probe", "info", "No livenessProbe: a hung process is never restarted."
)
R_READINESS = rule(
    "K8S010", "k8s/no-readiness-probe", "info", "No readinessProbe: traffic arrives before the app is ready."
)
R_SECRET = rule(
    "K8S011",
    "k8s/secret-in-env",
    "error",
    "A credential (or a URL with a password) is a literal env value: use valueFrom.secretKeyRef.",
)
R_NAMESPACE = rule(
    "K8S012",
    "k8s/no-namespace",
    "info",
    "metadata.namespace is not set: the object lands in whatever namespace kubectl uses.",
)
R_CAPS = rule(
    "K8S013",
    "k8s/dangerous-capabilities",
    "warning",
    "Adds a powerful Linux capability (SYS_ADMIN, NET_ADMIN, ALL, ...).",
)
R_NAME = rule(
    "K8S014", "k8s/no-name", "error", "metadata.name is missing: the API server rejects the object."
)

_TEMPLATE_PATHS = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_BATCH = {"Job", "CronJob"}
_NAMESPACED = {
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
    "Service",
    "ConfigMap",
    "Secret",
    "Ingress",
    "ServiceAccount",
    "Role",
    "RoleBinding",
    "PersistentVolumeClaim",
    "HorizontalPodAutoscaler",
    "NetworkPolicy",
    "PodDisruptionBudget",
    "Endpoints",
    "LimitRange",
    "ResourceQuota",
}
_DANGEROUS_CAPS = {
    "ALL",
    "SYS_ADMIN",
    "NET_ADMIN",
    "SYS_PTRACE",
    "SYS_MODULE",
    "DAC_READ_SEARCH",
    "SYS_RAWIO",
    "BPF",
}


# Component configs, kubeconfigs and kustomize files carry apiVersion/kind but are read by a tool, never
# stored by the API server: they have no metadata.name and no namespace to set.
_CONFIG_GROUP = re.compile(
    r"^(?:[\w.-]*\.)?config\.k8s\.io/|^(?:kubeadm\.k8s\.io|kind\.x-k8s\.io|audit\.k8s\.io"
    r"|apiserver\.k8s\.io|k3d\.io|eksctl\.io|ctlptl\.dev)/"
)


def is_manifest(doc: Node) -> bool:
    return (
        isinstance(doc, MappingNode) and get(doc, "apiVersion") is not None and get(doc, "kind") is not None
    )


def analyse_manifests(docs: list[Node], *, template: bool = False) -> list[StaticFinding]:
    """Findings of every object in ``docs``. ``template``: the documents come from a Helm/Go template
    with its actions blanked out, so only what the text sets is judged, never what it leaves out."""
    objects = [_Object.of(doc) for doc in _objects(docs)]
    pods = [o.pod_template for o in objects if o.pod_template is not None]
    services = [o.doc for o in objects if o.kind == "Service"]
    selected, dangling = match_services(services, pods)
    out: list[StaticFinding] = []
    for o in objects:
        served = o.pod_template is not None and (
            id(o.doc) in selected
            or (not selected and not dangling and _listens(o.pod))
            or bool(o.kind == "StatefulSet" and scalar(path(o.doc, "spec", "serviceName")))  # its own Service
        )
        out += _analyse_object(o, template=template, served=served)
    if not template and not any(o.patch for o in objects):
        out += check_services(dangling, pods, [o.kind for o in objects])
    return out


@dataclass
class _Object:
    doc: Node
    kind: str
    config: bool  # a file a tool reads (kubeconfig, kustomization, component config), not an API object
    pod: Node | None  # the pod spec of a workload
    patch: bool
    pod_template: PodTemplate | None

    @classmethod
    def of(cls, doc: Node) -> _Object:
        kind = scalar(get(doc, "kind")) or ""
        config = _is_config_file(doc, kind)
        pod_path = None if config else _pod_path(doc, kind)
        pod = path(doc, *pod_path) if pod_path else None
        # A strategic-merge patch (kustomize) names the object and the fields it changes: a workload none
        # of whose containers has an image cannot be created, so it is a patch and its gaps are no defects.
        patch = kind in _TEMPLATE_PATHS and not any(get(c, "image") is not None for c in seq(get(pod, "containers")))
        template = pod_template(doc, kind, pod_path) if pod_path else None
        return cls(doc, kind, config, pod, patch, template)


def _objects(docs: list[Node]) -> list[Node]:
    """The objects of ``docs`` in order, the items of ``List`` kinds in their place, each object once (an
    object reached twice through aliases is analysed once)."""
    out: list[Node] = []
    seen: set[int] = set()

    def add(doc: Node) -> None:
        if not is_manifest(doc) or id(doc) in seen:
            return
        seen.add(id(doc))
        if (scalar(get(doc, "kind")) or "").endswith("List"):
            for item in seq(get(doc, "items")):
                add(item)
        else:
            out.append(doc)

    for doc in docs:
        add(doc)
    return out


# Ports that serve no client traffic: a worker that only exposes these needs no readinessProbe.
_SIDE_PORT = re.compile(r"metric|prom|monitor|health|probe|pprof|debug", re.IGNORECASE)


def _listens(pod: Node | None) -> bool:
    """Whether a container of the pod declares a port that serves clients (not only metrics)."""
    return any(
        not _SIDE_PORT.search(scalar(get(p, "name")) or "")
        for c in seq(get(pod, "containers"))
        for p in seq(get(c, "ports"))
    )


def _is_config_file(doc: Node, kind: str) -> bool:
    api = scalar(get(doc, "apiVersion")) or ""
    return bool(_CONFIG_GROUP.match(api)) or (api == "v1" and kind == "Config")


def _pod_path(doc: Node, kind: str) -> tuple[str, ...] | None:
    """Where the pod spec of a workload is: the built-in kinds', and custom workloads' (Argo Rollout,
    OpenShift DeploymentConfig, ...) that embed a pod template at spec.template."""
    tpath = _TEMPLATE_PATHS.get(kind, ("spec", "template", "spec"))
    pod = path(doc, *tpath)
    if not isinstance(pod, MappingNode):
        return None
    if kind not in _TEMPLATE_PATHS and not isinstance(get(pod, "containers"), SequenceNode):
        return None
    return tpath


def _analyse_object(o: _Object, *, template: bool, served: bool) -> list[StaticFinding]:
    """Rules of one object; ``served``: a Service of the file selects its pods (or a StatefulSet names its
    Service), or, with no Service in the file, a container declares a port: it needs a readinessProbe."""
    out: list[StaticFinding] = []
    if o.config:
        return out
    doc, kind, pod = o.doc, o.kind, o.pod
    complete = not (template or o.patch)
    meta = get_pair(doc, "metadata")
    kind_node = get_pair(doc, "kind")
    if not template and (
        meta is None or (get(meta[1], "name") is None and get(meta[1], "generateName") is None)
    ):
        where = span_of(meta[0]) if meta else span_of(kind_node[0])
        out.append(finding(R_NAME, f"This {kind} has no metadata.name.", where))
    if complete and kind in _NAMESPACED and meta is not None and get(meta[1], "namespace") is None:
        name = scalar(get(meta[1], "name")) or scalar(get(meta[1], "generateName")) or "?"
        out.append(
            finding(
                R_NAMESPACE,
                f"{kind} `{name}` has no metadata.namespace: it goes wherever the current kubectl context points.",
                span_of(meta[0]),
            )
        )
    if pod is not None:
        out += _analyse_pod(pod, batch=kind in _BATCH, complete=complete, served=served)
    if complete and o.pod_template is not None:
        out += check_workload_selector(doc, kind, o.pod_template)
    return out


def _analyse_pod(pod: Node, *, batch: bool, complete: bool, served: bool) -> list[StaticFinding]:
    out = []
    for key in ("hostNetwork", "hostPID", "hostIPC"):
        pair = get_pair(pod, key)
        if pair and is_true(pair[1]):
            out.append(
                finding(
                    R_HOST_NS,
                    f"{key}: true shares the node's {key[4:].lower()} namespace with the pod: "
                    "it sees and can reach the host's processes or interfaces.",
                    span_of(pair[0]),
                )
            )
    for vol in seq(get(pod, "volumes")):
        hp = get_pair(vol, "hostPath")
        if hp:
            p = scalar(get(hp[1], "path")) or "?"
            out.append(
                finding(
                    R_HOST_PATH,
                    f"hostPath volume `{p}` mounts the node's filesystem into the pod.",
                    span_of(hp[0]),
                )
            )
    pod_sc = get(pod, "securityContext")
    # A pod that is not restarted (restartPolicy Never/OnFailure) runs to completion, like a Job's.
    batch = batch or (scalar(get(pod, "restartPolicy")) or "") in ("Never", "OnFailure")
    for c in seq(get(pod, "containers")):
        out += _analyse_container(c, pod_sc, probes=not batch, complete=complete, served=served)
    for c in seq(get(pod, "initContainers")):
        out += _analyse_container(c, pod_sc, probes=False, complete=complete)
    for c in seq(get(pod, "ephemeralContainers")):  # no resources or probes allowed: judge what is set
        out += _analyse_container(c, pod_sc, probes=False, complete=False)
    return out


def _container_anchor(c: Node) -> Span:
    name = get(c, "name")
    return (
        span_of(name)
        if name is not None
        else Span.on_line(c.start_mark.line, c.start_mark.column, c.start_mark.column + 1)
    )


def _to_false(pair) -> Fix:
    return Fix(f"Set {pair[0].value}: false", (TextEdit(span_of(pair[1]), "false"),))


def _analyse_container(
    c: Node, pod_sc: Node | None, *, probes: bool, complete: bool = True, served: bool = False
) -> list[StaticFinding]:
    """Rules of one container. ``complete`` is False where the spec may be finished elsewhere (a patch,
    a template, an ephemeral container): then only what is set is judged. A container without an image
    is such a fragment too, since the API server requires one."""
    if not isinstance(c, MappingNode):
        return []
    out = []
    name = scalar(get(c, "name")) or "?"
    anchor = _container_anchor(c)
    image = get(c, "image")
    complete = complete and image is not None
    problem = image_tag_problem(scalar(image) or "") if image is not None else None
    if problem:
        what = "the `latest` tag" if problem == "latest" else "no tag (so `latest`)"
        out.append(
            finding(
                R_IMAGE,
                f"Image `{scalar(image)}` uses {what}: nodes may pull different versions and "
                "rollbacks are impossible. Pin a version or digest.",
                span_of(image),
            )
        )
    res = get(c, "resources")
    # A limit without a request sets the request to the limit, so either one places the container.
    unrequested = [r for r in ("cpu", "memory") if path(res, "requests", r) is None and path(res, "limits", r) is None]
    if complete and unrequested:
        out.append(
            finding(
                R_REQUESTS,
                f"Container `{name}` has no {' or '.join(unrequested)} request (resources.requests): "
                "the scheduler assumes it needs nothing and may overpack the node.",
                anchor,
            )
        )
    if complete and path(res, "limits", "memory") is None:
        out.append(
            finding(
                R_LIMITS,
                f"Container `{name}` has no memory limit: a leak can take the whole node down with it.",
                anchor,
            )
        )
    sc = get(c, "securityContext")
    priv = get_pair(sc, "privileged")
    if priv and is_true(priv[1]):
        out.append(
            finding(
                R_PRIVILEGED,
                f"Container `{name}` is privileged: it has every capability and all host "
                "devices, so an escape is trivial.",
                span_of(priv[0]),
                _to_false(priv),
            )
        )
    out += _check_user(c, sc, pod_sc, name, anchor, complete)
    ape = get_pair(sc, "allowPrivilegeEscalation")
    if ape and is_true(ape[1]):
        out.append(
            finding(
                R_ESCALATION,
                f"Container `{name}` allows privilege escalation (setuid binaries, no_new_privs off).",
                span_of(ape[0]),
                _to_false(ape),
            )
        )
    elif ape is None and complete:
        out.append(
            finding(
                R_ESCALATION,
                f"Container `{name}` does not set allowPrivilegeEscalation: false (it defaults to true).",
                anchor,
                severity="info",
            )
        )
    for cap in seq(path(sc, "capabilities", "add")):
        v = (scalar(cap) or "").upper().removeprefix("CAP_")
        if v in _DANGEROUS_CAPS:
            out.append(
                finding(
                    R_CAPS,
                    f"Container `{name}` adds capability {v}, which is close to root on the node.",
                    span_of(cap),
                )
            )
    for env in seq(get(c, "env")):
        key, value = scalar(get(env, "name")), get_pair(env, "value")
        if (
            key
            and value
            and (is_literal_secret(key, scalar(value[1])) or has_url_credentials(scalar(value[1])))
        ):
            out.append(
                finding(
                    R_SECRET,
                    f"`{key}` is a literal credential in the pod spec: anyone who can read "
                    "the Deployment can read it. Use valueFrom.secretKeyRef.",
                    span_of(value[1]),
                )
            )
    if probes and complete:
        if get(c, "livenessProbe") is None:
            out.append(
                finding(
                    R_LIVENESS,
                    f"Container `{name}` has no livenessProbe: if it hangs, nothing restarts it.",
                    anchor,
                )
            )
        if served and get(c, "readinessProbe") is None:
            out.append(
                finding(
                    R_READINESS,
                    f"Container `{name}` has no readinessProbe: it gets traffic before "
                    "it can serve and during shutdown.",
                    anchor,
                )
            )
    return out


def _check_user(
    c: Node, sc: Node | None, pod_sc: Node | None, name: str, anchor: Span, complete: bool
) -> list[StaticFinding]:
    def effective(key: str) -> tuple[Node, Node] | None:
        return get_pair(sc, key) or get_pair(pod_sc, key)

    user = effective("runAsUser")
    if user is not None and scalar(user[1]) == "0":
        return [finding(R_NON_ROOT, f"Container `{name}` runs as UID 0 (root).", span_of(user[0]))]
    non_root = effective("runAsNonRoot")
    if non_root is not None and is_true(non_root[1]):
        return []
    if user is not None and (scalar(user[1]) or "").isdigit():
        return []
    if not complete and not (non_root is not None and is_false(non_root[1])):
        return []
    where = span_of(non_root[0]) if non_root is not None and is_false(non_root[1]) else anchor
    return [
        finding(
            R_NON_ROOT,
            f"Container `{name}` may run as root: set securityContext.runAsNonRoot: true "
            "(and a non-zero runAsUser).",
            where,
        )
    ]


def top_level_keys(doc: Node) -> list[str]:
    return [k.value for k, _ in items(doc)]

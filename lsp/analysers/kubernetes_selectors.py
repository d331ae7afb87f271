"""Kubernetes label selectors within one file: a workload whose selector does not match its own pod template
(K8S016, the API server rejects it), and a Service that selects no pod template of the file (K8S015,
kube-linter's dangling-service). Which pods a Service sends traffic to also decides whether they need a
readinessProbe (K8S010, as kube-score judges it).
"""

from __future__ import annotations

from dataclasses import dataclass

from yaml.nodes import MappingNode, Node

from .findings import Span, StaticFinding, finding, rule
from .yaml_nodes import get, get_pair, items, path, scalar, seq, span_of

R_DANGLING_SERVICE = rule(
    "K8S015",
    "k8s/dangling-service",
    "warning",
    "The Service's selector matches no pod template in the file: it has no endpoints.",
)
R_SELECTOR_MISMATCH = rule(
    "K8S016",
    "k8s/selector-mismatch",
    "error",
    "The workload's selector does not match its own pod template's labels: the API server rejects it.",
)

# Kinds that run no pods of their own: a file of these and known workloads is complete for selectors.
# Anything else (an operator's custom resource: Prometheus, Postgresql, ...) may create the pods a
# Service selects, so a file holding one is not judged.
_NO_PODS = frozenset(
    str.split("""
    Service ConfigMap Secret Ingress IngressClass ServiceAccount Role RoleBinding ClusterRole ClusterRoleBinding
    PersistentVolumeClaim PersistentVolume StorageClass HorizontalPodAutoscaler NetworkPolicy PodDisruptionBudget
    Namespace LimitRange ResourceQuota Endpoints EndpointSlice PriorityClass CustomResourceDefinition
    MutatingWebhookConfiguration ValidatingWebhookConfiguration APIService PodSecurityPolicy RuntimeClass
    ServiceMonitor PodMonitor PrometheusRule Certificate Issuer ClusterIssuer HTTPRoute GRPCRoute TCPRoute
    TLSRoute UDPRoute Gateway GatewayClass ReferenceGrant VirtualService DestinationRule ServiceEntry
    PeerAuthentication AuthorizationPolicy RequestAuthentication Sidecar IngressRoute IngressRouteTCP
    Middleware ScaledObject SealedSecret ExternalSecret SecretStore ClusterSecretStore VerticalPodAutoscaler
    BackendConfig FrontendConfig ManagedCertificate TargetGroupBinding
    """)
)
# Workloads whose selector the API server checks against the template (Jobs generate theirs).
_SELECTED = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController"}


@dataclass
class PodTemplate:
    """The labels pods of a workload get, and where."""

    doc: Node
    kind: str
    name: str
    namespace: str | None
    labels: dict[str, str]


def _labels(node: Node | None) -> dict[str, str]:
    return {k.value: scalar(v) or "" for k, v in items(node)} if isinstance(node, MappingNode) else {}


def _namespace(doc: Node) -> str | None:
    return scalar(path(doc, "metadata", "namespace"))


def pod_template(doc: Node, kind: str, pod_path: tuple[str, ...]) -> PodTemplate:
    """The pod template of a workload whose pod spec is at ``pod_path`` (its metadata is beside it)."""
    labels = _labels(path(doc, *pod_path[:-1], "metadata", "labels"))
    name = scalar(path(doc, "metadata", "name")) or "?"
    return PodTemplate(doc, kind, name, _namespace(doc), labels)


def service_selector(doc: Node) -> dict[str, str] | None:
    """The selector of a Service that selects pods (None for ExternalName and selector-less Services,
    whose endpoints are managed by hand)."""
    spec = get(doc, "spec")
    if (scalar(get(spec, "type")) or "") == "ExternalName":
        return None
    selector = _labels(get(spec, "selector"))
    return selector or None


def match_services(services: list[Node], pods: list[PodTemplate]) -> tuple[set[int], list[Node]]:
    """The ids of the workloads (their documents) that a Service selects, and the Services with a
    selector that select none of ``pods``. A Service selects pods of its own namespace (an unset one
    matches any: kubectl -n decides)."""
    selected: set[int] = set()
    dangling: list[Node] = []
    labelled = [(frozenset(p.labels.items()), p) for p in pods]
    for svc in services:
        selector = service_selector(svc)
        if selector is None:
            continue
        wanted, namespace = frozenset(selector.items()), _namespace(svc)
        hits = [
            id(p.doc)
            for have, p in labelled
            if wanted <= have and (namespace is None or p.namespace is None or namespace == p.namespace)
        ]
        selected.update(hits)
        if not hits:
            dangling.append(svc)
    return selected, dangling


def check_services(dangling: list[Node], pods: list[PodTemplate], kinds: list[str]) -> list[StaticFinding]:
    """K8S015 for each Service that selects none of ``pods`` (``dangling``), when the file holds pod
    templates and nothing else that might create pods (``kinds``: every object's kind in the file)."""
    pod_kinds = {p.kind for p in pods}
    if not pods or any(k not in _NO_PODS and k not in pod_kinds for k in kinds):
        return []
    out = []
    for svc in dangling:
        selector = service_selector(svc) or {}
        namespace = _namespace(svc)
        wanted = ", ".join(f"{k}={v}" for k, v in selector.items())
        near = [p for p in pods if namespace is None or p.namespace in (None, namespace)] or pods
        have = "; ".join(
            f"{p.kind} `{p.name}` has " + (", ".join(f"{k}={v}" for k, v in p.labels.items()) or "no labels")
            for p in near[:2]
        )
        name = scalar(path(svc, "metadata", "name")) or "?"
        out.append(
            finding(
                R_DANGLING_SERVICE,
                f"Service `{name}` selects {wanted}, which no pod template in this file carries ({have}): "
                "it gets no endpoints and every connection to it fails.",
                span_of(get_pair(get(svc, "spec"), "selector")[0]),
            )
        )
    return out


def check_workload_selector(doc: Node, kind: str, pod: PodTemplate) -> list[StaticFinding]:
    """K8S016: the API server's "selector does not match template labels" (and a missing selector, which
    apps/v1 requires)."""
    if kind not in _SELECTED:
        return []
    spec = get(doc, "spec")
    pair = get_pair(spec, "selector")
    api = scalar(get(doc, "apiVersion")) or ""
    if pair is None:
        if api != "apps/v1" or not pod.labels:
            return []  # the old APIs default the selector to the labels; no labels either: a patch
        where = get_pair(doc, "spec")
        return [
            finding(
                R_SELECTOR_MISMATCH,
                f"This {kind} has no spec.selector, which apps/v1 requires: the API server rejects it. "
                "Add `selector.matchLabels` with the template's labels.",
                span_of(where[0]) if where else Span(0, 0, 0, 0),
            )
        ]
    key, selector = pair
    if kind == "ReplicationController":
        unmet = [f"{k}={v}" for k, v in _labels(selector).items() if pod.labels.get(k) != v]
    else:
        unmet = _unmet(selector, pod.labels)
    if not unmet:
        return []
    labels = ", ".join(f"{k}={v}" for k, v in pod.labels.items()) or "none"
    return [
        finding(
            R_SELECTOR_MISMATCH,
            f"spec.selector requires {', '.join(unmet)}, but the pod template's labels are {labels}: the API "
            'server rejects this object ("selector does not match template labels"). Make the selector and '
            "spec.template.metadata.labels agree.",
            span_of(key),
        )
    ]


def _unmet(selector: Node, labels: dict[str, str]) -> list[str]:
    """The parts of a LabelSelector (matchLabels, matchExpressions) that ``labels`` do not satisfy; an
    empty selector, which the API server refuses for a workload, satisfies nothing."""
    match_labels = _labels(get(selector, "matchLabels"))
    expressions = seq(get(selector, "matchExpressions"))
    if not match_labels and not expressions:
        return ["(an empty selector)"]
    unmet = [f"{k}={v}" for k, v in match_labels.items() if labels.get(k) != v]
    for expr in expressions:
        key = scalar(get(expr, "key")) or ""
        op = scalar(get(expr, "operator")) or ""
        values = [scalar(v) or "" for v in seq(get(expr, "values"))]
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": labels.get(key) not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }.get(op, True)
        if not ok:
            unmet.append(f"{key} {op} {values}" if values else f"{key} {op}")
    return unmet

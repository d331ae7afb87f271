"""Kubernetes manifests and compose files as real projects write them: the idioms that must stay quiet (pod-level
securityContext, CronJob templates, merge keys, Helm templates, kustomize patches, overrides) and the defects
hidden in them that must be found."""

from __future__ import annotations

import pytest

from lsp.analysers import analyse

from .realworld import at, findings, rules_of

SECURE_CONTAINER = """\
          resources:
            requests: {cpu: 10m, memory: 32Mi}
            limits: {memory: 64Mi}
          securityContext:
            allowPrivilegeEscalation: false
"""

CRONJOB = (
    """\
---
# a comment, then an empty document
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: ops
spec:
  schedule: "*/15 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          securityContext:
            runAsNonRoot: true
            runAsUser: 1000
          containers:
            - name: report
              image: registry.example.com:5000/ops/report:3.0.1
"""
    + SECURE_CONTAINER.replace("\n          ", "\n              ").replace("          r", "              r", 1)
    + "...\n"
)


def test_cronjob_nested_template_inherits_the_pod_security_context():
    assert findings(CRONJOB, "cron.yaml") == []
    root = CRONJOB.replace("runAsUser: 1000", "runAsUser: 0").replace("runAsNonRoot: true", "fsGroup: 1")
    (f,) = [f for f in findings(root, "cron.yaml") if f.rule == "K8S005"]
    assert at(root, f) == "runAsUser"


def deployment(containers: str, pod: str = "", kind: str = "Deployment", api: str = "apps/v1") -> str:
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: web\n  namespace: shop\nspec:\n"
        "  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
        + pod
        + "      containers:\n"
        + containers
    )


PROBES = "          livenessProbe: {tcpSocket: {port: 80}}\n          readinessProbe: {tcpSocket: {port: 80}}\n"
NON_ROOT_POD = "      securityContext: {runAsNonRoot: true}\n"


def test_limits_alone_set_the_requests():
    limits_only = (
        "        - name: web\n          image: web:1.0\n          resources: {limits: {cpu: 500m, memory: 256Mi}}\n"
        "          securityContext: {allowPrivilegeEscalation: false}\n" + PROBES
    )
    assert findings(deployment(limits_only, NON_ROOT_POD), "d.yaml") == []
    memory_only = limits_only.replace("{limits: {cpu: 500m, memory: 256Mi}}", "{requests: {memory: 1Gi}, limits: {memory: 1Gi}}")
    (f,) = findings(deployment(memory_only, NON_ROOT_POD), "d.yaml")
    assert f.rule == "K8S001" and "cpu" in f.message


def test_ephemeral_containers_and_pods_that_run_to_completion():
    pod = """\
apiVersion: v1
kind: Pod
metadata: {generateName: debug-, namespace: ops}
spec:
  restartPolicy: Never
  securityContext: {runAsNonRoot: true}
  containers:
  - name: shell
    image: busybox:1.36
    resources: {limits: {cpu: 100m, memory: 64Mi}}
    securityContext: {allowPrivilegeEscalation: false}
  ephemeralContainers:
  - name: debugger
    image: nicolaka/netshoot:v0.13
    securityContext:
      privileged: true
"""
    assert [(f.rule, f.span.line) for f in findings(pod, "pod.yaml")] == [("K8S004", 15)]


def test_files_the_api_server_never_sees_need_no_name():
    kustomization = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources: [deployment.yaml]
images:
  - {name: shop/web, newTag: 1.4.3}
"""
    kubeconfig = "apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\ncurrent-context: ''\nusers: []\n"
    kind_cluster = "apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes:\n- role: control-plane\n"
    for text in (kustomization, kubeconfig, kind_cluster):
        assert findings(text, "k.yaml") == [], text
    assert "K8S014" in rules_of("apiVersion: v1\nkind: ConfigMap\ndata: {a: b}\n", "cm.yaml")


def test_kustomize_patch_is_judged_on_what_it_sets():
    patch = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          resources:
            limits: {memory: 512Mi}
"""
    assert findings(patch, "patch.yaml") == []
    bad = patch + "          securityContext: {privileged: true, runAsNonRoot: false}\n"
    assert rules_of(bad, "patch.yaml") == {"K8S004", "K8S005"}
    assert findings("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 3}\n", "p.yaml") == []


HELM = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "chart.fullname" . }}-web
  labels:
    {{- include "chart.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  template:
    spec:
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          env:
            - name: DB_PASSWORD
              value: {{ .Values.db.password | quote }}
"""


def test_helm_templates_report_what_they_set_and_no_yaml_errors():
    result = analyse(HELM, "chart/templates/deployment.yaml")
    assert result.kind == "kubernetes" and result.findings == []
    bad = HELM.replace('"{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"', "nginx:latest")
    bad += "            - name: API_TOKEN\n              value: hardcoded-123\n"
    found = findings(bad, "chart/templates/deployment.yaml")
    assert {f.rule for f in found} == {"K8S003", "K8S011"}
    assert [at(bad, f) for f in found if f.rule == "K8S003"] == ["nginx:latest"]
    broken = "{{- range .Values.items }}\n- name: {{ . }}\n  {{- if .x }}\n    value: 1\n{{- end }}{{ end }}\n"
    assert findings("apiVersion: v1\nkind: ConfigMap\n" + broken, "chart/templates/cm.yaml") == []


def test_alert_templates_in_strings_are_plain_yaml():
    rule = """\
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata: {name: alerts}
spec:
  groups:
  - name: x
    rules:
    - alert: Down
      annotations:
        description: "{{ $labels.instance }} is down"
"""
    assert rules_of(rule, "rules.yaml") == set()
    assert rules_of(rule.replace("metadata: {name: alerts}", "metadata: {}"), "rules.yaml") == {"K8S014"}


def test_custom_workloads_with_a_pod_template_are_analysed():
    rollout = deployment(
        "        - name: app\n          image: app:latest\n" + SECURE_CONTAINER + PROBES,
        NON_ROOT_POD,
        kind="Rollout",
        api="argoproj.io/v1alpha1",
    )
    assert rules_of(rollout, "rollout.yaml") == {"K8S003"}
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {containers: [{name: a, image: a}]}\n"
    assert findings(widget, "w.yaml") == []


def test_alias_bombs_are_analysed_once():
    text = (
        "apiVersion: v1\nkind: List\nitems: &l0\n- apiVersion: v1\n  kind: Pod\n  metadata: {name: p, namespace: a}\n"
        "  spec: {containers: [{name: c, image: 'x:latest'}]}\n"
    )
    for i in range(1, 8):
        text += f"- &l{i}\n  apiVersion: v1\n  kind: List\n  items: [" + ", ".join([f"*l{i - 1}"] * 9) + "]\n"
    found = findings(text, "bomb.yaml")
    assert [f.rule for f in found].count("K8S003") == 1 and len(found) < 20


COMPOSE = """\
name: shop

x-logging: &default-logging
  driver: json-file
  options: {max-size: "10m"}

x-app: &app
  image: registry.example.com/shop/api:${TAG:-1.4.2}
  restart: unless-stopped
  logging: *default-logging
  env_file:
    - .env
    - path: ./override.env
      required: false
  environment:
    - DATABASE_URL=postgres://shop:${POSTGRES_PASSWORD}@db:5432/shop

services:
  api:
    <<: *app
    ports: ["8000:8000"]
    deploy:
      resources:
        limits: {cpus: "1.0", memory: 512M}
  worker:
    <<: [*app]
    command: ["celery", "-A", "shop", "worker"]
    profiles: [workers]
  db:
    image: postgres:16.4-alpine
    restart: always
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/db_password
      MYSQL_ALLOW_EMPTY_PASSWORD: "yes"
    secrets: [db_password]
    ports:
      - target: 5432
        published: "5432"
        host_ip: 127.0.0.1
      - "${DB_BIND:-127.0.0.1}:5433:5432"

secrets:
  db_password:
    file: ./secrets/db_password.txt
"""


def test_compose_merge_keys_anchors_and_long_syntax_are_clean():
    assert findings(COMPOSE, "compose.yaml") == []


def test_compose_defects_inside_anchors_and_variables():
    bad = COMPOSE.replace("  restart: unless-stopped\n", "  privileged: true\n", 1)
    found = findings(bad, "compose.yaml")
    assert sorted(f.rule for f in found) == ["DC001", "DC001", "DC005", "DC005"]  # api and worker
    assert {f.span.line for f in found if f.rule == "DC001"} == {8}  # the anchor's line
    ports = COMPOSE.replace('"${DB_BIND:-127.0.0.1}:5433:5432"', '"${DB_PORT:-5432}:5432"')
    (f,) = findings(ports, "compose.yaml")
    assert f.rule == "DC003" and f.fix is None  # no certain edit inside a variable


def test_compose_override_services_are_completed_elsewhere():
    override = "services:\n  api:\n    environment:\n      DEBUG: '1'\n    volumes: [./src:/app/src]\n"
    assert findings(override, "compose.override.yaml") == []
    extends = "services:\n  web:\n    extends: {file: common.yml, service: web}\n    ports: ['80:80']\n"
    assert findings(extends, "compose.yaml") == []
    leak = override.replace("DEBUG: '1'", "API_TOKEN: tok-123")
    assert rules_of(leak, "compose.override.yaml") == {"DC004"}


WORKER = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: mailer, namespace: shop}
spec:
  selector: {matchLabels: {app: mailer}}
  template:
    metadata: {labels: {app: mailer, tier: worker}}
    spec:
      securityContext: {runAsNonRoot: true}
      containers:
        - name: mailer
          image: shop/mailer:2.0.1
          livenessProbe: {exec: {command: [/bin/healthcheck]}}
"""
SERVICE_FOR = "---\napiVersion: v1\nkind: Service\nmetadata: {{name: {0}, namespace: shop}}\nspec:\n"
SERVICE_FOR += "  selector: {{app: {0}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"


def test_readiness_probes_are_asked_of_pods_that_get_traffic():
    worker = WORKER.replace("          livenessProbe", SECURE_CONTAINER + "          livenessProbe")
    assert findings(worker, "mailer.yaml") == []  # a worker: no Service, no port
    assert "K8S010" in rules_of(worker + SERVICE_FOR.format("mailer"), "mailer.yaml")
    # the file's Services select other pods: this one gets no traffic from them
    other = SERVICE_FOR.format("web").replace("app: web", "app: mailer, x: y")
    assert "K8S010" not in rules_of(worker + other, "mailer.yaml")
    port = "          ports: [{name: http, containerPort: 8080}]\n"
    served = worker.replace("          livenessProbe", port + "          livenessProbe")
    assert "K8S010" in rules_of(served, "mailer.yaml")  # no Service here, but it listens: one is elsewhere
    metrics = served.replace("name: http", "name: metrics")
    assert "K8S010" not in rules_of(metrics, "mailer.yaml")
    sts = worker.replace("kind: Deployment", "kind: StatefulSet")
    sts = sts.replace("spec:\n  selector", "spec:\n  serviceName: mailer\n  selector")
    assert "K8S010" in rules_of(sts, "mailer.yaml")  # a StatefulSet's governing Service selects it


def test_services_that_select_no_pod_of_the_file():
    web = WORKER.replace("mailer", "web")
    (f,) = [f for f in findings(web + SERVICE_FOR.format("wbe"), "web.yaml") if f.rule == "K8S015"]
    assert at(web + SERVICE_FOR.format("wbe"), f) == "selector" and "app=wbe" in f.message and "app=web" in f.message
    assert "K8S015" not in rules_of(web + SERVICE_FOR.format("web"), "web.yaml")
    # a Service alone, a selector-less or ExternalName Service, an operator's pods: cannot tell
    assert "K8S015" not in rules_of(SERVICE_FOR.format("wbe").lstrip("-\n"), "svc.yaml")
    external = SERVICE_FOR.format("wbe").replace("  selector: {app: wbe}\n", "  type: ExternalName\n")
    assert "K8S015" not in rules_of(web + external, "web.yaml")
    operator = "---\napiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {name: k8s, namespace: shop}\n"
    assert "K8S015" not in rules_of(web + SERVICE_FOR.format("prometheus") + operator, "web.yaml")
    monitor = operator.replace("kind: Prometheus", "kind: ServiceMonitor")
    assert "K8S015" in rules_of(web + SERVICE_FOR.format("wbe") + monitor, "web.yaml")  # runs no pods
    other_ns = SERVICE_FOR.format("web").replace("namespace: shop", "namespace: billing")
    assert "K8S015" in rules_of(web + other_ns, "web.yaml")  # a Service selects pods of its namespace only


@pytest.mark.parametrize(
    "selector,flagged",
    [
        ("{matchLabels: {app: mailer}}", False),
        ("{matchLabels: {app: mailer, tier: worker}}", False),
        ("{matchLabels: {app: mail}}", True),
        ("{matchLabels: {app: mailer, version: v2}}", True),
        ("{matchExpressions: [{key: tier, operator: In, values: [worker, batch]}]}", False),
        ("{matchExpressions: [{key: tier, operator: NotIn, values: [worker]}]}", True),
        ("{matchExpressions: [{key: app, operator: Exists}]}", False),
        ("{matchExpressions: [{key: canary, operator: DoesNotExist}]}", False),
        ("{}", True),
    ],
)
def test_workload_selectors_must_match_their_template(selector, flagged):
    text = WORKER.replace("{matchLabels: {app: mailer}}", selector)
    found = [f for f in findings(text, "mailer.yaml") if f.rule == "K8S016"]
    assert bool(found) is flagged
    if found:
        assert at(text, found[0]) == "selector" and found[0].severity == "error"


def test_missing_selectors_and_the_apis_that_default_them():
    no_selector = WORKER.replace("  selector: {matchLabels: {app: mailer}}\n", "")
    (f,) = [f for f in findings(no_selector, "mailer.yaml") if f.rule == "K8S016"]
    assert "apps/v1 requires" in f.message
    old_api = no_selector.replace("apps/v1", "extensions/v1beta1")
    assert "K8S016" not in rules_of(old_api, "mailer.yaml")
    rc = WORKER.replace("apps/v1", "v1").replace("kind: Deployment", "kind: ReplicationController")
    assert "K8S016" not in rules_of(rc.replace("{matchLabels: {app: mailer}}", "{app: mailer}"), "rc.yaml")
    assert "K8S016" in rules_of(rc.replace("{matchLabels: {app: mailer}}", "{app: mail}"), "rc.yaml")
    # an image patch (kustomize) names neither selector nor labels: not judged
    patch = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: mailer}\nspec:\n  template:\n    spec:\n"
    patch += "      containers:\n        - name: mailer\n          image: shop/mailer:2.0.2\n"
    assert "K8S016" not in rules_of(patch, "overlays/prod/image.yaml")

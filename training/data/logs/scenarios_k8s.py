"""Kubernetes failures seen in events and kubelet logs: image pulls, OOMKilled containers and
liveness probes that kill slow-starting pods."""

from __future__ import annotations

import random

from . import noise
from .common import Clock, Event, Scenario, pod

_APPS = ["orders-api", "search", "checkout", "recommender", "audit-writer", "gateway"]


def image_pull(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(_APPS)
    ns = rng.choice(["prod", "staging", "shop"])
    p = pod(rng, app)
    others = [pod(rng, rng.choice(_APPS)) for _ in range(3)]
    registry = rng.choice(["registry.acme.io/team", "ghcr.io/northwind", "harbor.internal.example/apps"])
    tag = f"{rng.randint(1, 5)}.{rng.randint(0, 30)}.{rng.randint(0, 9)}"
    variant = rng.choice(["notfound", "unauthorized"])
    image = f"{registry}/{app}:{tag}"
    if variant == "notfound":
        detail = f'rpc error: code = NotFound desc = failed to pull and unpack image "{image}": failed to resolve reference "{image}": {image}: not found'
        cause = f"The image tag `{image}` does not exist in the registry (NotFound), so the kubelet cannot pull it and the pod stays in ImagePullBackOff."
        fix = f"Check the tag that CI pushed (`crane ls {registry}/{app}` or the registry UI) and fix the Deployment's image (`kubectl -n {ns} set image deploy/{app} {app}=<existing tag>`); deploy immutable tags that the pipeline has verified."
    else:
        detail = f'rpc error: code = Unknown desc = failed to pull and unpack image "{image}": failed to resolve reference "{image}": pulling from host {registry.split("/")[0]} failed with status code [manifests {tag}]: 401 Unauthorized'
        cause = f"The registry {registry.split('/')[0]} answers 401 Unauthorized: the pod has no valid pull credentials, so `{image}` cannot be pulled and the pod stays in ImagePullBackOff."
        fix = f"Create or refresh the docker-registry Secret (`kubectl -n {ns} create secret docker-registry regcred ...`) and reference it in `imagePullSecrets` of the pod spec or its ServiceAccount; check that the token has not expired."

    def failed(c: Clock) -> list[str]:
        return [
            f'{c.iso()}  Normal   Pulling            pod/{p}   Pulling image "{image}"',
            f'{c.iso()}  Warning  Failed             pod/{p}   Failed to pull image "{image}": {detail}',
            f"{c.iso()}  Warning  Failed             pod/{p}   Error: ErrImagePull",
        ]

    def backoff(c: Clock) -> list[str]:
        return [
            f'{c.iso()}  Normal   BackOff            pod/{p}   Back-off pulling image "{image}"',
            f"{c.iso()}  Warning  Failed             pod/{p}   Error: ImagePullBackOff",
        ]

    return Scenario(
        source=f"kubectl -n {ns} get events",
        noise=noise.k8s_events(rng, ns, others),
        events=[Event(failed, (1,)), Event(backoff, (1,), gap=(0, 3))],
        root_cause=cause,
        fix=fix,
        decoys=[
            "The node is out of disk space for images.",
            "The container crashes at start-up (CrashLoopBackOff).",
            "The pod cannot be scheduled because of insufficient CPU.",
        ],
        summary="`Failed to pull image` / ImagePullBackOff",
    )


def oom_killed(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(_APPS)
    ns = rng.choice(["prod", "staging", "data"])
    p = pod(rng, app)
    hn = f"node-{rng.randint(1, 30)}"
    limit = rng.choice([256, 512, 1024, 2048])
    pid = rng.randint(1000, 90000)
    proc = rng.choice(["java", "node", "python3", "ruby"])
    kp = rng.randint(600, 4000)

    def kern(c: Clock) -> list[str]:
        return [
            f"{c.syslog()} {hn} kernel: Memory cgroup out of memory: Killed process {pid} ({proc}) total-vm:{limit * 1024 + rng.randint(10**5, 10**6)}kB, anon-rss:{limit * 1024 - rng.randint(100, 4000)}kB, file-rss:{rng.randint(1000, 30000)}kB, shmem-rss:0kB, UID:1000 pgtables:{rng.randint(1000, 9000)}kB oom_score_adj:{rng.choice([-997, 985, 999])}"
        ]

    def kubelet_died(c: Clock) -> list[str]:
        return [
            f'{c.syslog()} {hn} kubelet[{kp}]: {c.klog()}    {kp} kubelet.go:2449] "SyncLoop (PLEG): event for pod" pod="{ns}/{p}" event={{"Type":"ContainerDied"}}',
            f'{c.syslog()} {hn} kubelet[{kp}]: {c.klog("E")}    {kp} pod_workers.go:1298] "Error syncing pod, skipping" err="failed to \\"StartContainer\\" for \\"{app}\\" with CrashLoopBackOff: \\"back-off 5m0s restarting failed container={app} pod={p}_{ns}\\"" pod="{ns}/{p}"',
        ]

    return Scenario(
        source=f"journalctl on {hn}",
        noise=noise.kubelet(rng, hn),
        events=[Event(kern, (0,), gap=(1, 4)), Event(kubelet_died, (1,), gap=(0, 3))],
        root_cause=f"Container {app} exceeds its {limit}Mi memory limit: the cgroup OOM killer kills {proc} (exit 137, reason OOMKilled) and the kubelet keeps restarting it in CrashLoopBackOff (back-off 5m0s).",
        fix=f"Confirm with `kubectl -n {ns} describe pod {p}` (Last State: OOMKilled), then either raise `resources.limits.memory` to the measured peak plus headroom or reduce usage (for the JVM set -XX:MaxRAMPercentage=75 so the heap fits the limit).",
        decoys=[
            "The node itself ran out of memory and evicted the pod.",
            "The liveness probe fails and the kubelet restarts the container.",
            "The application exits with an unhandled exception.",
        ],
        summary="`Memory cgroup out of memory` + CrashLoopBackOff",
    )


def liveness_kill(rng: random.Random, clock: Clock) -> Scenario:
    app = rng.choice(_APPS)
    ns = rng.choice(["prod", "staging", "shop"])
    p = pod(rng, app)
    others = [pod(rng, rng.choice(_APPS)) for _ in range(3)]
    port = rng.choice([8080, 8000, 9000])
    delay = rng.choice([5, 10])
    pod_ip = f"10.244.{rng.randint(0, 30)}.{rng.randint(2, 250)}"

    def probe(c: Clock) -> list[str]:
        return [
            f'{c.iso()}  Warning  Unhealthy          pod/{p}   Liveness probe failed: Get "http://{pod_ip}:{port}/healthz": dial tcp {pod_ip}:{port}: connect: connection refused'
        ]

    def kill(c: Clock) -> list[str]:
        return [
            f"{c.iso()}  Normal   Killing            pod/{p}   Container {app} failed liveness probe, will be restarted"
        ]

    def app_log(c: Clock) -> list[str]:
        return [f"{c.iso()}  Normal   Started            pod/{p}   Started container {app}"]

    return Scenario(
        source=f"kubectl -n {ns} get events --field-selector involvedObject.name={p}",
        noise=noise.k8s_events(rng, ns, others),
        events=[
            Event(app_log, (0,)),
            Event(probe, (0,), gap=(0, 2)),
            Event(probe, (), gap=(0, 1)),
            Event(probe, (), gap=(0, 1)),
            Event(kill, (0,), gap=(0, 1)),
        ],
        root_cause=f"The liveness probe fails repeatedly with connection refused on :{port} within seconds of the container starting, so the kubelet kills and restarts it before it ever serves: the probe begins ({delay}s delay) before the application listens (slow start-up or a different port).",
        fix=f"Check `kubectl -n {ns} logs {p} --previous` for how long start-up takes and which port it binds; for a slow start add a `startupProbe` with `failureThreshold` x `periodSeconds` above the start time (e.g. 30 x 5s) instead of a long initialDelaySeconds; if the port differs, fix the probe/containerPort.",
        decoys=[
            "The container exceeds its memory limit and is OOMKilled.",
            "The Service selector does not match the pod labels.",
            "The node is under memory pressure and evicts the pod.",
        ],
        summary="`Liveness probe failed ... connection refused` then `will be restarted`",
    )


SCENARIOS = {
    "k8s_image_pull": image_pull,
    "k8s_oom_killed": oom_killed,
    "k8s_liveness_restart": liveness_kill,
}

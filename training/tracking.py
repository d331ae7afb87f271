"""MLflow tracking for a run: one MLflow run per training run (kept across ``--resume``), params from the
config, per-step metrics from a Trainer callback (prefixed by stage), and the run's reports as artifacts.

A local SQLite store under ``artifacts/mlruns`` is used unless ``tracking.tracking_uri`` or $MLFLOW_TRACKING_URI
says otherwise. Only the main process logs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

log = logging.getLogger(__name__)


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v if not isinstance(v, list) else ",".join(map(str, v))
    return out


class Tracker:
    """A thin wrapper over one MLflow run; a no-op when disabled or not the main process."""

    def __init__(self, *, enabled: bool, uri: str | None, experiment: str, run_dir: Path, root: Path, name: str):
        self.enabled = enabled
        self.run_id: str | None = None
        if not enabled:
            return
        import mlflow

        self.mlflow = mlflow
        uri = uri or os.environ.get("MLFLOW_TRACKING_URI")
        artifacts = None
        if not uri:  # the local default: a SQLite store (MLflow's file store is deprecated) + artifact folder
            store = root / "artifacts" / "mlruns"
            store.mkdir(parents=True, exist_ok=True)
            uri, artifacts = f"sqlite:///{store / 'mlflow.db'}", (store / "artifacts").as_uri()
        mlflow.set_tracking_uri(uri)
        if mlflow.get_experiment_by_name(experiment) is None:
            try:
                mlflow.create_experiment(experiment, artifact_location=artifacts)
            except mlflow.exceptions.MlflowException:  # created concurrently by another run
                pass
        mlflow.set_experiment(experiment)
        id_file = run_dir / "mlflow_run_id"
        previous = id_file.read_text().strip() if id_file.is_file() else None
        run = mlflow.start_run(run_id=previous) if previous else mlflow.start_run(run_name=run_dir.name)
        self.run_id = run.info.run_id
        id_file.write_text(self.run_id)
        mlflow.set_tag("aletheia.model", name)
        self.uri = uri

    def log_params(self, params: dict[str, Any]) -> None:
        if not self.enabled:
            return
        flat = {k: str(v)[:500] for k, v in _flatten(params).items()}
        existing = self.mlflow.get_run(self.run_id).data.params
        new = {k: v for k, v in flat.items() if k not in existing}
        if new:
            self.mlflow.log_params(new)

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if self.enabled:
            clean = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float))}
            if clean:
                self.mlflow.log_metrics(clean, step=step)

    def log_artifact(self, path: Path, subdir: str | None = None) -> None:
        if self.enabled and path.exists():
            self.mlflow.log_artifact(str(path), artifact_path=subdir)

    def callback(self, stage: str) -> TrainerCallback:
        return _MetricsCallback(self, stage)

    def end(self, status: str = "FINISHED") -> None:
        if self.enabled and self.mlflow.active_run() is not None:
            self.mlflow.end_run(status=status)


class _MetricsCallback(TrainerCallback):
    """Log each Trainer log line (loss, lr, rewards, ...) to MLflow as ``<stage>/<metric>``."""

    def __init__(self, tracker: Tracker, stage: str):
        self.tracker, self.stage = tracker, stage

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and state.is_world_process_zero:
            self.tracker.log_metrics({f"{self.stage}/{k}": v for k, v in logs.items()}, step=state.global_step)

"""The model registry on disk: ``<models_dir>/<name>/model.gguf`` + ``manifest.json``.

The server serves every such directory under its name, and the newest (by ``created``) as ``aletheia``.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
GGUF_NAME = "model.gguf"


def write_manifest(
    model_dir: Path,
    *,
    name: str,
    base_model: str,
    config: dict[str, Any],
    data_hash: str,
    metrics: dict[str, Any],
    run_dir: str = "",
) -> Path:
    manifest = {
        "name": name,
        "base_model": base_model,
        "config": config,
        "data_hash": data_hash,
        "metrics": metrics,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "gguf": GGUF_NAME,
        "run_dir": run_dir,
    }
    path = model_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False))
    tmp.replace(path)
    return path


def register(gguf: Path, models_dir: Path, name: str, **manifest: Any) -> Path:
    """Copy ``gguf`` into ``models_dir/name/`` and write its manifest; returns the model directory."""
    model_dir = models_dir / name
    model_dir.mkdir(parents=True, exist_ok=True)
    tmp = model_dir / (GGUF_NAME + ".tmp")
    shutil.copyfile(gguf, tmp)
    tmp.replace(model_dir / GGUF_NAME)
    write_manifest(model_dir, name=name, **manifest)
    return model_dir


def update_metrics(model_dir: Path, metrics: dict[str, Any]) -> None:
    path = model_dir / MANIFEST
    manifest = json.loads(path.read_text())
    manifest["metrics"] = {**manifest.get("metrics", {}), **metrics}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2))
    tmp.replace(path)


def read_manifest(model_dir: Path) -> dict[str, Any]:
    return json.loads((model_dir / MANIFEST).read_text())

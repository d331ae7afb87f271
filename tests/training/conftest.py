"""Fixtures for the training tests: small JSONL data sets and a config writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"
PY = sys.executable


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def sft_rows() -> list[dict]:
    return read_jsonl(DATA / "sft.jsonl")


@pytest.fixture
def dpo_rows() -> list[dict]:
    return read_jsonl(DATA / "dpo.jsonl")


@pytest.fixture
def make_config(tmp_path):
    """Write a run config (quick.yaml with overrides, fixture data, paths in tmp_path); return its path."""

    def make(overrides: dict | None = None, *, sft: Path | None = None, dpo: Path | None = None,
             name: str = "cfg.yaml", tasks_dir: Path | None = None) -> Path:
        raw = yaml.safe_load((ROOT / "training/configs/quick.yaml").read_text())
        raw["data"]["sft_path"] = str(sft or DATA / "sft.jsonl")
        raw["data"]["dpo_path"] = str(dpo or DATA / "dpo.jsonl")
        if tasks_dir is not None:
            raw["data"]["eval_tasks_dir"] = str(tasks_dir)
        raw["runs_dir"] = str(tmp_path / "runs")
        raw["models_dir"] = str(tmp_path / "models")
        raw["cache_dir"] = str(tmp_path / "cache")
        for dotted, value in (overrides or {}).items():
            node = raw
            *parents, leaf = dotted.split(".")
            for key in parents:
                node = node.setdefault(key, {})
            node[leaf] = value
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw))
        return path

    return make


def training_env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run_training(args: list[str], tmp_path: Path, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run([PY, "-m", "training.run", *args], cwd=ROOT, env=training_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)

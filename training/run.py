"""The training runner: ``python -m training.run --config training/configs/quick.yaml``.

Stages, in order: data, sft, dpo, merge, export, eval. Each writes into its own directory of the run
(``<runs_dir>/<name>-<timestamp>/<stage>/``) and a ``done.json`` marker when it completes; ``--resume``
skips completed stages and continues SFT/DPO from their last Trainer checkpoint. Under
``accelerate launch`` every process trains; only the main process writes data, models and reports.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from .config import STAGES, ConfigError, RunConfig, load_config, parse_stages, project_root, resolve
from .trainer_utils import keep_freed_memory, release_freed_memory

log = logging.getLogger("training")
DONE = "done.json"
DATA_CACHE_VERSION = "1"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m training.run", description=__doc__.splitlines()[0])
    p.add_argument("--config", required=True, help="a YAML run config, e.g. training/configs/quick.yaml")
    p.add_argument("--output-dir", help="the run directory (default: <runs_dir>/<name>-<timestamp>)")
    p.add_argument("--resume", help="'auto' (the newest unfinished run of this config) or a run directory")
    p.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated subset of {','.join(STAGES)}")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key (YAML value), e.g. --set sft.max_steps=4; repeatable")
    return p.parse_args(argv)


def parse_sets(items: list[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = yaml.safe_load(value)
    return out


# --------------------------------------------------------------------------------------------------
# Run directories and stage markers
# --------------------------------------------------------------------------------------------------


def is_done(run_dir: Path, stage: str) -> bool:
    return (run_dir / stage / DONE).is_file()


def read_done(run_dir: Path, stage: str) -> dict:
    return json.loads((run_dir / stage / DONE).read_text())


def mark_done(run_dir: Path, stage: str, seconds: float, metrics: dict) -> None:
    marker = {"stage": stage, "finished": _now(), "seconds": round(seconds, 2), "metrics": metrics}
    (run_dir / stage / DONE).write_text(json.dumps(marker, indent=2))


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def find_unfinished_run(runs_dir: Path, name: str, stages: list[str]) -> Path | None:
    """The newest run of ``name`` under ``runs_dir`` that has not completed all of ``stages``."""
    candidates = sorted(
        (p for p in runs_dir.glob(f"{name}-*") if (p / "run.json").is_file()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for p in candidates:
        if not all(is_done(p, s) for s in stages):
            return p
    return None


def choose_run_dir(cfg: RunConfig, args: argparse.Namespace, root: Path, stages: list[str]) -> tuple[Path, bool]:
    """The run directory and whether this is a resume."""
    runs_dir = resolve(cfg.runs_dir, root)
    if args.resume and args.resume != "auto":
        path = Path(args.resume)
        if not (path / "run.json").is_file():
            raise ConfigError(f"--resume {args.resume}: not a run directory (no run.json)")
        return path, True
    if args.output_dir:
        path = Path(args.output_dir)
        return path, bool(args.resume) and (path / "run.json").is_file()
    if args.resume == "auto":
        found = find_unfinished_run(runs_dir, cfg.name, stages)
        if found:
            return found, True
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return runs_dir / f"{cfg.name}-{stamp}", False


REQUIRES = {"sft": ["data"], "dpo": ["data"], "merge": [], "export": ["merge"], "eval": ["export"]}


def check_inputs(run_dir: Path, stage: str, cfg: RunConfig) -> None:
    needs = list(REQUIRES.get(stage, []))
    if stage == "dpo" and cfg.sft.enabled:
        needs.append("sft")
    if stage == "merge" or (stage == "export" and cfg.export.format != "merged"):
        needs += [s for s in ("sft", "dpo") if getattr(cfg, s).enabled]
    if stage == "export" and cfg.export.format == "adapter":
        needs.remove("merge")
    missing = [n for n in needs if not is_done(run_dir, n)]
    if missing:
        raise ConfigError(
            f"stage '{stage}' needs the output of {missing} in {run_dir}: run those stages too, or point "
            f"--output-dir/--resume at a run that has them"
        )


def data_cache_key(cfg: RunConfig, root: Path, base_dir: Path) -> str:
    h = hashlib.sha256(DATA_CACHE_VERSION.encode())
    h.update(json.dumps({"data": cfg.to_dict()["data"], "seed": cfg.seed, "base": base_dir.name}).encode())
    files = [resolve(cfg.data.sft_path, root), resolve(cfg.data.dpo_path, root)]
    tasks_dir = resolve(cfg.data.eval_tasks_dir, root)
    files += sorted(tasks_dir.rglob("*.jsonl")) if tasks_dir.is_dir() else []
    for f in files:
        h.update(str(f).encode())
        h.update(hashlib.sha256(f.read_bytes()).digest())
    return h.hexdigest()[:20]


# --------------------------------------------------------------------------------------------------


class Pipeline:
    """Runs the requested stages of one run config in one run directory."""

    def __init__(self, cfg: RunConfig, run_dir: Path, resume: bool, root: Path, state, console):
        self.cfg, self.run_dir, self.resume, self.root = cfg, run_dir, resume, root
        self.state, self.console = state, console
        self.main = state.is_main_process
        self.base_dir: Path | None = None
        self.base_gguf: Path | None = None  # the GGUF the base came from, if any (tokenizer metadata, baseline)
        self.tracker = None

    def say(self, text: str) -> None:
        if self.main:
            self.console.print(text, soft_wrap=True)  # one line per stage, also in a log file

    def setup(self) -> None:
        from .base_model import base_gguf, prepare_base
        from .tracking import Tracker

        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            (self.run_dir / "config.yaml").write_text(yaml.safe_dump(self.cfg.to_dict(), sort_keys=False))
            info = self.run_dir / "run.json"
            if not info.is_file():
                info.write_text(json.dumps({"name": self.cfg.name, "created": _now(),
                                            "config": self.cfg.source_path}, indent=2))
        self.base_gguf = base_gguf(self.cfg.base_model, self.root)
        with self.state.main_process_first():
            self.base_dir = prepare_base(self.cfg.base_model, resolve(self.cfg.base_cache_dir, self.root), self.root)
        t = self.cfg.tracking
        self.tracker = Tracker(enabled=t.enabled and self.main, uri=t.tracking_uri, experiment=t.experiment,
                               run_dir=self.run_dir, root=self.root, name=self.cfg.name)
        self.tracker.log_params({"config": self.cfg.to_dict(), "run_dir": str(self.run_dir)})

    def run(self, stages: list[str]) -> None:
        for stage in stages:
            enabled = getattr(getattr(self.cfg, stage, None), "enabled", True)
            if self.resume and is_done(self.run_dir, stage):
                self.say(f"[bold]{stage}[/]: done in an earlier attempt, skipped")
                continue
            if not enabled:
                if self.main:
                    (self.run_dir / stage).mkdir(parents=True, exist_ok=True)
                    mark_done(self.run_dir, stage, 0.0, {"skipped": "disabled in the config"})
                self.say(f"[bold]{stage}[/]: disabled in the config")
                continue
            check_inputs(self.run_dir, stage, self.cfg)
            stage_dir = self.run_dir / stage
            if self.main:
                if not self.resume and stage_dir.exists():
                    shutil.rmtree(stage_dir)
                stage_dir.mkdir(parents=True, exist_ok=True)
            self.state.wait_for_everyone()
            start = time.time()
            metrics, summary = getattr(self, f"stage_{stage}")(stage_dir)
            seconds = time.time() - start
            release_freed_memory()  # what this stage kept for reuse (keep_freed_memory) goes back
            if self.main:
                mark_done(self.run_dir, stage, seconds, metrics)
                self.tracker.log_metrics({f"{stage}/stage_seconds": seconds})
            self.state.wait_for_everyone()
            self.say(f"[bold green]{stage}[/]: {summary} ({seconds:.0f} s)")

    # ---- stages ----------------------------------------------------------------------------------

    def stage_data(self, out: Path):
        from .dataprep.stage import OUTPUT_FILES, run_data_stage

        if self.main:
            from transformers import AutoTokenizer

            cache = resolve(self.cfg.cache_dir, self.root) / "data" / data_cache_key(self.cfg, self.root, self.base_dir)
            if (cache / "report.json").is_file():
                for f in (*OUTPUT_FILES, "report.json", "report.md"):
                    shutil.copyfile(cache / f, out / f)
                report = json.loads((out / "report.json").read_text())
                report["cached_from"] = str(cache)
            else:
                tokenizer = AutoTokenizer.from_pretrained(self.base_dir)
                report = run_data_stage(self.cfg, out, tokenizer, self.root, self.base_gguf)
                tmp = cache.with_name(cache.name + ".tmp")
                shutil.rmtree(tmp, ignore_errors=True)
                shutil.copytree(out, tmp)
                shutil.rmtree(cache, ignore_errors=True)
                tmp.rename(cache)
            self.tracker.log_artifact(out / "report.json", "data")
            self.tracker.log_artifact(out / "report.md", "data")
            self.tracker.log_metrics({f"data/{k}": v for k, v in report["output"].items()})
            o = report["output"]
            drops = sum(n for r in report["drops"].values() for n in r.values())
            summary = (f"{o['sft_train']} SFT train + {o['sft_eval']} held out, {o['dpo']} DPO pairs, "
                       f"{drops} dropped{' (cached)' if 'cached_from' in report else ''}")
            return {"data_hash": report["data_hash"], **o}, summary
        return {}, ""

    def stage_sft(self, out: Path):
        from .sft import run_sft

        m = run_sft(self.cfg.sft, base_dir=self.base_dir, data_dir=self.run_dir / "data", stage_dir=out,
                    max_length=self.cfg.data.max_seq_len, seed=self.cfg.seed,
                    callbacks=[self.tracker.callback("sft")], resume=self.resume)
        ev = f", eval loss {m['eval_loss']:.3f}" if "eval_loss" in m else ""
        return m, f"{m['steps']} steps, train loss {m['train_loss']:.3f}{ev}"

    def stage_dpo(self, out: Path):
        from .dpo import run_dpo

        sft_adapter = self.run_dir / "sft" / "adapter" if self.cfg.sft.enabled else None
        m = run_dpo(self.cfg.dpo, base_dir=self.base_dir, sft_adapter=sft_adapter, data_dir=self.run_dir / "data",
                    stage_dir=out, max_length=self.cfg.data.max_seq_len, seed=self.cfg.seed,
                    callbacks=[self.tracker.callback("dpo")], resume=self.resume)
        acc = f", reward accuracy {m['reward_accuracy']:.2f}" if m.get("reward_accuracy") is not None else ""
        return m, f"{m['steps']} steps, loss {m['train_loss']:.3f}{acc}"

    def stage_merge(self, out: Path):
        from .merge import run_merge

        if not self.main:
            return {}, ""
        adapters = [self.run_dir / s / "adapter" for s in ("sft", "dpo") if getattr(self.cfg, s).enabled]
        m = run_merge(self.cfg.merge, base_dir=self.base_dir, adapters=adapters, out_dir=out / "model")
        return m, f"{len(adapters)} adapter(s) merged into {out / 'model'}"

    def stage_export(self, out: Path):
        from .base_model import bundled_gguf
        from .export_adapter import export_adapter
        from .export_gguf import export_gguf
        from .registry import ADAPTER_GGUF, GGUF_NAME, register

        if not self.main:
            return {}, ""
        reference = self.base_gguf or bundled_gguf()
        fmt, metrics, shown, files = self.cfg.export.format, {"format": self.cfg.export.format}, [], {}
        if fmt in ("adapter", "both"):
            adapters = [self.run_dir / s / "adapter" for s in ("sft", "dpo") if getattr(self.cfg, s).enabled]
            path = export_adapter(adapters, out / ADAPTER_GGUF, base_config_dir=self.base_dir, base_gguf=reference,
                                  outtype=self.cfg.export.adapter_outtype, name=self.cfg.name)
            metrics.update(adapter=str(path), adapter_bytes=path.stat().st_size)
            shown.append(f"{path.stat().st_size / 2**20:.1f} MiB {self.cfg.export.adapter_outtype} LoRA adapter")
            files[ADAPTER_GGUF] = path
        if fmt in ("merged", "both"):
            path = export_gguf(self.run_dir / "merge" / "model", out / GGUF_NAME, reference_gguf=reference,
                               outtype=self.cfg.export.outtype, name=self.cfg.name)
            metrics.update(gguf=str(path), bytes=path.stat().st_size, outtype=self.cfg.export.outtype)
            shown.append(f"{path.stat().st_size / 2**20:.0f} MiB {self.cfg.export.outtype} GGUF")
            files[GGUF_NAME] = path
        if self.cfg.export.register:
            model_dir = register(files, resolve(self.cfg.models_dir, self.root), self.cfg.name,
                                 base_model=self.cfg.base_model, base_gguf=reference, config=self.cfg.to_dict(),
                                 data_hash=self._data_hash(), metrics=self._train_metrics(),
                                 run_dir=str(self.run_dir), training=self._training_record())
            metrics["registered"] = str(model_dir)
            shown.append(f"registered as {model_dir}")
        return metrics, ", ".join(shown)

    def stage_eval(self, out: Path):
        from .evaluate import run_eval
        from .registry import update_metrics

        if not self.main:
            return {}, ""
        export = read_done(self.run_dir, "export")["metrics"]
        results = run_eval(self.cfg.eval, name=self.cfg.name, gguf=Path(export.get("gguf") or export["adapter"]),
                           base_gguf=self.base_gguf, adapter="gguf" not in export)
        (out / "metrics.json").write_text(json.dumps(results, indent=2))
        self.tracker.log_artifact(out / "metrics.json", "eval")
        ours = results.get(self.cfg.name, {})
        self.tracker.log_metrics({f"eval/{k}": v for k, v in ours.items()})
        self.tracker.log_metrics({f"eval_base/{k}": v for k, v in results.get("base", {}).items()})
        if "registered" in export:
            update_metrics(Path(export["registered"]), {"eval": ours, "eval_base": results.get("base", {})})
        shown = ", ".join(f"{k} {v:.3f}" for k, v in list(ours.items())[:4])
        return results, shown or "no metrics"

    def _data_hash(self) -> str:
        return read_done(self.run_dir, "data")["metrics"].get("data_hash", "") if is_done(self.run_dir, "data") else ""

    def _training_record(self) -> dict:
        """How long each stage took and on what hardware, for the manifest (a rerun can be compared)."""
        from .registry import hardware

        stages = {s: read_done(self.run_dir, s)["seconds"] for s in STAGES if is_done(self.run_dir, s)}
        return {"stage_seconds": stages, "hardware": hardware()}

    def _train_metrics(self) -> dict:
        out = {}
        for s in ("sft", "dpo"):
            if is_done(self.run_dir, s):
                m = read_done(self.run_dir, s)["metrics"]
                out[s] = {k: v for k, v in m.items() if isinstance(v, (int, float)) and k != "resumed_from"}
        return out


def main(argv: list[str] | None = None) -> int:
    from rich.console import Console

    console = Console(stderr=True)
    args = parse_args(argv)
    root = project_root()
    try:
        cfg = load_config(args.config, overrides=parse_sets(args.set), root=root)
        stages = parse_stages(args.stages)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2

    from .dataprep.schema import DataError

    if "data" in stages:
        from .dataprep.stage import read_inputs

        try:
            read_inputs(cfg, root)  # a bad line stops the run here, before any model is loaded
        except DataError as e:
            print(f"error: {e}", file=sys.stderr)
            return 2

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for chatty in ("httpx", "httpx2"):  # one line per evaluation request, through the progress bars
        logging.getLogger(chatty).setLevel(logging.WARNING)
    keep_freed_memory()  # before torch allocates anything
    import transformers
    from accelerate import PartialState
    from accelerate.utils import broadcast_object_list

    transformers.logging.set_verbosity_warning()
    import torch

    # Without CUDA, processes started by torchrun (`accelerate launch --multi_gpu`) form a gloo group only
    # when the state is created with cpu=True; a single process is unaffected.
    state = PartialState(cpu=not torch.cuda.is_available())
    try:
        run_dir, resume = choose_run_dir(cfg, args, root, stages)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if state.num_processes > 1:
        shared = [str(run_dir), resume]
        broadcast_object_list(shared)
        run_dir, resume = Path(shared[0]), bool(shared[1])

    pipe = Pipeline(cfg, run_dir, resume, root, state, console)
    pipe.say(f"[bold]run[/] {cfg.name} in {run_dir}{' (resumed)' if resume else ''}: {','.join(stages)}")
    status = "FAILED"
    try:
        pipe.setup()
        pipe.run(stages)
        status = "FINISHED"
    except (ConfigError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    finally:
        if pipe.tracker is not None:
            pipe.tracker.end(status)
    pipe.say(f"[bold]done[/]: {run_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

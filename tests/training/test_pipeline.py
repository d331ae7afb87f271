"""End to end: quick.yaml through data -> export on the real data, the exported GGUF served by llama.cpp,
its greedy tokens equal to the merged HF model's, resume after SIGKILL mid-SFT, and DDP on 2 processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from .conftest import PY, ROOT, run_training, training_env

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "user", "content": "How do I see which process listens on TCP port 8080?"}],
    [{"role": "system", "content": "You are Aletheia."},
     {"role": "user", "content": "Explain the error: FATAL: sorry, too many clients already"}],
    [{"role": "user", "content": "Review this Dockerfile:\n1 | FROM python:latest\n2 | CMD python app.py"}],
]


def _llama(path: Path):
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=1024, seed=0, verbose=False)


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """One run of the shipped quick.yaml (real training data, stages data..export) into a temp dir."""
    tmp = tmp_path_factory.mktemp("quick")
    run_dir = tmp / "run"
    proc = run_training(
        ["--config", "training/configs/quick.yaml", "--output-dir", str(run_dir),
         "--stages", "data,sft,dpo,merge,export", "--set", f"models_dir={tmp / 'models'}"],
        tmp, timeout=1200,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return {"tmp": tmp, "run": run_dir, "models": tmp / "models", "stderr": proc.stderr}


def test_quick_pipeline_registers_a_servable_gguf(quick_run):
    run, models = quick_run["run"], quick_run["models"]
    for stage in ("data", "sft", "dpo", "merge", "export"):
        assert (run / stage / "done.json").is_file(), stage
    for line in ("data: ", "sft: 4 steps", "dpo: 2 steps", "merge: 2 adapter(s)", "export: "):
        assert line in quick_run["stderr"]  # the one-line summary per stage

    report = json.loads((run / "data" / "report.json").read_text())
    assert report["output"]["sft_train"] > 0 and report["inputs"]["sft"]["records"] > 1000
    assert (run / "data" / "report.md").read_text().startswith("# Training data report")

    manifest = json.loads((models / "aletheia-quick" / "manifest.json").read_text())
    assert manifest["name"] == "aletheia-quick" and manifest["base_model"] == "bundled"
    assert manifest["gguf"] == "model.gguf" and manifest["data_hash"] == report["data_hash"]
    assert manifest["config"]["sft"]["max_steps"] == 4
    assert manifest["metrics"]["sft"]["steps"] == 4 and manifest["metrics"]["dpo"]["steps"] == 2
    datetime.fromisoformat(manifest["created"])

    llm = _llama(models / "aletheia-quick" / "model.gguf")
    try:
        out = llm.create_chat_completion(messages=PROMPTS[0], max_tokens=24, temperature=0.0)
    finally:
        llm.close()
    assert out["choices"][0]["message"]["content"].strip()
    assert out["usage"]["completion_tokens"] > 0


def test_tracking_records_params_metrics_and_report(quick_run):
    import mlflow

    mlflow.set_tracking_uri(training_env(quick_run["tmp"])["MLFLOW_TRACKING_URI"])
    run_id = (quick_run["run"] / "mlflow_run_id").read_text().strip()
    run = mlflow.get_run(run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["config.sft.lora.r"] == "8"
    assert "sft/loss" in run.data.metrics and "dpo/loss" in run.data.metrics
    history = mlflow.tracking.MlflowClient().get_metric_history(run_id, "sft/loss")
    assert len(history) == 4  # one point per step (logging_steps: 1)
    artifacts = {a.path for a in mlflow.tracking.MlflowClient().list_artifacts(run_id, "data")}
    assert artifacts == {"data/report.json", "data/report.md"}


def test_exported_gguf_generates_the_merged_models_greedy_tokens(quick_run, tmp_path):
    """Export the merged checkpoint losslessly (f32): llama.cpp's greedy tokens must equal transformers'."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from training.base_model import bundled_gguf
    from training.export_gguf import export_gguf

    merged = quick_run["run"] / "merge" / "model"
    gguf = export_gguf(merged, tmp_path / "f32.gguf", reference_gguf=bundled_gguf(), outtype="f32")
    tok = AutoTokenizer.from_pretrained(merged)
    model = AutoModelForCausalLM.from_pretrained(merged, dtype=torch.float32).eval()
    llm = _llama(gguf)
    try:
        for messages in PROMPTS:
            ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)["input_ids"]
            with torch.no_grad():
                out = model.generate(torch.tensor([ids]), max_new_tokens=16, do_sample=False)
            hf = out[0, len(ids):].tolist()
            llm.reset()
            gg = []
            for t in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0):
                gg.append(t)
                if t == llm.token_eos() or len(gg) == len(hf):
                    break
            assert gg == hf, (messages, tok.decode(hf), tok.decode(gg))
    finally:
        llm.close()


def test_resume_after_sigkill_mid_sft(make_config, tmp_path):
    cfg = make_config({"sft.max_steps": 3, "sft.save_steps": 1, "data.base_pairs": 0, "eval.enabled": False})
    args = ["--config", str(cfg), "--stages", "data,sft", "--resume", "auto"]
    proc = subprocess.Popen([PY, "-m", "training.run", *args], cwd=ROOT, env=training_env(tmp_path),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    try:
        deadline = time.time() + 600
        first = None
        while time.time() < deadline and proc.poll() is None:
            found = list((tmp_path / "runs").glob("*/sft/checkpoints/checkpoint-1/trainer_state.json"))
            if found:
                first = found[0]
                break
            time.sleep(0.5)
        assert first is not None, f"no checkpoint appeared (rc={proc.poll()})"
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()
    run_dir = first.parents[3]
    assert not (run_dir / "sft" / "done.json").exists()

    resumed = run_training(args, tmp_path, timeout=900)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"in {run_dir} (resumed)" in resumed.stderr.replace("\n", "")
    done = json.loads((run_dir / "sft" / "done.json").read_text())["metrics"]
    assert done["steps"] == 3
    assert done["resumed_from"] and done["resumed_from"].startswith("checkpoint-")
    assert (run_dir / "sft" / "adapter" / "adapter_model.safetensors").is_file()


def test_ddp_two_cpu_processes(make_config, tmp_path):
    """The SFT stage (2 steps) in 2 CPU processes under `accelerate launch` (DDP over gloo), then
    merge and export on the main process: a valid GGUF."""
    cfg = make_config({"sft.max_steps": 2, "data.base_pairs": 0, "dpo.enabled": False})
    run_dir = tmp_path / "ddp-run"
    env = training_env(tmp_path)
    env["OMP_NUM_THREADS"] = "1"
    # accelerate 1.15 runs `--cpu --num_processes 2` as one process unless mpirun is set up; `--multi_gpu`
    # starts 2 processes through torchrun, and without CUDA they join a gloo group (DDP on CPU).
    cmd = [str(Path(PY).parent / "accelerate"), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "training.run", "--config", str(cfg),
           "--output-dir", str(run_dir), "--stages", "data,sft,dpo,merge,export"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    sft = json.loads((run_dir / "sft" / "done.json").read_text())["metrics"]
    assert sft["world_size"] == 2 and sft["steps"] == 2
    assert proc.stderr.count("sft: 2 steps") == 1  # only the main process reports
    llm = _llama(tmp_path / "models" / "aletheia-quick" / "model.gguf")
    try:
        out = llm.create_chat_completion(messages=PROMPTS[0], max_tokens=8, temperature=0.0)
    finally:
        llm.close()
    assert out["usage"]["completion_tokens"] > 0


def test_eval_stage_scores_the_registered_model(quick_run):
    """The eval stage on the quick run (1 item per domain task): metrics in eval/, the manifest and MLflow."""
    import mlflow

    proc = run_training(["--config", "training/configs/quick.yaml", "--resume", str(quick_run["run"]),
                         "--stages", "eval", "--set", f"models_dir={quick_run['models']}"],
                        quick_run["tmp"], timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = json.loads((quick_run["run"] / "eval" / "metrics.json").read_text())
    ours = results["aletheia-quick"]
    assert ours and all(isinstance(v, float) for v in ours.values())
    manifest = json.loads((quick_run["models"] / "aletheia-quick" / "manifest.json").read_text())
    assert manifest["metrics"]["eval"] == ours and manifest["metrics"]["sft"]["steps"] == 4
    mlflow.set_tracking_uri(training_env(quick_run["tmp"])["MLFLOW_TRACKING_URI"])
    metrics = mlflow.get_run((quick_run["run"] / "mlflow_run_id").read_text().strip()).data.metrics
    assert {f"eval/{k}" for k in ours} <= set(metrics)

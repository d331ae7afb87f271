"""Server settings: environment variables (ALETHEIA_*) via pydantic-settings, overridden by CLI flags."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ALETHEIA_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    models: Annotated[list[str], NoDecode] = Field(default_factory=list)
    models_dir: Path = Path("artifacts/models")
    loras: Annotated[list[str], NoDecode] = Field(default_factory=list)
    shipped_models_dir: Path = Field(default_factory=lambda: Path(__file__).resolve().parents[1] / "models",
                                     description="adapters shipped in the repository (models/<name>/)")
    kb_dir: Path = Path("artifacts/kb")  # knowledge stores and uploaded files (shared with `python -m server kb`)
    engine: Literal["llama", "vllm"] = "llama"
    ctx_size: int = Field(4096, ge=128, description="context per sequence (prompt + completion)")
    parallel: int = Field(8, ge=1, le=64, description="sequences decoded together (slots)")
    batch_size: int = Field(512, ge=16, description="tokens per llama_decode step")
    threads: int = Field(default_factory=lambda: os.cpu_count() or 2, ge=1)
    queue_size: int = Field(64, ge=0, description="requests allowed to wait for a slot; more get 503")
    kv_unified: bool = False
    json_max_string: int = Field(200, ge=0, description="characters a JSON string without maxLength "
                                 "may hold in constrained output (tool arguments, response_format); 0: no cap")
    api_key: str | None = None
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = 16 * 1024 * 1024
    database_url: str = Field("sqlite:///artifacts/gateway.sqlite", description="the gateway's keys, ledger "
                              "and feedback: a SQLite file (WAL) or postgresql://...; shared with the CLI; "
                              "'none': no gateway (only --api-key, no ledger)")
    key_cache_seconds: float = Field(2.0, ge=0, description="how long a key's record is cached: a key "
                                     "changed by the CLI or another replica takes effect within this long")
    redis_url: str | None = Field(None, description="rate and budget counters shared by replicas; "
                                  "default: this process's memory")
    experiments: Annotated[list[str], NoDecode] = Field(default_factory=list)
    store_transcripts: bool = Field(True, description="keep chat prompts and answers, for feedback export")
    request_timeout: float = Field(600.0, gt=0, description="seconds a request may wait and run before it is "
                                   "cancelled (its slot freed) and answered with a 504 timeout error")
    body_timeout: float = Field(30.0, gt=0, description="seconds a client may take to send its request body (408)")
    max_prompts: int = Field(32, ge=1, description="prompts one /v1/completions request may hold; keeps one "
                             "request from filling the wait queue")
    max_embedding_inputs: int = Field(2048, ge=1, description="inputs one /v1/embeddings request may hold "
                                      "(OpenAI's limit)")
    log_level: str = "info"

    @classmethod
    def _split_list(cls, value):
        if isinstance(value, str):
            return [m.strip() for m in value.split(",") if m.strip()]
        return value

    def model_post_init(self, __context) -> None:
        self.models = self._split_list(self.models)
        self.loras = self._split_list(self.loras)
        self.cors_origins = self._split_list(self.cors_origins)
        if isinstance(self.experiments, str):
            self.experiments = [e.strip() for e in self.experiments.split(";") if e.strip()]


def parse_args(argv: list[str] | None = None) -> Settings:
    p = argparse.ArgumentParser(prog="python -m server", description="Aletheia's OpenAI-compatible server.")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument(
        "--model",
        dest="models",
        action="append",
        metavar="ID_OR_PATH",
        help="aletheia-base, a GGUF path, or NAME=PATH; repeatable (env ALETHEIA_MODELS, comma-separated)",
    )
    p.add_argument("--models-dir", type=Path,
                   help="trained models, one folder each (model.gguf or adapter.gguf + manifest.json)")
    p.add_argument(
        "--lora",
        dest="loras",
        action="append",
        metavar="NAME=PATH[:BASE]",
        help="serve a GGUF LoRA adapter as NAME over the served model BASE (default aletheia-base); repeatable "
             "(env ALETHEIA_LORAS, comma-separated)",
    )
    p.add_argument("--shipped-models-dir", type=Path, help="adapters shipped with Aletheia (default: models/)")
    p.add_argument("--kb-dir", type=Path, help="knowledge stores and uploaded files (env ALETHEIA_KB_DIR)")
    p.add_argument("--engine", choices=["llama", "vllm"])
    p.add_argument("--ctx-size", type=int, help="context per sequence")
    p.add_argument("--parallel", type=int, help="parallel sequences (slots)")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--threads", type=int)
    p.add_argument("--queue-size", type=int)
    p.add_argument("--kv-unified", action="store_true", default=None)
    p.add_argument("--json-max-string", type=int,
                   help="cap on a JSON string without maxLength in tool arguments and response_format (0: none)")
    p.add_argument("--api-key", help="the admin key: require 'Authorization: Bearer KEY' (or a key made with "
                   "'python -m server keys create'); env ALETHEIA_API_KEY")
    p.add_argument(
        "--cors-origin",
        dest="cors_origins",
        action="append",
        metavar="ORIGIN",
        help="let browser pages from ORIGIN call the API (repeatable; '*' for any; env ALETHEIA_CORS_ORIGINS)",
    )
    p.add_argument("--max-body-bytes", type=int)
    p.add_argument("--database-url", help="the gateway's store (keys, ledger, feedback): sqlite:///PATH (default "
                   "artifacts/gateway.sqlite), postgresql://..., or 'none' (no gateway); env ALETHEIA_DATABASE_URL")
    p.add_argument("--key-cache-seconds", type=float,
                   help="a key changed by the CLI or another replica takes effect within this long (default 2)")
    p.add_argument("--redis-url", help="share rate limits and budgets between replicas through Redis "
                   "(redis://HOST:PORT/DB; env ALETHEIA_REDIS_URL)")
    p.add_argument("--experiment", dest="experiments", action="append", metavar="NAME=ID:WEIGHT,ID:WEIGHT",
                   help="serve NAME as an A/B experiment over model ids (repeatable; env ALETHEIA_EXPERIMENTS, "
                   "';'-separated)")
    p.add_argument("--no-store-transcripts", dest="store_transcripts", action="store_false", default=None,
                   help="do not keep chat prompts and answers (feedback export then has nothing to export)")
    p.add_argument("--request-timeout", type=float,
                   help="seconds a request may wait and run; then it is cancelled and answered 504 (default 600)")
    p.add_argument("--body-timeout", type=float, help="seconds a client may take to send its body (default 30)")
    p.add_argument("--max-prompts", type=int, help="prompts one /v1/completions request may hold (default 32)")
    p.add_argument("--max-embedding-inputs", type=int, help="inputs one /v1/embeddings request may hold (2048)")
    p.add_argument("--log-level")
    args = {k: v for k, v in vars(p.parse_args(argv)).items() if v is not None}
    return Settings(**args)

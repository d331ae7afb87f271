"""The `aletheia` settings section (workspace/configuration), validated into a typed object.

Keys (VS Code names): endpoint, model, apiKeyEnv, requestTimeout, maxTokens, diagnostics.enabled,
diagnostics.debounceMs, logAnalysis.enabled, ask.enabled. Nested objects and dotted keys are both accepted.
``apiKeyEnv`` names the environment variable that holds the key; the key itself never travels in settings.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlparse


@dataclass(frozen=True)
class Settings:
    endpoint: str = "http://127.0.0.1:8000/v1"
    model: str = "aletheia"
    api_key_env: str = ""
    request_timeout: float = 120.0
    max_tokens: int = 512
    diagnostics_enabled: bool = True
    debounce_ms: int = 300
    log_analysis_enabled: bool = True
    ask_enabled: bool = True

    def api_key(self) -> str:
        """The key from the named environment variable; servers without auth accept any string."""
        return (os.environ.get(self.api_key_env, "") if self.api_key_env else "") or "none"


_FIELDS = {
    "endpoint": ("endpoint", str),
    "model": ("model", str),
    "apiKeyEnv": ("api_key_env", str),
    "requestTimeout": ("request_timeout", float),
    "maxTokens": ("max_tokens", int),
    "diagnostics.enabled": ("diagnostics_enabled", bool),
    "diagnostics.debounceMs": ("debounce_ms", int),
    "logAnalysis.enabled": ("log_analysis_enabled", bool),
    "ask.enabled": ("ask_enabled", bool),
}


def _flatten(raw: dict, prefix: str = "") -> dict[str, Any]:
    out = {}
    for k, v in raw.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = v
    return out


def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from the client's `aletheia` section, and a message for each value that was ignored."""
    settings = base or Settings()
    if raw is None:
        return settings, []
    if not isinstance(raw, dict):
        return settings, [f"aletheia settings must be an object, got {type(raw).__name__}"]
    problems, changes = [], {}
    for key, value in _flatten(raw).items():
        if key not in _FIELDS:
            continue
        name, typ = _FIELDS[key]
        if value is None:
            continue
        try:
            if typ is bool:
                if not isinstance(value, bool):
                    raise ValueError("expected true or false")
                changes[name] = value
            elif typ in (int, float):
                if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                    raise ValueError("expected a number")
                number = typ(value)
                if number <= 0 and name != "debounce_ms" or number < 0:
                    raise ValueError("must be positive")
                changes[name] = number
            else:
                if not isinstance(value, str) or (name != "api_key_env" and not value.strip()):
                    raise ValueError("expected a non-empty string")
                changes[name] = value.strip()
        except (TypeError, ValueError) as e:
            problems.append(f"aletheia.{key}: {value!r} ignored ({e})")
    endpoint = changes.get("endpoint")
    if endpoint is not None:
        u = urlparse(endpoint)
        if u.scheme not in ("http", "https") or not u.netloc:
            problems.append(
                f"aletheia.endpoint: {endpoint!r} ignored (expected an http(s) URL such as "
                "http://127.0.0.1:8000/v1)"
            )
            del changes["endpoint"]
    return replace(settings, **changes), problems

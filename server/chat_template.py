"""Render chat messages with the model's own Jinja chat template (``tokenizer.chat_template`` in the GGUF).

A sandboxed Jinja environment with the helpers Hugging Face templates expect (``raise_exception``,
``strftime_now``, a ``tojson`` that keeps non-ASCII text), as transformers' ``apply_chat_template`` does.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

# A plain ChatML template for GGUFs that carry none.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class TemplateError(ValueError):
    """The template refused the conversation (e.g. roles out of order); a 400 for the client."""


def _raise(message: str):
    raise TemplateError(message)


def _tojson(value: Any, indent: int | None = None, **_: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


@lru_cache(maxsize=16)
def _compile(source: str) -> jinja2.Template:
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.filters["tojson"] = _tojson
    env.globals["raise_exception"] = _raise
    env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
    return env.from_string(source)


def render(
    template: str | None,
    messages: list[dict[str, Any]],
    *,
    special_tokens: dict[str, str],
    tools: list[dict] | None = None,
    add_generation_prompt: bool = True,
) -> str:
    try:
        return _compile(template or CHATML).render(
            messages=messages, tools=tools, add_generation_prompt=add_generation_prompt, **special_tokens
        )
    except TemplateError:
        raise
    except jinja2.TemplateError as exc:
        raise TemplateError(f"the model's chat template failed on these messages: {exc}") from exc
    except (TypeError, KeyError) as exc:
        raise TemplateError(f"the model's chat template cannot render these messages: {exc}") from exc

"""``python -m server``: Aletheia's OpenAI-compatible server (llama.cpp on CPU, vLLM on GPU).

``python -m server [flags]`` serves; ``python -m server COMMAND ...`` runs one of the admin commands over the
same settings and stores (each lives in its own module and owns its arguments).
"""

from __future__ import annotations

import importlib
import logging
import sys

# command -> module with a ``main(argv) -> int``
COMMANDS: dict[str, str] = {
    "kb": "server.kb.cli",
    "keys": "server.gateway.cli",
}


def serve(argv: list[str]) -> int:
    import uvicorn

    from .app import create_app
    from .settings import parse_args

    settings = parse_args(argv)
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app = create_app(settings)
    except (FileNotFoundError, ValueError, RuntimeError) as exc:  # a bad flag, model, experiment or store
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level,
                timeout_graceful_shutdown=5)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in COMMANDS:
        return importlib.import_module(COMMANDS[argv[0]]).main(argv[1:])
    return serve(argv)


if __name__ == "__main__":
    sys.exit(main())

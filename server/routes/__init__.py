"""One module per endpoint family, as in vLLM's OpenAI entrypoint."""

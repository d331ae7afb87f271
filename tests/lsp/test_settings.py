"""The `aletheia` settings section: names, nesting, validation messages, and the key never in settings."""

from __future__ import annotations

from lsp.settings import Settings, parse_settings


def test_defaults():
    s, problems = parse_settings(None)
    assert s == Settings() and problems == []
    assert (s.endpoint, s.model, s.max_tokens) == ("http://127.0.0.1:8000/v1", "aletheia", 512)


def test_nested_and_dotted_keys():
    s, problems = parse_settings(
        {
            "endpoint": "http://gpu:8000/v1",
            "model": "tuned",
            "requestTimeout": 30,
            "maxTokens": 128,
            "diagnostics": {"enabled": False, "debounceMs": 100},
            "logAnalysis.enabled": False,
            "ask": {"enabled": False},
            "unknown": 1,
        }
    )
    assert problems == []
    assert (s.endpoint, s.model, s.request_timeout, s.max_tokens) == (
        "http://gpu:8000/v1",
        "tuned",
        30.0,
        128,
    )
    assert (s.diagnostics_enabled, s.debounce_ms, s.log_analysis_enabled, s.ask_enabled) == (
        False,
        100,
        False,
        False,
    )


def test_bad_values_are_ignored_with_a_message():
    s, problems = parse_settings(
        {
            "endpoint": "localhost:8000",
            "maxTokens": -5,
            "requestTimeout": "soon",
            "diagnostics": {"enabled": "yes"},
            "model": "",
        }
    )
    assert s == Settings()
    assert len(problems) == 5 and all(p.startswith("aletheia.") for p in problems)
    assert parse_settings(["not", "an", "object"])[1] == ["aletheia settings must be an object, got list"]


def test_api_key_comes_from_the_named_variable(monkeypatch):
    monkeypatch.setenv("MY_ALETHEIA_KEY", "sk-test")
    s, _ = parse_settings({"apiKeyEnv": "MY_ALETHEIA_KEY"})
    assert s.api_key() == "sk-test"
    assert parse_settings({"apiKeyEnv": "UNSET_VARIABLE_X"})[0].api_key() == "none"
    assert Settings().api_key() == "none"

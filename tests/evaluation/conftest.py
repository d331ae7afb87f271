"""Fixtures for the evaluation tests: the small task fixtures beside this file."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def fixture_tasks_dir() -> Path:
    return DATA / "tasks"

"""The engine's periodic throughput line (unit level: the callback the engine thread calls each step)."""

from __future__ import annotations

import logging
import time

from server.metrics import Metrics


def test_busy_engine_logs_throughput_and_queue(caplog):
    metrics = Metrics()
    metrics.track_engine("m", lambda: {"running": 3, "waiting": 2})
    observe = metrics.step_observer("m", log_interval=0.05)
    with caplog.at_level(logging.INFO, logger="server.engine"):
        observe(3, 30, 3, 0.01)
        assert not caplog.records  # within the interval: no line yet
        for _ in range(3):  # steps 30 ms apart (busy), 90 ms in all
            time.sleep(0.03)
            observe(3, 0, 3, 0.01)
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("m: prompt ") and "running 3, waiting 2" in line and " steps" in line


def test_first_step_after_idle_starts_a_new_interval(caplog):
    metrics = Metrics()
    observe = metrics.step_observer("m", log_interval=0.05)
    observe(1, 10, 1, 0.001)
    time.sleep(0.08)  # idle longer than the interval
    with caplog.at_level(logging.INFO, logger="server.engine"):
        observe(1, 0, 1, 0.001)
    assert not caplog.records  # the idle time is not averaged into a misleading rate

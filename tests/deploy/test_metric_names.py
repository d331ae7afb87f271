"""Every metric the Grafana dashboard and the Prometheus rules query is one the real server's /metrics
exports (or a series the rules record from them, or Prometheus's own `up`)."""

from __future__ import annotations

import httpx
import openai
import pytest
from prometheus_client.parser import text_string_to_metric_families

from .files import DASHBOARDS, PROMETHEUS_RULES
from .promql_names import (
    UnnamedSelector,
    dashboard_exprs,
    grafana_expr,
    metric_names,
    recorded_names,
    rule_exprs,
)

PROMETHEUS_OWN = {"up"}  # written by Prometheus for every scrape target, not by the target


# -- the extraction itself ----------------------------------------------------------------------------------

def test_metric_names_finds_every_selector():
    expr = ('histogram_quantile(0.95, sum by (le, model) (rate(ttft_bucket{model=~"a|b"}[5m])))'
            ' / on (model) group_left sum without (status) (requests_total offset 1h)'
            ' + max_over_time(queue_waiting[10m:1m]) + {__name__="by_matcher", job="x"}'
            ' and absent(up{job="aletheia"}) > bool 0.5')
    assert metric_names(expr) == {"ttft_bucket", "requests_total", "queue_waiting", "by_matcher", "up"}


def test_metric_names_ignores_labels_functions_and_keywords():
    # Label names, label values, function names and aggregation keywords are no metrics.
    assert metric_names('sum by (rate, le) (rate(x{sum="rate", by="histogram_quantile"}[5m]))') == {"x"}
    assert metric_names("vector(1) + time()") == set()


def test_metric_names_refuses_bad_promql_and_unnamed_selectors():
    with pytest.raises(ValueError):
        metric_names("sum(rate(x[5m])")
    with pytest.raises(ValueError):
        metric_names("histogram_quantile(0.9, x_bucket[5m])")  # a range vector where an instant one is needed
    with pytest.raises(UnnamedSelector):
        metric_names('{__name__=~"aletheia_.*"}')


def test_grafana_queries_become_promql():
    assert grafana_expr('rate(x{model=~"$model"}[$__rate_interval])') == 'rate(x{model=~"grafana_variable"}[5m])'
    assert metric_names(grafana_expr("label_values(aletheia_requests_running, model)")) == {
        "aletheia_requests_running"}


# -- the files against the real server ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def exported(llm_server) -> set[str]:
    """Sample names of the real server's /metrics after one chat request (histograms then have samples)."""
    client = openai.OpenAI(base_url=llm_server.base_url, api_key="unused", max_retries=0, timeout=300)
    reply = client.chat.completions.create(model=llm_server.model, max_tokens=8, temperature=0,
                                           messages=[{"role": "user", "content": "Name one Linux signal."}])
    assert reply.usage.completion_tokens >= 2  # two tokens or more: an inter-token latency was observed
    text = httpx.get(f"{llm_server.url}/metrics", timeout=30).text
    names = {sample.name for family in text_string_to_metric_families(text) for sample in family.samples}
    assert "aletheia_inter_token_latency_seconds_count" in names
    return names


def _unknown(exprs: dict[str, str], known: set[str]) -> dict[str, set[str]]:
    return {where: missing for where, expr in exprs.items() if (missing := metric_names(expr) - known)}


def test_rules_query_only_exported_metrics(exported):
    recorded = set().union(*(recorded_names(p) for p in PROMETHEUS_RULES))
    for path in PROMETHEUS_RULES:
        exprs = rule_exprs(path)
        assert exprs
        assert _unknown(exprs, exported | recorded | PROMETHEUS_OWN) == {}, path.name


def test_dashboard_queries_only_exported_metrics(exported):
    recorded = set().union(*(recorded_names(p) for p in PROMETHEUS_RULES))
    for path in DASHBOARDS:
        exprs = dashboard_exprs(path)
        assert _unknown(exprs, exported | recorded) == {}, path.name


def test_dashboard_shows_latency_throughput_queue_and_requests():
    queried = set().union(*(metric_names(e) for p in DASHBOARDS for e in dashboard_exprs(p).values()))
    assert {
        "aletheia_time_to_first_token_seconds_bucket",
        "aletheia_inter_token_latency_seconds_bucket",
        "aletheia_generation_tokens_total",
        "aletheia_generation_throughput_tokens_per_second",
        "aletheia_requests_running",
        "aletheia_requests_waiting",
        "aletheia_requests_total",
    } <= queried

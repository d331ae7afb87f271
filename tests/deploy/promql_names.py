"""Metric names a PromQL expression reads, found by parsing it (promql-parser, a PromQL parser), and the
expressions of the deployment files: Prometheus rules and Grafana dashboard queries."""

from __future__ import annotations

import re
from pathlib import Path

import promql_parser

from .files import load_json, load_yaml

# Grafana's interval variables stand where PromQL wants a duration; any other variable stands inside a label
# matcher's string (`model=~"$model"`), where any text parses.
_GRAFANA_INTERVAL = re.compile(r"\$(?:__(?:rate_interval|interval|range)\b|\{__(?:rate_interval|interval|range)\})")
_GRAFANA_VARIABLE = re.compile(r"\$(?:\{\w+(?::\w+)?\}|\w+)")
_LABEL_VALUES = re.compile(r"^\s*label_values\((?P<expr>.+),\s*\w+\s*\)\s*$", re.DOTALL)


class UnnamedSelector(ValueError):
    """A selector whose metric name is a regular expression: no fixed name to check."""


def metric_names(expr: str) -> set[str]:
    """The metric names of every vector selector in ``expr`` (by name, or by an exact ``__name__`` matcher).
    Raises ValueError when the expression does not parse."""
    names: set[str] = set()

    def visit(node) -> None:
        if not isinstance(node, promql_parser.VectorSelector):
            return
        exact = [m.value for m in node.matchers.matchers
                 if m.name == "__name__" and m.op == promql_parser.MatchOp.Equal]
        if node.name:
            names.add(node.name)
        elif exact:
            names.update(exact)
        else:
            raise UnnamedSelector(f"selector without a fixed metric name in {expr!r}")

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names


def grafana_expr(query: str) -> str:
    """A Grafana query as plain PromQL: variables substituted, ``label_values(EXPR, label)`` reduced to EXPR."""
    query = _GRAFANA_INTERVAL.sub("5m", query)
    query = _GRAFANA_VARIABLE.sub("grafana_variable", query)
    match = _LABEL_VALUES.match(query)
    return match["expr"] if match else query


def rule_exprs(path: Path) -> dict[str, str]:
    """``{rule name: expr}`` of a Prometheus rule file (recording rules by `record`, alerts by `alert`)."""
    return {rule.get("record") or rule["alert"]: rule["expr"]
            for group in load_yaml(path)["groups"] for rule in group["rules"]}


def recorded_names(path: Path) -> set[str]:
    return {rule["record"] for group in load_yaml(path)["groups"] for rule in group["rules"] if "record" in rule}


def dashboard_exprs(path: Path) -> dict[str, str]:
    """``{where: PromQL}`` for every query of a Grafana dashboard: panel targets (rows' nested panels too) and
    query variables."""
    dashboard = load_json(path)
    out: dict[str, str] = {}
    panels = list(dashboard.get("panels", []))
    while panels:
        panel = panels.pop()
        panels.extend(panel.get("panels", []))
        for target in panel.get("targets", []):
            out[f"panel {panel['title']!r} target {target['refId']}"] = grafana_expr(target["expr"])
    for variable in dashboard.get("templating", {}).get("list", []):
        if variable.get("type") == "query":
            query = variable["query"]
            query = query["query"] if isinstance(query, dict) else query
            out[f"variable {variable['name']!r}"] = grafana_expr(query)
    return out

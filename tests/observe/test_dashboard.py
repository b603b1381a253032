"""docs/grafana/llmrelay.json queries only metrics that llmrelay exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from llmrelay.observe import CallRecord, LabelBounds, render
from llmrelay.observe.metrics import Metrics

DASHBOARD = Path(__file__).parents[2] / "docs" / "grafana" / "llmrelay.json"
BOUNDS = LabelBounds.of(["chat"], ["a"], ["m"], ["openai"])


def exported() -> dict[str, set[str]]:
    """Every sample name a registry with llmrelay's metrics scrapes, with its label names."""
    reg = CollectorRegistry()
    m = Metrics(reg, BOUNDS)
    m.started(stream=True)
    m.finished(CallRecord("chat", True, "chat", alias="chat", latency=1.0, ttft=0.2, rate_limit_wait=0.1))
    out: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(render(reg)[0].decode()):
        for s in family.samples:
            out.setdefault(s.name, set()).update(s.labels)
    from llmrelay.observe.metrics import FAMILIES

    for f in FAMILIES:  # families with no sample yet still have their names and labels
        for name in f.samples:
            out.setdefault(name, set()).update(f.labels)
            if name.endswith("_bucket"):
                out[name].add("le")
    return out


def test_every_metric_and_label_the_dashboard_queries_exists() -> None:
    doc = json.loads(DASHBOARD.read_text())
    names = exported()
    exprs = [t["expr"] for p in doc["panels"] for t in p["targets"]]
    assert len(exprs) >= 15
    used: set[str] = set()
    for expr in exprs:
        for metric in re.findall(r"\bllmrelay_\w+", expr):
            assert metric in names, f"{metric} in {expr!r} is not exported"
            used.add(metric)
            for label in re.findall(r"\b(\w+)\s*=~?\s*\"", expr):
                assert any(label in names[m] for m in re.findall(r"\bllmrelay_\w+", expr)), (label, expr)
        for group in re.findall(r"\b(?:by|on)\s*\(([^)]*)\)", expr):
            labels = {x.strip() for x in group.split(",") if x.strip()}
            metrics = re.findall(r"\bllmrelay_\w+", expr)
            assert all(any(label in names[m] for m in metrics) for label in labels), (labels, expr)
    # every family is on the dashboard, but the transitions counter (the state gauge shows them)
    from llmrelay.observe.metrics import FAMILIES

    missing = [f.name for f in FAMILIES if not any(s in used for s in f.samples)]
    assert missing == ["llmrelay_circuit_transitions"], missing


def test_panels_use_the_datasource_variable() -> None:
    doc = json.loads(DASHBOARD.read_text())
    assert any(v["name"] == "datasource" for v in doc["templating"]["list"])
    assert all(p["datasource"]["uid"] == "${datasource}" for p in doc["panels"])
    ids = [p["id"] for p in doc["panels"]]
    assert len(ids) == len(set(ids))

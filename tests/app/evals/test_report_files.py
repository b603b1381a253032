"""The report page and its plot, built from made-up results (pure)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from llmrelay.app.evals import EvalReport, Score
from llmrelay.app.evals.files import render_html, write_report
from llmrelay.app.evals.summary import CaseResult, case_quality, compare, summarize_variant
from llmrelay.app.evals.svg import Point, money, nice_ticks, scatter


def cases(label: str, values: list[float], cost: float | None, answer: str = "ok") -> list[CaseResult]:
    out = []
    for i, v in enumerate(values):
        scores = {"exact": Score(v)}
        out.append(
            CaseResult(label, f"i{i}", answer, None, scores, case_quality(scores, None), cost, 0.01 * (i + 1))
        )
    return out


def report(a: list[CaseResult], b: list[CaseResult]) -> EvalReport:
    summaries = tuple(summarize_variant(x[0].variant, "m", None, x, ["exact"]) for x in (a, b))
    return EvalReport(
        title="<t>",
        items=len(a),
        scorers=("exact",),
        variants=summaries,
        comparisons=(compare(a[0].variant, b[0].variant, a + b),),
        cases=tuple(a + b),
        baseline=a[0].variant,
        answer_cost=None,
        scoring_cost=0.0,
        elapsed=1.0,
        confidence=0.95,
        resamples=2000,
    )


def test_everything_from_data_is_escaped() -> None:
    a = cases("<b>base</b>", [1, 0, 1, 0], 0.001, answer="<script>alert(1)</script>")
    b = cases("new & better", [1, 1, 1, 0], None, answer="fine")
    html = render_html(report(a, b))
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>base</b>" not in html and "&lt;b&gt;base&lt;/b&gt;" in html and "new &amp; better" in html
    assert "Eval: &lt;t&gt;" in html
    assert "<svg" in html and 'id="scatter"' in html and html.count("<tr>") >= 6


def test_a_variant_with_nothing_scored_is_left_off_the_plot_keeping_the_colours() -> None:
    a = cases("a", [1, 0], 0.001)
    unscored = [
        CaseResult("b", f"i{i}", "x", None, {"exact": Score.failed("no")}, None, 0.001, 0.1) for i in (0, 1)
    ]
    c = cases("c", [1, 1], 0.002)
    r = report(a, unscored)
    r = dataclasses.replace(r, variants=(*r.variants, summarize_variant("c", "m", None, c, ["exact"])))
    svg = render_html(r).split("<svg", 1)[1]
    assert "<title>a:" in svg and "<title>c:" in svg and "<title>b:" not in svg
    assert 'fill="#2ca02c"' in svg and 'fill="#ff7f0e"' not in svg  # c keeps the third colour


def test_latency_and_cost_figures() -> None:
    a = cases("a", [1, 0, 1, 0], 0.002)
    v = summarize_variant("a", "m", None, a, ["exact"])
    assert v.cost == pytest.approx(0.008) and v.cost_per_item == pytest.approx(0.002)
    assert v.latency_mean == pytest.approx(0.025) and v.latency_p50 == pytest.approx(0.025)
    assert v.latency_p95 == pytest.approx(0.0385)
    unknown = summarize_variant("b", "m", None, cases("b", [1], None), ["exact"])
    assert unknown.cost is None and unknown.cost_per_item is None


def test_an_unknown_cost_is_a_hollow_point_on_the_axis() -> None:
    svg = scatter([Point("known", 0.002, 0.5, 0.4, 0.6), Point("unknown", None, 0.7, 0.6, 0.8)])
    assert svg.count('fill="#ffffff"') == 2  # the point and its legend marker
    assert "cost unknown" in svg and "$0.0020 per item" not in svg


def test_ticks_and_money() -> None:
    assert nice_ticks(0, 0.00014) == pytest.approx([0, 0.00005, 0.0001, 0.00015])
    assert nice_ticks(0, 1) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert nice_ticks(0, 0) == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    assert [money(x) for x in (0, 0.25, 0.00005, 1e-8)] == ["$0", "$0.25", "$0.00005", "$1.0e-08"]


def test_write_report_writes_three_files(tmp_path: Path) -> None:
    write_report(report(cases("a", [1, 0], 0.1), cases("b", [1, 1], 0.2)), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "results.jsonl", "summary.json"]
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 4

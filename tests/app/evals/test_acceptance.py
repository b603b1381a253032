"""Acceptance: an eval of two prompt versions (on two models) over 200 items reports quality,
cost and latency per variant, a confidence interval on the quality difference, and an HTML
report that renders in headless Chromium with its plot (a screenshot is taken and read)."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import llmrelay
from llmrelay.app.evals import ExactMatch, LLMJudge, NumericMatch, make_variants, run_eval
from llmrelay.app.evals.svg import colour
from llmrelay.app.prompts import PromptLibrary

from .chromium import read_png, require_chromium, rgb, screenshot
from .support import ArithmeticModel, write_dataset, write_library

MODELS = ["simulator/gpt-4o-mini", "simulator/gpt-4o"]


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, int] = {}
        self.svg = 0
        self._table: str | None = None
        self._in_body = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self._table = dict(attrs).get("id")
            self.rows[self._table or ""] = 0
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self.rows[self._table] += 1
        elif tag == "svg":
            self.svg += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False


async def test_two_prompt_versions_on_200_items(client: llmrelay.Client, tmp_path: Path) -> None:
    model = ArithmeticModel()
    client.simulator.replies = model
    library = PromptLibrary.load(write_library(tmp_path / "prompts"))
    dataset = write_dataset(tmp_path / "arith.jsonl", 200)
    variants = make_variants(["arith@v1", "arith@v2"], MODELS, library=library)
    judge = LLMJudge("The answer states the correct sum.", model="simulator/gpt-4o-mini")
    out = tmp_path / "out"
    report = await run_eval(
        client,
        dataset,
        variants,
        [NumericMatch(), ExactMatch(), judge],
        params={"max_tokens": 40},
        concurrency=32,
        output_dir=out,
    )

    # per variant: quality with its interval, cost and latency, each from the answers themselves
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 800 and model.judge_calls == 800
    for v in report.variants:
        mine = [r for r in rows if r["variant"] == v.label]
        assert v.items == v.answered == 200 and v.failed == 0
        assert v.quality is not None
        assert abs(v.quality.estimate - sum(r["quality"] for r in mine) / 200) < 1e-9
        assert v.quality.low < v.quality.estimate < v.quality.high
        assert v.cost is not None and abs(v.cost - sum(r["cost"] for r in mine)) < 1e-12 and v.cost > 0
        latencies = sorted(r["latency"] for r in mine)
        assert v.latency_p50 is not None and v.latency_p95 is not None and v.latency_mean is not None
        assert latencies[0] <= v.latency_p50 <= v.latency_p95 <= latencies[-1]
        # the judge agrees with the numeric check on this model: it grades by the same sum
        assert v.scorers["judge"] == v.scorers["numeric"]

    v1, v1_big, v2, v2_big = (report.variant(x.label) for x in variants)
    assert [x.label for x in variants] == [
        "arith@v1 · simulator/gpt-4o-mini",
        "arith@v1 · simulator/gpt-4o",
        "arith@v2 · simulator/gpt-4o-mini",
        "arith@v2 · simulator/gpt-4o",
    ]
    assert v2.quality and v1.quality and v2.quality.estimate > v1.quality.estimate + 0.15
    assert v2_big.quality and v1_big.quality and v2_big.quality.estimate > v1_big.quality.estimate + 0.15
    assert v2_big.quality.estimate > v2.quality.estimate  # the larger model is right more often
    assert v1.scorers["exact"] == 0.0 and v2.scorers["exact"] == v2.scorers["numeric"]  # v1 writes prose
    assert v1_big.cost_per_item and v1.cost_per_item and v1_big.cost_per_item > 5 * v1.cost_per_item

    # the difference v2 - v1 (same model) is clearly positive, and is the paired mean difference
    diff = next(c for c in report.comparisons if c.variant == v2.label)
    assert diff.baseline == v1.label and diff.items == 200 and diff.significant
    assert diff.difference is not None and diff.difference.low > 0
    assert abs(diff.difference.estimate - (v2.quality.estimate - v1.quality.estimate)) < 1e-9
    summary = json.loads((out / "summary.json").read_text())
    assert [v["variant"] for v in summary["variants"]] == [x.label for x in variants]
    assert summary["comparisons"][1]["ci"][0] > 0

    # the HTML: a table row per variant and comparison, and the plot inline
    html = (out / "report.html").read_text()
    parsed = _Tables()
    parsed.feed(html)
    assert parsed.rows["variants"] == 4 and parsed.rows["comparisons"] == 3 and parsed.svg >= 1
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing to fetch

    # ... and it renders, plot included, in headless Chromium
    binary = require_chromium()
    png = tmp_path / "report.png"
    screenshot(binary, out / "report.html", png, tmp_path / "profile", size=(1100, 1000))
    width, height, counts = read_png(png)
    assert (width, height) == (1100, 1000)
    assert counts.get((250, 250, 250), 0) > 60_000, "the plot's area (#fafafa) is not on the page"
    for i in range(4):
        # a table swatch alone is under 100 pixels; the plotted point, its bar and its legend add more
        assert counts.get(rgb(colour(i)), 0) > 200, f"variant {i}'s point is not drawn"

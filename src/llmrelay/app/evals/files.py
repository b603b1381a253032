"""Writing an eval's results: ``results.jsonl`` (one line per answer), ``summary.json`` (the
figures) and ``report.html`` (one self-contained page: tables and an inline SVG plot, no
script and nothing fetched, so it opens offline and can be archived or attached as it is)."""

from __future__ import annotations

import json
import os
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from llmrelay.app.evals.svg import Point, colour, scatter

if TYPE_CHECKING:
    from llmrelay.app.evals.report import EvalReport

#: rows of the "where the variants disagree" table
_DISAGREEMENTS = 40
_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1180px;
color:#222;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}
p.meta{color:#555;margin:0 0 16px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 8px}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:right;vertical-align:top}
th{background:#f2f2f2}td.l,th.l{text-align:left}
td.sig{font-weight:600}.swatch{display:inline-block;width:10px;height:10px;border-radius:5px;margin-right:6px}
td.ans{max-width:360px;text-align:left;white-space:pre-wrap;word-break:break-word;font-size:12px}
.note{color:#666;font-size:12px}
"""


def write_report(report: EvalReport, folder: Path) -> None:
    """Write the three files into ``folder`` (each replaced atomically)."""
    lines = "".join(json.dumps(c.to_json(), ensure_ascii=False) + "\n" for c in report.cases)
    _write(folder / "results.jsonl", lines)
    _write(folder / "summary.json", json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    _write(folder / "report.html", render_html(report))


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def _usd(value: float | None) -> str:
    return "unknown" if value is None else f"${value:.4f}" if value >= 0.01 else f"${value:.6f}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value * 1000:.0f} ms"


def render_html(report: EvalReport) -> str:
    """The HTML page (pure). Every value that came from a dataset or a model is escaped."""
    e = escape
    conf = f"{report.confidence * 100:g}%"
    head = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Eval: {e(report.title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Eval: {e(report.title)}</h1>",
        f'<p class="meta">{report.items} items × {len(report.variants)} variants; scorers: '
        f"{e(', '.join(report.scorers))}; answers cost {_usd(report.answer_cost)}, scoring "
        f"{_usd(report.scoring_cost)}; {report.elapsed:.1f} s</p>",
    ]
    if report.stopped:
        head.append(f'<p class="meta"><b>Stopped early:</b> {e(report.stopped)}</p>')
    body = [*head, "<h2>Variants</h2>", _variants_table(report, conf)]
    body += ["<h2>Quality difference from the baseline</h2>", _comparisons_table(report, conf)]
    # a variant with nothing scored has no place on a quality axis; it is in the table
    points = [
        Point(v.label, v.cost_per_item, v.quality.estimate, v.quality.low, v.quality.high, colour(i))
        for i, v in enumerate(report.variants)
        if v.quality is not None
    ]
    body += [
        "<h2>Cost against quality</h2>",
        f'<figure id="scatter">{scatter(points)}<figcaption class="note">Each point is a variant: its '
        f"mean cost per item and mean quality; the bar is the quality's {conf} bootstrap interval. "
        "A hollow point's cost is unknown (no price for its model).</figcaption></figure>",
    ]
    body += _disagreements(report)
    body.append("</body></html>")
    return "\n".join(body) + "\n"


def _variants_table(report: EvalReport, conf: str) -> str:
    e = escape
    score_heads = "".join(f"<th>{e(n)}</th>" for n in report.scorers)
    rows = [
        '<table id="variants"><thead><tr><th class="l">variant</th><th class="l">model</th>'
        f"<th>quality</th><th>{conf} interval</th>{score_heads}<th>answered</th><th>failed</th>"
        "<th>cost</th><th>cost / item</th><th>latency mean</th><th>p50</th><th>p95</th>"
        "<th>tokens in / out</th></tr></thead><tbody>"
    ]
    for i, v in enumerate(report.variants):
        q = v.quality
        cells = "".join(
            f"<td>{_pct(v.scorers.get(n))}"
            + (f' <span class="note">({v.scorer_errors[n]} errors)</span>' if v.scorer_errors.get(n) else "")
            + "</td>"
            for n in report.scorers
        )
        rows.append(
            f'<tr><td class="l"><span class="swatch" style="background:{colour(i)}"></span>{e(v.label)}</td>'
            f'<td class="l">{e(v.model or "")}</td><td>{_pct(q.estimate if q else None)}</td>'
            f"<td>{'–' if q is None else f'{q.low:.3f} – {q.high:.3f}'}</td>{cells}"
            f"<td>{v.answered}</td><td>{v.failed}</td><td>{_usd(v.cost)}</td><td>{_usd(v.cost_per_item)}</td>"
            f"<td>{_ms(v.latency_mean)}</td><td>{_ms(v.latency_p50)}</td><td>{_ms(v.latency_p95)}</td>"
            f"<td>{v.input_tokens:,} / {v.output_tokens:,}</td></tr>"
        )
    rows.append("</tbody></table>")
    rows.append(
        '<p class="note">Quality is the mean over items of each answer\'s mean score (0–1); a failed call '
        "scores 0. A scorer column is that scorer's mean over the answers it could score.</p>"
    )
    return "\n".join(rows)


def _comparisons_table(report: EvalReport, conf: str) -> str:
    e = escape
    if not report.comparisons:
        return '<p class="note">One variant: nothing to compare.</p>'
    rows = [
        '<table id="comparisons"><thead><tr><th class="l">variant</th><th class="l">baseline</th>'
        f'<th>difference</th><th>{conf} interval</th><th>paired items</th><th class="l">verdict</th>'
        "</tr></thead><tbody>"
    ]
    for c in report.comparisons:
        d = c.difference
        if d is None:
            verdict, diff, ci = "no items to pair", "–", "–"
        else:
            diff, ci = f"{d.estimate:+.3f}", f"{d.low:+.3f} – {d.high:+.3f}"
            verdict = (
                ("better" if d.estimate > 0 else "worse") + " than the baseline"
                if c.significant
                else "no clear difference (the interval contains 0)"
            )
        rows.append(
            f'<tr><td class="l">{e(c.variant)}</td><td class="l">{e(c.baseline)}</td>'
            f'<td class="{"sig" if c.significant else ""}">{diff}</td><td>{ci}</td><td>{c.items}</td>'
            f'<td class="l">{verdict}</td></tr>'
        )
    method = report.comparisons[0].method
    rows.append("</tbody></table>")
    rows.append(
        f'<p class="note">Interval: {e(method)}, {report.resamples:,} resamples; items where either '
        "variant could not be scored are left out of the pair.</p>"
    )
    return "\n".join(rows)


def _disagreements(report: EvalReport) -> list[str]:
    """Items whose quality differs most between variants, with each variant's answer."""
    e = escape
    labels = [v.label for v in report.variants]
    if len(labels) < 2:
        return []
    by_item: dict[str, dict[str, tuple[float | None, str]]] = {}
    for c in report.cases:
        shown = c.answer if c.answer is not None else f"[{c.error}]"
        by_item.setdefault(c.item_id, {})[c.variant] = (c.quality, shown)
    spread = []
    for item, row in by_item.items():
        qs = [q for q, _ in row.values() if q is not None]
        if len(qs) >= 2 and max(qs) > min(qs):
            spread.append((max(qs) - min(qs), item))
    if not spread:
        return ["<h2>Where the variants disagree</h2>", '<p class="note">They agree on every item.</p>']
    spread.sort(key=lambda t: -t[0])
    heads = "".join(f'<th class="l">{e(label)}</th>' for label in labels)
    out = [
        "<h2>Where the variants disagree</h2>",
        f'<p class="note">The {min(_DISAGREEMENTS, len(spread))} of {len(spread)} items whose quality '
        "differs most between variants (quality, then the answer).</p>",
        f'<table id="disagreements"><thead><tr><th class="l">item</th>{heads}</tr></thead><tbody>',
    ]
    for _, item in spread[:_DISAGREEMENTS]:
        cells = []
        for label in labels:
            q, text = by_item[item].get(label, (None, ""))
            short = text if len(text) <= 400 else text[:399] + "…"
            cells.append(f'<td class="ans"><b>{_pct(q)}</b> {e(short)}</td>')
        out.append(f'<tr><td class="l">{e(item)}</td>{"".join(cells)}</tr>')
    out.append("</tbody></table>")
    return out

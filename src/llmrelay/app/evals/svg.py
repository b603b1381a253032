"""The report's cost-vs-quality scatter as inline SVG, drawn here (pure; no plotting library
and nothing loaded from the network, so the report renders offline as one file)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

#: one colour per variant (Tableau 10, distinguishable and colour-blind friendlier than most)
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


@dataclass(frozen=True, slots=True)
class Point:
    """A variant on the plot: ``x`` cost per item (USD; None when unknown), ``y`` quality
    with its interval (``low``, ``high``)."""

    label: str
    x: float | None
    y: float
    low: float
    high: float
    #: its colour (default: the palette's, by position), to match a table's swatch
    colour: str | None = None


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return [0.0, 1.0]
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    start = math.floor(low / step) * step
    ticks = []
    value = start
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    if ticks[-1] < high:
        ticks.append(round(value, 12))
    return ticks


def money(value: float) -> str:
    """A tick's dollars: ``$0.25``, ``$0.00005``; below a millionth in e-notation."""
    if value == 0:
        return "$0"
    if abs(value) >= 0.01:
        return f"${value:.2f}"
    if abs(value) >= 1e-6:
        return "$" + f"{value:.8f}".rstrip("0")
    return f"${value:.1e}"


def scatter(points: Sequence[Point], *, width: int = 820, height: int = 420) -> str:
    """An SVG scatter of cost per item (x) against quality (y, 0–1) with each variant's
    interval as a vertical bar and a legend. Variants of unknown cost sit on the left axis
    with a hollow marker."""
    left, right, top, bottom = 80, 300, 24, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    known = [p.x for p in points if p.x is not None]
    x_ticks = nice_ticks(0.0, max(known) if known and max(known) > 0 else 1e-6)
    x_max = x_ticks[-1] or 1.0
    y_ticks = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]

    def px(x: float) -> float:
        return left + plot_w * (x / x_max)

    def py(y: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, y)))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Cost per item against quality" '
        'font-family="system-ui, sans-serif" font-size="12" class="scatter">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>',
    ]
    for t in y_ticks:
        y = py(t)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">{t:.1f}</text>')
    for t in x_ticks:
        x = px(t)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{top + plot_h}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 18}" text-anchor="middle">{money(t)}</text>')
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 12}" text-anchor="middle" font-weight="600">'
        "cost per item (USD)</text>"
    )
    parts.append(
        f'<text transform="translate(18 {top + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle" '
        'font-weight="600">quality (0–1)</text>'
    )
    for i, p in enumerate(points):
        c = p.colour or colour(i)
        x = px(p.x) if p.x is not None else left
        parts.append(
            f'<line x1="{x:.1f}" y1="{py(p.low):.1f}" x2="{x:.1f}" y2="{py(p.high):.1f}" '
            f'stroke="{c}" stroke-width="2"/>'
        )
        fill = c if p.x is not None else "#ffffff"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{py(p.y):.1f}" r="7" fill="{fill}" stroke="{c}" stroke-width="2">'
            f"<title>{escape(p.label)}: quality {p.y:.3f} [{p.low:.3f}, {p.high:.3f}], "
            f"{'cost unknown' if p.x is None else money(p.x) + ' per item'}</title></circle>"
        )
        ly = top + 14 + i * 22
        lx = left + plot_w + 16
        parts.append(
            f'<circle cx="{lx + 6}" cy="{ly - 4}" r="6" fill="{fill}" stroke="{c}" stroke-width="2"/>'
        )
        name = p.label if len(p.label) <= 40 else p.label[:39] + "…"
        parts.append(f'<text x="{lx + 18}" y="{ly}">{escape(name)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)

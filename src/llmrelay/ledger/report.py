"""Usage totals for people (a rich table) and for spreadsheets (CSV)."""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TextIO

from llmrelay.ledger.backend import open_backend
from llmrelay.ledger.query import UsageQuery, UsageRow

if TYPE_CHECKING:
    from rich.table import Table

CSV_COLUMNS: tuple[str, ...] = (
    "calls",
    "errors",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost_usd",
    "unpriced_calls",
    "avg_latency_s",
    "cache_write_5m_tokens",
    "cache_write_1h_tokens",
    "cache_hits",
    "saved_provider_cache_usd",
    "saved_response_cache_usd",
)


def format_cost(row: UsageRow) -> str:
    """Dollars, with calls of unknown price called out rather than counted as $0."""
    if row.cost is None:
        return "unknown" if row.unpriced_calls else "$0"
    text = f"${row.cost:,.4f}" if row.cost < 100 else f"${row.cost:,.2f}"
    return f"{text} + {row.unpriced_calls} unpriced" if row.unpriced_calls else text


def write_csv(rows: Sequence[UsageRow], by: str, out: TextIO) -> None:
    """One line per group: the group, then ``CSV_COLUMNS``. Unknown cost is an empty cell."""
    w = csv.writer(out, lineterminator="\n")
    w.writerow((by, *CSV_COLUMNS))
    for r in rows:
        w.writerow(
            (
                r.group,
                r.calls,
                r.errors,
                r.input_tokens,
                r.output_tokens,
                r.cached_input_tokens,
                r.cache_write_tokens,
                r.reasoning_tokens,
                "" if r.cost is None else repr(r.cost),
                r.unpriced_calls,
                "" if r.avg_latency is None else f"{r.avg_latency:.6f}",
                r.cache_write_5m_tokens,
                r.cache_write_1h_tokens,
                r.cache_hits,
                repr(r.saved_provider_cache),
                repr(r.saved_response_cache),
            )
        )


def usage_table(rows: Sequence[UsageRow], total: UsageRow | None, by: str, title: str) -> Table:
    """A table of ``rows`` with ``total`` as the last line. For ``by="tag"`` a call with
    several tags counts under each, so the total (each call once) can be less than the sum.
    Latency is the mean per call. Reasoning and cache write (by lifetime) columns, and
    what the provider cache and the response cache saved, are shown when any row has
    some."""
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_footer=total is not None)

    def foot(value: str) -> str:
        return value if total is not None else ""

    table.add_column(by, footer=foot("total"), no_wrap=True)
    numeric: list[tuple[str, Callable[[UsageRow], str]]] = [
        ("calls", lambda r: f"{r.calls:,}"),
        ("errors", lambda r: f"{r.errors:,}"),
        ("input", lambda r: f"{r.input_tokens:,}"),
        ("output", lambda r: f"{r.output_tokens:,}"),
        ("cache read", lambda r: f"{r.cached_input_tokens:,}"),
    ]
    # detail columns only when some call has something to show in them: a ledger without
    # reasoning models or caches keeps a table that fits a terminal
    shown = [*rows, *([total] if total is not None else [])]
    details: list[tuple[str, Callable[[UsageRow], str], Callable[[UsageRow], float]]] = [
        ("reasoning", lambda r: f"{r.reasoning_tokens:,}", lambda r: r.reasoning_tokens),
        ("write 5m", lambda r: f"{r.cache_write_5m_tokens:,}", lambda r: r.cache_write_5m_tokens),
        ("write 1h", lambda r: f"{r.cache_write_1h_tokens:,}", lambda r: r.cache_write_1h_tokens),
    ]
    savings: list[tuple[str, Callable[[UsageRow], str], Callable[[UsageRow], float]]] = [
        (
            "saved: provider cache",
            lambda r: _dollars(r.saved_provider_cache),
            lambda r: r.saved_provider_cache,
        ),
        (
            "saved: response cache",
            lambda r: _dollars(r.saved_response_cache),
            lambda r: r.saved_response_cache,
        ),
    ]
    numeric += [(name, fmt) for name, fmt, value in details if any(value(r) for r in shown)]
    numeric.append(("cost", format_cost))
    numeric += [(name, fmt) for name, fmt, value in savings if any(value(r) for r in shown)]
    numeric.append(("latency", _latency))
    for name, fmt in numeric:
        table.add_column(name, justify="right", footer=foot(fmt(total) if total is not None else ""))
    for r in rows:
        table.add_row(r.group or "(none)", *(fmt(r) for _, fmt in numeric))
    return table


def _dollars(value: float) -> str:
    return f"${value:,.4f}" if value < 100 else f"${value:,.2f}"


def _latency(row: UsageRow) -> str:
    return f"{row.avg_latency * 1000:,.0f} ms" if row.avg_latency is not None else "-"


@dataclass(frozen=True, slots=True)
class UsageReport:
    """Totals per group plus the overall total (each call counted once), and where
    they were read from (safe to print)."""

    query: UsageQuery
    rows: list[UsageRow]
    total: UsageRow
    source: str

    @property
    def title(self) -> str:
        q = self.query
        if q.since is None and q.until is None:
            window = "all time"
        else:
            since = q.since.strftime("%Y-%m-%d %H:%M") if q.since else "the first record"
            until = q.until.strftime("%Y-%m-%d %H:%M") if q.until else "now"
            window = f"{since} to {until} UTC"
        return f"Usage by {q.by}, {window}\n{self.source}"

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data (``llmrelay usage --json``)."""
        q = self.query
        return {
            "by": q.by,
            "since": q.since.isoformat() if q.since else None,
            "until": q.until.isoformat() if q.until else None,
            "source": self.source,
            "rows": [r.as_dict() for r in self.rows],
            "total": self.total.as_dict(),
        }


async def usage_report(url: str | None, table_prefix: str, query: UsageQuery) -> UsageReport:
    """Read the totals for ``query`` from the ledger at ``url`` (None: the default file)."""
    backend = open_backend(url, table_prefix)
    try:
        await backend.start()
        rows = await backend.summarize(query)
        (total,) = await backend.summarize(replace(query, by=None))
    finally:
        await backend.aclose()
    return UsageReport(query, rows, total, backend.description)

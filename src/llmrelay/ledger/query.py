"""Usage totals: what to group by, the time window, and the SQL that sums it.

The SQL is built by pure functions for both dialects so the two backends answer the
same question the same way. Days are UTC days; the window is ``since <= ts < until``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, TypeAlias

from llmrelay.errors import ConfigError

Dialect: TypeAlias = Literal["sqlite", "postgres"]

#: what ``llmrelay usage --by`` accepts
GROUPINGS: tuple[str, ...] = ("day", "model", "key", "tag", "user", "alias", "provider", "status", "prompt")

# statuses that are not failures: done, or stopped by the caller (a stream closed early, a cancelled task)
_NOT_ERRORS = "'ok', 'closed', 'cancelled'"
_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True, slots=True)
class UsageQuery:
    """Totals grouped ``by`` one of ``GROUPINGS`` (None: one overall total)."""

    by: str | None = "day"
    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.by is not None and self.by not in GROUPINGS:
            raise ConfigError(f"cannot group usage by {self.by!r}; use one of: {', '.join(GROUPINGS)}")
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ConfigError(f"usage query {name} must be timezone-aware (got {value.isoformat()})")
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ConfigError(
                f"--since ({self.since.isoformat()}) must be before --until ({self.until.isoformat()})"
            )


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One group's totals. ``errors`` counts failed calls (not those the caller stopped:
    ``closed`` streams, ``cancelled`` tasks). ``cost`` sums the known costs (None when none is known);
    ``unpriced_calls`` counts calls that used tokens but have no known cost, so a total
    is never silently low. ``cache_write_1h_tokens`` is the part of ``cache_write_tokens``
    written with a one-hour lifetime. ``saved_provider_cache`` sums what provider cache
    reads saved, ``saved_response_cache`` what llmrelay's response cache saved (the cost
    of the calls its hits stood in for); ``cache_hits`` counts answers it served (fresh
    or stale)."""

    group: str
    calls: int
    errors: int
    input_tokens: int
    output_tokens: int
    cached_input_tokens: int
    cache_write_tokens: int
    reasoning_tokens: int
    cost: float | None
    unpriced_calls: int
    avg_latency: float | None
    cache_write_1h_tokens: int = 0
    saved_provider_cache: float = 0.0
    saved_response_cache: float = 0.0
    cache_hits: int = 0

    @property
    def cache_write_5m_tokens(self) -> int:
        return max(0, self.cache_write_tokens - self.cache_write_1h_tokens)

    @property
    def saved(self) -> float:
        """Both savings together, US dollars."""
        return self.saved_provider_cache + self.saved_response_cache

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (``cost`` None: no known cost)."""
        return {
            "group": self.group,
            "calls": self.calls,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "reasoning_tokens": self.reasoning_tokens,
            "cached_input_tokens": self.cached_input_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_write_5m_tokens": self.cache_write_5m_tokens,
            "cache_write_1h_tokens": self.cache_write_1h_tokens,
            "cost_usd": self.cost,
            "unpriced_calls": self.unpriced_calls,
            "cache_hits": self.cache_hits,
            "saved_provider_cache_usd": self.saved_provider_cache,
            "saved_response_cache_usd": self.saved_response_cache,
            "avg_latency_s": self.avg_latency,
        }

    @classmethod
    def from_values(cls, values: tuple[Any, ...]) -> UsageRow:
        g, calls, errors, inp, out, cached, cwrite, reason, cost, unpriced, lat, hour, sp, sr, hits = values
        return cls(
            group=str(g) if g is not None else "",
            calls=int(calls),
            errors=int(errors or 0),
            input_tokens=int(inp or 0),
            output_tokens=int(out or 0),
            cached_input_tokens=int(cached or 0),
            cache_write_tokens=int(cwrite or 0),
            reasoning_tokens=int(reason or 0),
            cost=float(cost) if cost is not None else None,
            unpriced_calls=int(unpriced or 0),
            avg_latency=float(lat) if lat is not None else None,
            cache_write_1h_tokens=int(hour or 0),
            saved_provider_cache=float(sp or 0.0),
            saved_response_cache=float(sr or 0.0),
            cache_hits=int(hits or 0),
        )


def parse_when(text: str, *, now: datetime | None = None) -> datetime:
    """A point in time from the command line, in UTC.

    Accepts an ISO date (``2026-11-01``: that day's midnight UTC), an ISO date-time
    (naive means UTC), ``today``, ``yesterday``, or a span back from now: ``30m``,
    ``24h``, ``7d``, ``2w``.
    """
    now = now or datetime.now(UTC)
    value = text.strip().lower()
    if value in ("today", "yesterday"):
        day = now.date() - timedelta(days=1 if value == "yesterday" else 0)
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    m = _RELATIVE.match(value)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            return datetime(d.year, d.month, d.day, tzinfo=UTC)
        dt = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"cannot read the time {text!r}: use a date (2026-11-01), a date-time "
            "(2026-11-01T14:00, UTC unless an offset is given), today, yesterday, or a span "
            "back from now (30m, 24h, 7d, 2w)"
        ) from None
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- SQL


def _group_expr(by: str, dialect: Dialect) -> str:
    if by == "day":
        if dialect == "sqlite":
            return "strftime('%Y-%m-%d', u.ts, 'unixepoch')"
        return "to_char(u.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    if by == "model":
        return "COALESCE(u.provider, '?') || '/' || COALESCE(u.model, '?')"
    if by == "tag":
        return "COALESCE(t.tag, '')" if dialect == "postgres" else "COALESCE(t.value, '')"
    if by == "prompt":
        return _prompt_expr(dialect)
    column = {"key": "key", "user": "user_id", "alias": "alias", "provider": "provider", "status": "status"}
    return f"COALESCE(u.{column[by]}, '')"


def _prompt_expr(dialect: Dialect) -> str:
    """``name@version`` from the request metadata a prompt template sets (``prompt``,
    ``prompt_version``); ``name`` alone without a version, '' for calls made without one."""
    if dialect == "sqlite":
        name, version = "json_extract(u.metadata, '$.prompt')", "json_extract(u.metadata, '$.prompt_version')"
    else:
        name, version = "(u.metadata ->> 'prompt')", "(u.metadata ->> 'prompt_version')"
    return f"COALESCE({name} || COALESCE('@' || {version}, ''), '')"


def summary_sql(query: UsageQuery, dialect: Dialect, table: str) -> tuple[str, list[Any]]:
    """The statement and parameters that total ``table`` for ``query``.

    ``table`` is trusted (built from the validated prefix). Timestamps are epoch
    seconds for SQLite and aware datetimes for PostgreSQL.
    """
    params: list[Any] = []

    def param(value: datetime) -> str:
        params.append(value.timestamp() if dialect == "sqlite" else value)
        return "?" if dialect == "sqlite" else f"${len(params)}"

    sum_int = "COALESCE(SUM({0}), 0)" if dialect == "sqlite" else "COALESCE(SUM({0}), 0)::bigint"
    tokens = (
        "input_tokens",
        "output_tokens",
        "cached_input_tokens",
        "cache_write_tokens",
        "reasoning_tokens",
    )
    group = _group_expr(query.by, dialect) if query.by else "'total'"
    select = [
        f"{group} AS grp",
        "COUNT(*)",
        sum_int.format(f"CASE WHEN u.status NOT IN ({_NOT_ERRORS}) THEN 1 ELSE 0 END"),
        *(sum_int.format(f"u.{c}") for c in tokens),
        "SUM(u.cost)",
        sum_int.format(
            "CASE WHEN u.cost IS NULL AND (u.status = 'ok' OR "
            "COALESCE(u.input_tokens, 0) + COALESCE(u.output_tokens, 0) > 0) THEN 1 ELSE 0 END"
        ),
        "AVG(u.latency)",
        sum_int.format("u.cache_write_1h_tokens"),
        "COALESCE(SUM(u.saved_provider_cache), 0)",
        "COALESCE(SUM(u.saved_response_cache), 0)",
        sum_int.format("CASE WHEN u.cache IN ('hit', 'stale') THEN 1 ELSE 0 END"),
    ]
    source = f"{table} u"
    if query.by == "tag":
        source += (
            " LEFT JOIN LATERAL unnest(u.tags) AS t(tag) ON true"
            if dialect == "postgres"
            else " LEFT JOIN json_each(u.tags) t"
        )
    where = []
    if query.since is not None:
        where.append(f"u.ts >= {param(query.since)}")
    if query.until is not None:
        where.append(f"u.ts < {param(query.until)}")
    sql = f"SELECT {', '.join(select)} FROM {source}"
    if where:
        sql += " WHERE " + " AND ".join(where)
    if query.by:
        sql += " GROUP BY grp ORDER BY grp"
    return sql, params

"""Configuration of budgets and rate limits: the ``budgets`` and ``limits`` sections.

These models live here so that the configuration reads as one piece; ``Settings``
mounts them. Limits must be non-negative numbers (whole numbers for counts): anything
else is refused when settings load, with the entry named.

    budgets:
      rules:
        - {scope: global, period: month, hard: 500, soft: 400}
        - {scope: user, period: day, hard: 5}          # each user, separately
        - {scope: tag, name: experiment, period: lifetime, hard: 20}
    limits:
      mode: wait                # or fail: refuse at once with a retry-after
      deployments:
        openai/gpt-4o: {rpm: 500, tpm: 30000, concurrency: 20}
      users:
        "*": {rpm: 30}          # each user, separately
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _not_bool(v: Any) -> Any:
    # pydantic would read `true` as 1: a limit of "yes" is a mistake, not one dollar.
    if isinstance(v, bool):
        raise ValueError(f"must be a number, got {v!r}")
    return v


class BudgetRuleSettings(_Strict):
    """One budget: ``name`` picks a key, user or tag; without it, each one separately."""

    scope: Literal["global", "key", "user", "team", "tag"]
    period: Literal["day", "month", "lifetime"]
    name: str | None = Field(default=None, min_length=1)
    hard: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="USD; refuse beyond")
    soft: float | None = Field(default=None, ge=0, allow_inf_nan=False, description="USD; alert at")

    _numbers = field_validator("hard", "soft", mode="before")(_not_bool)

    @model_validator(mode="after")
    def _coherent(self) -> BudgetRuleSettings:
        if self.hard is None and self.soft is None:
            raise ValueError("a budget needs a hard limit, a soft limit or both")
        if self.hard is not None and self.soft is not None and self.soft > self.hard:
            raise ValueError(f"the soft limit ({self.soft}) is above the hard limit ({self.hard})")
        if self.scope == "global" and self.name is not None:
            raise ValueError("a global budget has no name")
        return self


class BudgetSettings(_Strict):
    """Spending limits. A call's maximum cost is reserved before it is sent and settled at
    its real cost afterwards (see docs/budgets-and-limits.md)."""

    rules: list[BudgetRuleSettings] = Field(default_factory=list)
    unknown_price: Literal["refuse", "allow"] = Field(
        default="refuse",
        description="a call under a budget whose cost cannot be bounded (no price, no output limit): "
        "refuse it, or allow it uncounted",
    )
    estimate_margin: float = Field(
        default=0.25,
        ge=0,
        le=10,
        description="extra share of an estimated (not exact) prompt count to reserve",
    )
    lease: float = Field(default=600.0, gt=0, description="seconds a reservation may stay open")
    alert_callback: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$",
        description="'package.module:function' called with each BudgetAlert",
    )


class LimitSettings(_Strict):
    """Limits of one deployment, key or user (per ``limits.window`` seconds)."""

    rpm: int | None = Field(default=None, ge=1, description="requests per window")
    tpm: int | None = Field(default=None, ge=1, description="tokens per window (prompt + max_tokens held)")
    concurrency: int | None = Field(default=None, ge=1, description="calls in flight at once")

    _numbers = field_validator("rpm", "tpm", "concurrency", mode="before")(_not_bool)


class RateLimitSettings(_Strict):
    """Rate limits per deployment (to stay under the provider's) and per key and user.

    ``keys`` and ``users`` may give ``"*"``: the limits of each one not named.
    """

    window: float = Field(
        default=60.0, gt=0, allow_inf_nan=False, description="seconds that rpm/tpm count over"
    )
    mode: Literal["wait", "fail"] = Field(
        default="wait", description="wait in line (up to max_wait) or fail at once with a retry-after"
    )
    max_wait: float = Field(default=30.0, ge=0, allow_inf_nan=False)
    lease: float = Field(default=600.0, gt=0, description="seconds a call may count as in flight")
    poll: float = Field(default=0.05, gt=0, description="re-check interval when no wake-up time is known")
    output_tokens: int = Field(
        default=4096,
        ge=1,
        description="tokens held for output when neither the call nor the catalog bounds it",
    )
    deployments: dict[str, LimitSettings] = Field(default_factory=dict)
    keys: dict[str, LimitSettings] = Field(default_factory=dict)
    users: dict[str, LimitSettings] = Field(default_factory=dict)

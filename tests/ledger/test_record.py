from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from llmrelay import errors
from llmrelay.errors import (
    AllDeploymentsFailedError,
    BudgetExceededError,
    QuotaExceededError,
    RateLimitError,
    ServiceUnavailableError,
)
from llmrelay.ledger.record import UsageRecord, error_kind, key_label
from llmrelay.secrets import Secret


def test_error_kinds_are_short_stable_names() -> None:
    assert error_kind(RateLimitError("x")) == "rate_limit"
    assert error_kind(QuotaExceededError("x")) == "quota_exceeded"
    assert error_kind(ServiceUnavailableError("x")) == "service_unavailable"
    assert error_kind(errors.TimeoutError("x")) == "timeout"
    assert error_kind(BudgetExceededError("x")) == "budget_exceeded"
    assert error_kind(AllDeploymentsFailedError("x")) == "all_deployments_failed"
    assert error_kind(asyncio.CancelledError()) == "cancelled"
    assert error_kind(GeneratorExit()) == "closed"
    assert error_kind(KeyError("boom")) == "internal"


def test_key_label_never_stores_a_key() -> None:
    secret = Secret("sk-live-abcdefghijklmnopqrstuvwxyz")
    assert key_label(secret) == f"fp:{secret.fingerprint}"
    assert "abcdefgh" not in (key_label("sk-live-abcdefghijklmnopqrstuvwxyz") or "")
    assert key_label("team-a") == "team-a"
    assert key_label(None) is None
    assert key_label("") is None


def test_time_is_utc() -> None:
    rec = UsageRecord(id="x", ts=0.0)
    assert rec.time == datetime(1970, 1, 1, tzinfo=UTC)

"""The Limiter: limits, waiting in line, failing fast, settling — on the in-memory backend."""

from __future__ import annotations

import asyncio
import time

import pytest

from llmrelay.errors import ConfigError, RateLimitError
from llmrelay.limits.ratelimit import Claim, Limiter, Limits, slots_for
from llmrelay.limits.ratelimit_memory import MemoryLimiterBackend

W = 0.3  # a scaled-down "minute" keeps these tests fast


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - window:
            j += 1
        best = max(best, i - j + 1)
    return best


# --------------------------------------------------------------------------- Limits


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"rpm": -1}, "Limits.rpm"),
        ({"rpm": 0}, "Limits.rpm"),
        ({"tpm": 2.5}, "Limits.tpm"),
        ({"concurrency": True}, "Limits.concurrency"),
        ({"rpm": "10"}, "Limits.rpm"),
        ({"window": 0}, "Limits.window"),
        ({"window": "60"}, "Limits.window"),
    ],
)
def test_bad_limits_are_refused_naming_the_field(kwargs, needle) -> None:
    with pytest.raises(ConfigError, match=needle):
        Limits(**kwargs)


def test_bad_limiter_arguments() -> None:
    with pytest.raises(ConfigError, match="lease"):
        Limiter(lease=0)
    with pytest.raises(ConfigError, match="max_wait"):
        Limiter(max_wait=-1)
    with pytest.raises(ConfigError, match="max_wait"):
        Limiter().acquire("k", max_wait=float("nan"))
    with pytest.raises(ConfigError, match="tokens"):
        Limiter(limits=Limits(tpm=10)).acquire("k", tokens=-5)


def test_a_call_larger_than_the_tpm_limit_is_refused_with_advice() -> None:
    with pytest.raises(ConfigError, match=r"needs 500 tokens .* allows 100 per 60s"):
        slots_for([Claim("dep", Limits(tpm=100), tokens=500)])


def test_slots_cover_each_limit_kind() -> None:
    slots = slots_for([Claim("d", Limits(rpm=5, tpm=100, concurrency=2, window=10), tokens=40)])
    assert [(s.kind, s.limit, s.amount, s.hold) for s in slots] == [
        ("rpm", 5, 1, 10),
        ("tpm", 100, 40, 10),
        ("concurrency", 2, 1, 0.0),
    ]


# --------------------------------------------------------------------------- fail fast


async def test_fail_fast_refuses_with_retry_after_and_a_clear_message() -> None:
    limiter = Limiter(limits=Limits(rpm=2, window=W), max_wait=0)
    async with limiter.acquire("openai/gpt-4o"):
        pass
    async with limiter.acquire("openai/gpt-4o"):
        pass
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("openai/gpt-4o")
    e = err.value
    assert e.code == "local_rpm_limit"
    assert "openai/gpt-4o (2 requests per 0.3s)" in e.message
    # Both entries expire one window after they settled, i.e. just under W from now.
    assert e.retry_after is not None and 0.2 * W < e.retry_after <= W
    await asyncio.sleep(e.retry_after + 0.01)
    permit = await limiter.acquire("openai/gpt-4o")  # free again exactly when promised
    await permit.settle()


async def test_unlimited_keys_pass_without_touching_the_backend() -> None:
    backend = MemoryLimiterBackend()
    limiter = Limiter(backend, limits={"limited": Limits(rpm=1)})
    for _ in range(5):
        async with limiter.acquire("other"):
            pass
    assert backend.usage("other:rpm") == 0


# --------------------------------------------------------------------------- waiting


async def test_waiting_callers_pace_to_the_limit_and_never_exceed_it() -> None:
    limiter = Limiter(limits=Limits(rpm=5, window=W), max_wait=5)
    admitted: list[float] = []
    start = time.monotonic()

    async def one() -> None:
        async with limiter.acquire("k"):
            admitted.append(time.monotonic())

    await asyncio.gather(*(one() for _ in range(15)))
    elapsed = time.monotonic() - start
    assert max_in_window(admitted, W) <= 5
    # 15 calls at 5 per window: the last batch starts two windows in.
    assert 2 * W <= elapsed < 2 * W + 0.25


async def test_waiters_are_admitted_in_arrival_order() -> None:
    limiter = Limiter(limits=Limits(concurrency=1), max_wait=5)
    order: list[int] = []

    async def one(i: int) -> None:
        async with limiter.acquire("k"):
            order.append(i)
            await asyncio.sleep(0.002)

    tasks = []
    for i in range(20):
        tasks.append(asyncio.create_task(one(i)))
        await asyncio.sleep(0)  # arrive in order
    await asyncio.gather(*tasks)
    assert order == list(range(20))


async def test_a_release_wakes_the_next_caller_at_once_not_after_a_poll() -> None:
    limiter = Limiter(limits=Limits(concurrency=1), max_wait=5, poll=10.0)
    first = await limiter.acquire("k")
    t0 = time.monotonic()
    waiter = asyncio.create_task(limiter.acquire("k").__aenter__())
    await asyncio.sleep(0.02)
    assert not waiter.done()
    await first.settle()
    second = await asyncio.wait_for(waiter, 1.0)
    assert time.monotonic() - t0 < 0.5
    await second.settle()


async def test_concurrency_limit_holds_under_load() -> None:
    limiter = Limiter(limits=Limits(concurrency=3), max_wait=5)
    now_in, peak = 0, 0

    async def one() -> None:
        nonlocal now_in, peak
        async with limiter.acquire("k"):
            now_in += 1
            peak = max(peak, now_in)
            await asyncio.sleep(0.005)
            now_in -= 1

    await asyncio.gather(*(one() for _ in range(30)))
    assert peak == 3


async def test_max_wait_elapses_into_a_rate_limit_error() -> None:
    limiter = Limiter(limits=Limits(concurrency=1), max_wait=0.05)
    held = await limiter.acquire("k")
    t0 = time.monotonic()
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("k")
    assert 0.04 < time.monotonic() - t0 < 0.5
    assert err.value.code == "local_concurrency_limit"
    # queued behind the first waiter, a third caller times out in line
    w = asyncio.create_task(limiter.acquire("k", max_wait=1).__aenter__())
    await asyncio.sleep(0.01)
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("k", max_wait=0.03)
    assert err.value.code == "local_queue_timeout"
    await held.settle()
    await (await w).settle()


async def test_a_wait_that_cannot_succeed_in_time_fails_at_once() -> None:
    limiter = Limiter(limits=Limits(rpm=1, window=10.0), max_wait=1.0)
    await (await limiter.acquire("k")).settle()
    t0 = time.monotonic()
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("k")
    assert time.monotonic() - t0 < 0.1  # no point waiting 1 s for a slot 10 s away
    assert err.value.retry_after is not None and 9.0 < err.value.retry_after <= 10.0


async def test_a_cancelled_waiter_leaves_the_line() -> None:
    limiter = Limiter(limits=Limits(concurrency=1), max_wait=5)
    held = await limiter.acquire("k")
    doomed = asyncio.create_task(limiter.acquire("k").__aenter__())
    after = asyncio.create_task(limiter.acquire("k").__aenter__())
    await asyncio.sleep(0.01)
    doomed.cancel()
    await held.settle()
    permit = await asyncio.wait_for(after, 1.0)
    assert doomed.cancelled()
    await permit.settle()


# --------------------------------------------------------------------------- tokens and several keys


async def test_tokens_are_reserved_then_settled_at_actual_use() -> None:
    backend = MemoryLimiterBackend()
    limiter = Limiter(backend, limits=Limits(tpm=1000, window=W), max_wait=0)
    permit = await limiter.acquire("k", tokens=900)
    assert backend.usage("k:tpm") == 900
    with pytest.raises(RateLimitError, match="1000 tokens per"):
        await limiter.acquire("k", tokens=200)
    await permit.settle(tokens=120)  # the reply was short
    assert backend.usage("k:tpm") == 120
    async with limiter.acquire("k", tokens=800):
        pass
    assert backend.usage("k:tpm") == 920  # unsettled: the reservation stands


async def test_claims_on_several_keys_are_all_or_nothing() -> None:
    backend = MemoryLimiterBackend()
    limiter = Limiter(backend, max_wait=0)
    dep, user = Limits(rpm=10, window=W), Limits(rpm=1, window=W)
    async with limiter.acquire_all([Claim("dep", dep), Claim("user:a", user)]):
        pass
    with pytest.raises(RateLimitError, match="user:a"):
        await limiter.acquire_all([Claim("dep", dep), Claim("user:a", user)])
    assert backend.usage("dep:rpm") == 1  # the refused call took nothing from the deployment
    async with limiter.acquire_all([Claim("dep", dep), Claim("user:b", user)]):
        pass
    assert backend.usage("dep:rpm") == 2


async def test_a_finished_call_counts_for_a_window_after_it_ends() -> None:
    # The provider saw the request somewhere between admission and completion, so the slot
    # frees one window after completion, not after admission.
    limiter = Limiter(limits=Limits(rpm=1, window=W), max_wait=0)
    permit = await limiter.acquire("k")
    await asyncio.sleep(W * 1.2)  # a slow call, longer than the window
    with pytest.raises(RateLimitError) as err:
        await limiter.acquire("k")
    assert err.value.retry_after == pytest.approx(W, abs=0.05)  # in flight: a window at least
    await permit.settle()
    with pytest.raises(RateLimitError):
        await limiter.acquire("k")


async def test_permits_settle_once_and_report_their_wait() -> None:
    backend = MemoryLimiterBackend()
    limiter = Limiter(backend, limits=Limits(tpm=100, window=W))
    permit = await limiter.acquire("k", tokens=50)
    assert permit.waited >= 0 and "Permit(" in repr(permit)
    await permit.settle(tokens=10)
    await permit.settle(tokens=90)
    assert backend.usage("k:tpm") == 10


async def test_a_leaked_permit_frees_when_its_lease_ends() -> None:
    limiter = Limiter(limits=Limits(concurrency=1), max_wait=0, lease=0.05)
    await limiter.acquire("k")  # never settled
    with pytest.raises(RateLimitError):
        await limiter.acquire("k")
    await asyncio.sleep(0.06)
    await (await limiter.acquire("k")).settle()

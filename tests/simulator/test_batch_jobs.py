"""The batch engine: the accelerated clock, the schedule, serving through an ASGI app once each."""

from __future__ import annotations

import asyncio
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from llmrelay.simulator.batch_jobs import BatchClock, BatchItem, Job, call_app, shuffled


def counting_app(statuses: list[int]) -> tuple[Starlette, list[bytes]]:
    """An app answering POST /echo with the given statuses in turn (then 200), recording bodies."""
    seen: list[bytes] = []

    async def echo(request: Request) -> Response:
        seen.append(await request.body())
        status = statuses.pop(0) if statuses else 200
        return JSONResponse(
            {"n": len(seen)}, status_code=status, headers={"x-request-id": f"req-{len(seen)}"}
        )

    return Starlette(routes=[Route("/echo", echo, methods=["POST"])]), seen


def job(n: int, *, created: float = 0.0, turnaround: float = 100.0, validation: float = 0.0) -> Job:
    items = [BatchItem(f"c{i}", "/echo", f'{{"i": {i}}}'.encode()) for i in range(n)]
    return Job("batch_x", items, (), created=created, turnaround=turnaround, validation=validation)


def test_the_clock_runs_faster_than_the_wall() -> None:
    clock = BatchClock.start(1000.0)
    first = clock.now()
    time.sleep(0.02)
    assert clock.now() - first >= 19.0  # 20 ms of wall time is 20 simulated seconds
    assert abs(first - time.time()) < 5


def test_the_schedule_serves_a_share_per_elapsed_time() -> None:
    j = job(10, turnaround=100.0, validation=10.0)
    assert [j.due(t) for t in (0.0, 10.0, 19.0, 55.0, 100.0, 1e9)] == [0, 0, 1, 5, 10, 10]
    assert j.phase(5.0) == "validating" and j.phase(50.0) == "in_progress"


async def test_advance_serves_in_order_once_each_even_with_concurrent_readers() -> None:
    app, seen = counting_app([])
    j = job(6)
    await asyncio.gather(*(j.advance(app, 50.0) for _ in range(5)))
    assert len(seen) == 3 and j.served == 3 and j.finished_at is None
    await asyncio.gather(j.advance(app, 100.0), j.advance(app, 150.0))
    assert len(seen) == 6 and [i.result.outcome for i in j.items if i.result] == ["succeeded"] * 6
    assert j.finished_at == 100.0 and j.phase(200.0) == "ended"
    assert j.items[0].result is not None and j.items[0].result.request_id == "req-1"


async def test_transient_failures_are_tried_again_later_and_refusals_kept() -> None:
    app, seen = counting_app([429, 400, 503])
    j = job(3)
    await j.advance(app, 100.0)  # 429: stops there, nothing settled
    assert j.served == 0 and j.late
    await j.advance(app, 120.0)  # 400 is the answer for c0; 503 stops at c1
    assert [i.result.outcome if i.result else None for i in j.items] == ["errored", None, None]
    await j.advance(app, 130.0)
    assert j.served == 3 and j.finished_at == 130.0  # late: it ends when it caught up
    assert len(seen) == 5


async def test_expiry_and_cancellation_settle_what_is_left() -> None:
    app, _ = counting_app([])
    slow = job(4, turnaround=48 * 3600.0)
    await slow.advance(app, 24 * 3600.0 + 1)
    assert [i.result.outcome for i in slow.items if i.result] == [
        "succeeded",
        "succeeded",
        "expired",
        "expired",
    ]
    assert slow.finished_at == slow.expires_at
    cancelled = job(4)
    await cancelled.advance(app, 50.0)
    cancelled.cancel(50.0)
    await cancelled.advance(app, 60.0)
    assert cancelled.phase(60.0) == "canceling"
    await cancelled.advance(app, 200.0)
    assert cancelled.counts() == {"succeeded": 2, "errored": 0, "expired": 0, "canceled": 2}


async def test_call_app_returns_status_headers_and_body() -> None:
    app, seen = counting_app([201])
    status, headers, body = await call_app(
        app, "POST", "/echo?x=1", [(b"content-type", b"application/json")], b"{}"
    )
    assert (status, headers["x-request-id"], body) == (201, "req-1", b'{"n":1}')
    assert seen == [b"{}"]


def test_results_come_in_an_order_of_their_own_but_all_of_them() -> None:
    items = [BatchItem(f"c{i}", "/echo", b"") for i in range(20)]
    order = [i.custom_id for i in shuffled(items, "batch_a")]
    assert sorted(order) == sorted(i.custom_id for i in items)
    assert order != [i.custom_id for i in items]
    assert order == [i.custom_id for i in shuffled(items, "batch_a")]

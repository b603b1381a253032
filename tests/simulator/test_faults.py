from __future__ import annotations

from collections import Counter

import pytest

from llmrelay.errors import ConfigError
from llmrelay.simulator.faults import Fault, FaultProbabilities, FaultSequence, NoFaults, RequestInfo


def info(index: int) -> RequestInfo:
    return RequestInfo(protocol="openai", model="m", stream=False, index=index)


def test_no_faults_never_fails() -> None:
    assert all(NoFaults().next_fault(info(i)) is None for i in range(10))


def test_sequence_plays_in_order_then_stops() -> None:
    first, third = Fault.rate_limited(retry_after=2.0), Fault("reset")
    plan = FaultSequence([first, None, third])
    assert plan.remaining == 3
    assert [plan.next_fault(info(i)) for i in range(5)] == [first, None, third, None, None]
    assert plan.remaining == 0


def test_sequence_can_cycle() -> None:
    fault = Fault.error(503)
    plan = FaultSequence([fault, None], cycle=True)
    assert [plan.next_fault(info(i)) for i in range(5)] == [fault, None, fault, None, fault]
    assert plan.remaining is None
    assert FaultSequence([], cycle=True).next_fault(info(0)) is None


def test_sequence_rejects_non_faults() -> None:
    with pytest.raises(ConfigError, match="Fault or None"):
        FaultSequence(["status"])  # type: ignore[list-item]


def test_probabilities_are_reproducible_and_roughly_honoured() -> None:
    hang, error = Fault("hang"), Fault.error(500)
    plan = FaultProbabilities({hang: 0.1, error: 0.3}, seed=7)
    draws = [plan.next_fault(info(i)) for i in range(4000)]
    again = FaultProbabilities([(hang, 0.1), (error, 0.3)], seed=7)
    assert draws == [again.next_fault(info(i)) for i in range(4000)]
    counts = Counter(f.kind if f else None for f in draws)
    assert 300 < counts["hang"] < 500
    assert 1050 < counts["status"] < 1350
    # The draw depends on the request index, not on call order.
    assert plan.next_fault(info(17)) == draws[17]
    assert FaultProbabilities({hang: 0.1}, seed=8).next_fault(info(0)) in (hang, None)


def test_probabilities_are_validated() -> None:
    with pytest.raises(ConfigError, match="within"):
        FaultProbabilities({Fault("hang"): 1.5})
    with pytest.raises(ConfigError, match="exceed 1"):
        FaultProbabilities({Fault("hang"): 0.6, Fault("reset"): 0.6})
    with pytest.raises(ConfigError, match="keys must be Fault"):
        FaultProbabilities({"hang": 0.1})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "explode"}, "unknown fault kind"),
        ({"kind": "status", "status": 200}, "HTTP error code"),
        ({"kind": "cut_stream", "after_pieces": -1}, "after_pieces"),
        ({"kind": "status", "retry_after": -1.0}, "retry_after"),
    ],
)
def test_fault_fields_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Fault(**kwargs)  # type: ignore[arg-type]


def test_shorthands() -> None:
    assert Fault.rate_limited(3) == Fault("status", status=429, retry_after=3)
    assert Fault.overloaded().status == 529
    assert Fault.error(502, "bad").message == "bad"


def test_labels_name_what_is_injected() -> None:
    assert Fault.rate_limited().label == "status:429"
    assert Fault.overloaded().label == "status:529"
    assert Fault("hang").label == "hang" and Fault("reset").label == "reset"
    assert Fault("malformed").label == "malformed"
    assert Fault("malformed", after_pieces=2).label == "malformed@2"
    assert Fault("cut_stream").label == "cut_stream@0"
    assert Fault("stream_error", after_pieces=3).label == "stream_error@3"


def test_spread_shares_a_total_rate() -> None:
    faults = [Fault.error(500), Fault.error(503), Fault("reset")]
    plan = FaultProbabilities.spread(faults, 0.3, seed=5)
    drawn = [plan.next_fault(RequestInfo("openai", "m", False, i)) for i in range(6000)]
    hits = [f for f in drawn if f is not None]
    assert 0.27 < len(hits) / 6000 < 0.33
    assert {f.label for f in hits} == {"status:500", "status:503", "reset"}
    with pytest.raises(ConfigError):
        FaultProbabilities.spread([], 0.3)

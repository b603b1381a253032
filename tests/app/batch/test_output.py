"""The ordered output: lines in input order whatever the order of completion; rebuilt on open."""

from __future__ import annotations

import json
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from llmrelay.app.batch.output import OrderedOutput


def rec(i: int) -> dict[str, object]:
    return {"index": i, "id": f"i{i}"}


@given(st.permutations(list(range(30))))
def test_any_completion_order_releases_in_input_order(order: list[int]) -> None:
    out = OrderedOutput.open(None, {})
    released: list[int] = []
    for i in order:
        released += [int(str(r["index"])) for r in out.add(i, rec(i))]
        assert released == list(range(len(released)))  # never a gap, never out of order
    assert released == list(range(30)) and out.held == 0


def test_open_rebuilds_the_file_from_what_is_ready(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_bytes(b'{"index": 0, "id": "stale"}\n{"index": 1, "id": "half-writ')  # a crash mid-line
    out = OrderedOutput.open(path, {0: rec(0), 1: rec(1), 3: rec(3)})
    assert out.next_index == 2 and out.held == 1
    assert [json.loads(x)["id"] for x in path.read_text().splitlines()] == ["i0", "i1"]
    assert [r["index"] for r in out.add(2, rec(2))] == [2, 3]
    out.close()
    assert [json.loads(x)["index"] for x in path.read_text().splitlines()] == [0, 1, 2, 3]
    assert path.read_bytes().endswith(b"\n")
    assert not (tmp_path / "out.jsonl.tmp").exists()


def test_a_result_already_released_is_ignored(tmp_path: Path) -> None:
    out = OrderedOutput.open(tmp_path / "o.jsonl", {0: rec(0)})
    assert out.add(0, rec(0)) == []
    out.close()
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == 1

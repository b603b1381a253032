"""A simulated model that answers arithmetic questions, better under one prompt than the
other, and grades answers when asked to judge; plus the prompt library and dataset it fits."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from llmrelay.simulator import Reply
from llmrelay.simulator.engine import GenerationInput

QUESTION = re.compile(r"What is (\d+) \+ (\d+)\?")
GRADED = re.compile(r"Reference answer:\n(.*?)\n\nAnswer to grade:\n(.*?)\n\nGrade the answer", re.DOTALL)
#: share of questions answered right, by the prompt's marker in the conversation
RIGHT_V1 = 55
RIGHT_V2 = 85
#: what the larger simulated model adds to either
BIGGER = 8

V1 = """name: arith
version: v1
variables: {question: str}
user: "{{ question }}"
"""
V2 = """name: arith
version: v2
variables: {question: str}
system: Answer with the number only. Check the sum twice before you answer.
user: "{{ question }}"
"""


def write_library(folder: Path) -> Path:
    (folder / "arith").mkdir(parents=True, exist_ok=True)
    (folder / "arith" / "v1.yaml").write_text(V1, encoding="utf-8")
    (folder / "arith" / "v2.yaml").write_text(V2, encoding="utf-8")
    return folder


def dataset_rows(n: int) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for i in range(n):
        a, b = 17 * i % 97 + 3, 31 * i % 89 + 5
        rows.append({"id": f"q{i:03d}", "vars": {"question": f"What is {a} + {b}?"}, "expected": str(a + b)})
    return rows


def write_dataset(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in dataset_rows(n)), encoding="utf-8")
    return path


def _draw(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % 100


class ArithmeticModel:
    """A reply plan (``client.simulator.replies = ArithmeticModel()``): the v2 prompt (its
    "number only" system line) gets right answers RIGHT_V2% of the time, v1 RIGHT_V1% (a model
    without "mini" in its name BIGGER points more); a
    judge call is answered with score 5 when the graded answer's number is the reference,
    else 1. ``judge_calls`` counts the judge's requests."""

    def __init__(self) -> None:
        self.judge_calls = 0

    def next_reply(self, inp: GenerationInput) -> Reply | None:
        convo = inp.conversation
        if "Answer to grade:" in convo:
            self.judge_calls += 1
            m = GRADED.search(convo)
            good = False
            if m is not None:
                numbers = re.findall(r"\d+", m.group(2))
                good = bool(numbers) and numbers[-1] == m.group(1).strip()
            verdict = {"score": 5 if good else 1, "reason": "matches" if good else "wrong sum"}
            return Reply(json.dumps(verdict))
        m = QUESTION.search(convo)
        if m is None:
            return None
        a, b = int(m.group(1)), int(m.group(2))
        v2 = "number only" in convo
        rate = (RIGHT_V2 if v2 else RIGHT_V1) + (0 if "mini" in inp.model else BIGGER)
        right = _draw(convo) < rate
        value = a + b if right else a + b + 1 + _draw(convo + "x") % 5
        return Reply(str(value) if v2 else f"Let me add them up. The sum is {value}.")

"""A prompt library on disk: two versions of ``support`` (YAML and Jinja), a partial, a manifest."""

from __future__ import annotations

from pathlib import Path

import pytest

SUPPORT_V1 = """\
name: support
version: v1
description: Answers a customer's question.
model: local
params: {temperature: 0.2, max_tokens: 7}
variables:
  question: str
  tone: {type: str, default: friendly, enum: [friendly, formal], description: how to sound}
system: |
  You are a support agent for {{ product }}.
  {% include "_partials/tone.j2" %}
user: "{{ question }}"
"""

SUPPORT_V2 = """\
---
name: support
version: v2
variables:
  question: str
  product: {type: str, default: Relay}
  tone: {type: str, default: formal}
system: Be brief. {% include "_partials/tone.j2" %}
---
Customer question about {{ product }}: {{ question }}
"""

GREETING = """\
version: 1
variables:
  names: list[str]
user: |
  Greet {% for n in names %}{{ n }}{% if not loop.last %}, {% endif %}{% endfor %}.
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def library_dir(tmp_path: Path) -> Path:
    v1 = SUPPORT_V1.replace("  question: str\n", "  question: str\n  product: {type: str, default: Relay}\n")
    return write(
        tmp_path / "prompts",
        {
            "support/v1.yaml": v1,
            "support/v2.j2": SUPPORT_V2,
            "greeting.yaml": GREETING,
            "_partials/tone.j2": "Answer in a {{ tone }} tone.",
            "_library.yaml": "defaults: {support: v1}\nexperiments:\n  support: {v1: 50, v2: 50}\n",
            ".hidden/ignored.yaml": "not: a template",
        },
    )

"""The guard engine: policies, and what they do to a prompt and a reply.

A ``Policy`` says, per detector, ``off``, ``flag`` (record the decision only), ``mask``
(replace the value by a placeholder before the prompt is sent) or ``block`` (refuse the
call with ``GuardBlockedError``), plus the injection heuristic's action, the action on
the reply, and whether masked values are restored in the reply. Policies are resolved
per call: the ``guards`` section, then the alias's overrides, then the subject's.

Decisions record the kind, the action and where (input/output) — never the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal, TypeAlias

from llmrelay.errors import InvalidRequestError
from llmrelay.observe.detect import KINDS, Finding, Kind, find, injection_score
from llmrelay.observe.scrub import Masker, redact_findings
from llmrelay.settings.observe import GuardPolicySettings
from llmrelay.types import ContentPart, Message, TextPart

Action: TypeAlias = Literal["off", "flag", "mask", "block"]
Where: TypeAlias = Literal["input", "output"]

DEFAULT_DETECTORS: dict[Kind, Action] = {
    "email": "mask",
    "phone": "mask",
    "card": "mask",
    "iban": "mask",
    "api_key": "block",
    "jwt": "block",
}


class GuardBlockedError(InvalidRequestError):
    """A guard policy refused the call (or the reply). ``policy`` names the rule
    (``input.card``, ``output.api_key``, ``injection``, ``classifier``); the value
    found is never in the message."""

    def __init__(self, policy: str, message: str) -> None:
        super().__init__(message, code=policy)
        self.policy = policy


@dataclass(frozen=True, slots=True)
class Policy:
    detectors: dict[Kind, Action] = field(default_factory=lambda: dict(DEFAULT_DETECTORS))
    injection: Literal["off", "flag", "block"] = "flag"
    output: Action = "off"
    restore: bool = False

    def over(self, s: GuardPolicySettings | None) -> Policy:
        """This policy with ``s``'s set fields on top."""
        if s is None:
            return self
        return Policy(
            {**self.detectors, **s.detectors},
            s.injection if s.injection is not None else self.injection,
            s.output if s.output is not None else self.output,
            s.restore if s.restore is not None else self.restore,
        )

    def active(self) -> tuple[Kind, ...]:
        return tuple(k for k in KINDS if self.detectors.get(k, "off") != "off")


@dataclass(frozen=True, slots=True)
class Decision:
    kind: str
    action: str
    where: Where
    count: int = 1


@dataclass(slots=True)
class GuardResult:
    """What the input guard did: the messages to send (None: unchanged) and its decisions."""

    messages: list[Message] | None
    decisions: list[Decision]


def _text_of(m: Message) -> list[str]:
    if isinstance(m.content, str):
        return [m.content]
    return [p.text for p in m.parts() if isinstance(p, TextPart)]


def _scan(
    text: str,
    kinds: tuple[Kind, ...],
    policy: Policy,
    masker: Masker,
    counts: dict[tuple[str, str], int],
    what: str,
) -> str | None:
    """One text: the masked text (None: nothing masked), counting each finding's
    (kind, action) in ``counts``; raises ``GuardBlockedError`` on a blocked kind."""
    masked: list[Finding] = []
    for f in find(text, kinds):
        action = policy.detectors[f.kind]
        counts[(f.kind, action)] = counts.get((f.kind, action), 0) + 1
        if action == "block":
            raise GuardBlockedError(
                f"input.{f.kind}",
                f"{what} contains a value the guard policy blocks ({f.kind}); "
                + "remove it, or change observe.guards.detectors."
                + f"{f.kind} (off, flag, mask, block)",
            )
        if action == "mask":
            masked.append(f)
    return masker.mask(text, masked) if masked else None


def guard_input(messages: Sequence[Message], policy: Policy, masker: Masker) -> GuardResult:
    """Scan every text part of the prompt; mask, flag or raise ``GuardBlockedError``."""
    kinds = policy.active()
    decisions: list[Decision] = []
    out: list[Message] = []
    changed = False
    counts: dict[tuple[str, str], int] = {}
    for m in messages:
        if not kinds:
            out.append(m)
            continue
        new_parts: list[ContentPart] = []
        touched = False
        for part in m.parts() if not isinstance(m.content, str) else (TextPart(m.content),):
            if not isinstance(part, TextPart):
                new_parts.append(part)
                continue
            masked = _scan(part.text, kinds, policy, masker, counts, "the prompt")
            if masked is not None:
                touched = True
                new_parts.append(TextPart(masked))
            else:
                new_parts.append(part)
        if touched:
            changed = True
            first = new_parts[0]
            if isinstance(m.content, str) and isinstance(first, TextPart):
                out.append(replace(m, content=first.text))
            else:
                out.append(replace(m, content=tuple(new_parts)))
        else:
            out.append(m)
    decisions.extend(Decision(k, a, "input", n) for (k, a), n in counts.items())
    if policy.injection != "off":
        score = max((injection_score(t) for m in messages if m.role in ("user", "tool") for t in _text_of(m)),
                    default=0)  # fmt: skip
        if score:
            decisions.append(Decision("injection", policy.injection, "input"))
            if policy.injection == "block":
                raise GuardBlockedError(
                    "injection",
                    "the prompt looks like a prompt-injection attempt and the guard policy blocks it "
                    + "(observe.guards.injection: off, flag or block)",
                )
    return GuardResult(out if changed else None, decisions)


def guard_texts(texts: Sequence[str], policy: Policy) -> tuple[list[str] | None, list[Decision]]:
    """Embedding inputs: the detectors only (mask, flag or raise ``GuardBlockedError``).
    The injection heuristic and the classifier judge instructions to a model, which an
    embedding input is not; masked values are never restored (nothing comes back)."""
    kinds = policy.active()
    if not kinds:
        return None, []
    counts: dict[tuple[str, str], int] = {}
    masker = Masker()
    out: list[str] = []
    changed = False
    for i, text in enumerate(texts):
        masked = _scan(text, kinds, policy, masker, counts, f"embedding input {i}")
        changed = changed or masked is not None
        out.append(text if masked is None else masked)
    return (out if changed else None), [Decision(k, a, "input", n) for (k, a), n in counts.items()]


def guard_output(
    text: str, findings: list[Finding], policy: Policy, masker: Masker, decisions: list[Decision]
) -> str:
    """A settled stretch of the reply: block, mask (irreversibly) or flag what the
    detectors found, then restore placeholders when the policy asks."""
    if findings and policy.output != "off":
        for f in findings:
            decisions.append(Decision(f.kind, policy.output, "output"))
        if policy.output == "block":
            kind = findings[0].kind
            raise GuardBlockedError(
                f"output.{kind}",
                f"the reply contains a value the guard policy blocks ({kind}); nothing of it was delivered",
            )
        if policy.output == "mask":
            text = redact_findings(text, findings)
    if policy.restore:
        text = masker.restore(text)
    return text

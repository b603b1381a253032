"""Guard layer: PII, secret and prompt-injection policies on the prompt and the reply
(and the detectors on embedding inputs).

A controller (slot ``guard``, inside ``observe`` so its decisions are reported): before
the call goes on it scans the prompt's text (``llmrelay.observe.guard``) — masking
values behind placeholders, flagging, or refusing the call with ``GuardBlockedError`` —
and asks the optional classifier; the masked request goes on in place of the caller's,
which is put back afterwards. On the way back it applies the output policy to the
reply: for a unary reply at once, for a stream through a rolling window
(``StreamScrubber``) so that a value split across chunks is caught before any of it is
delivered. With ``restore``, placeholders the reply repeats get their values back.

Decisions (kind, action, where — never a value) are left on the call as
``GuardDecisions`` for the observe layer's logs, metrics and spans.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from llmrelay.errors import ConfigError
from llmrelay.pipeline import Call, Controller, Op, StreamHandler, UnaryHandler
from llmrelay.types import ChatResponse, EmbeddingRequest, FinishEvent, StreamEnd, StreamEvent, TextDelta

if TYPE_CHECKING:
    # the engine is imported when a guard layer is built (its detectors compile a dozen
    # regular expressions): a client without guards does not pay for it
    from llmrelay.observe.detect import Finding
    from llmrelay.observe.guard import Decision, Policy
    from llmrelay.observe.scrub import Masker
    from llmrelay.pipeline.context import StackContext
    from llmrelay.settings.observe import GuardSettings
    from llmrelay.types import ChatRequest

log = logging.getLogger("llmrelay.guard")

#: an async classifier: the prompt's text -> "allow", "flag" or "block"
Classifier = Callable[[str], Awaitable[str]]


@dataclass(slots=True)
class GuardDecisions:
    """The guard's decisions for one call (``call.ext``), for the observe layer."""

    decisions: list[Decision] = field(default_factory=list)


class GuardMiddleware(Controller):
    #: embedding inputs get the detectors only (see ``guard_texts``)
    ops: ClassVar[frozenset[Op]] = frozenset(("chat", "embed"))

    def __init__(self, settings: GuardSettings, classifier: Classifier | None = None) -> None:
        from llmrelay.observe.guard import Policy

        self.settings = settings
        self.base = Policy().over(settings)
        self.classifier = classifier

    @classmethod
    def from_context(cls, ctx: StackContext) -> GuardMiddleware | None:
        s = ctx.settings.observe.guards
        if not s.enabled:
            return None
        if s.classifier_url is not None:
            return cls(s, _http_classifier(s, ctx))
        return cls(s, _load_classifier(s.classifier) if s.classifier else None)

    def policy(self, call: Call) -> Policy:
        s = self.settings
        p = self.base
        alias = call.route.alias if call.route is not None else call.model
        p = p.over(s.aliases.get(alias))
        subject = call.subject
        for who in (subject.user, subject.key_id):  # the key's policy is the more specific
            if who is not None:
                p = p.over(s.subjects.get(who))
        return p

    async def _enter(self, call: Call) -> tuple[Policy, Masker, list[Decision], ChatRequest]:
        from llmrelay.observe.guard import Decision, GuardBlockedError, guard_input
        from llmrelay.observe.scrub import Masker

        policy = self.policy(call)
        masker = Masker()
        decisions = call.setdefault(GuardDecisions).decisions
        req = call.chat
        try:
            result = guard_input(req.messages, policy, masker)
        except GuardBlockedError as exc:
            decisions.append(Decision(exc.policy.split(".")[-1], "block", "input"))
            raise
        decisions.extend(result.decisions)
        if self.classifier is not None:
            await self._classify(req, decisions)
        if result.messages is not None:
            call.request = replace(req, messages=result.messages)
        return policy, masker, decisions, req

    async def _classify(self, req: ChatRequest, decisions: list[Decision]) -> None:
        from llmrelay.observe.guard import Decision, GuardBlockedError

        assert self.classifier is not None
        text = "\n".join(m.text() for m in req.messages if m.role in ("user", "tool"))
        try:
            verdict = await asyncio.wait_for(self.classifier(text), self.settings.classifier_timeout)
        except Exception as exc:  # a classifier that fails must not hide the call's own errors
            from llmrelay.observe.classifier import ClassifierError

            # only the HTTP classifier's own message is logged: another exception's may quote the prompt
            why = f"{type(exc).__name__}: {exc}" if isinstance(exc, ClassifierError) else type(exc).__name__
            log.warning("guard classifier failed (%s); failing %s", why, self.settings.fail)
            verdict = "block" if self.settings.fail == "closed" else "allow"
            decisions.append(Decision("classifier_error", verdict, "input"))
        if verdict not in ("allow", "flag", "block"):
            raise ConfigError(f"the guard classifier returned {verdict!r}; expected allow, flag or block")
        if verdict != "allow":
            decisions.append(Decision("classifier", verdict, "input"))
        if verdict == "block":
            raise GuardBlockedError("classifier", "the guard's classifier refused the prompt")

    async def _embed(self, call: Call, call_next: UnaryHandler) -> Any:
        from llmrelay.observe.guard import Decision, GuardBlockedError, guard_texts

        req = call.request
        assert isinstance(req, EmbeddingRequest)
        decisions = call.setdefault(GuardDecisions).decisions
        try:
            texts, found = guard_texts(req.inputs, self.policy(call))
        except GuardBlockedError as exc:
            decisions.append(Decision(exc.policy.split(".")[-1], "block", "input"))
            raise
        decisions.extend(found)
        if texts is None:
            return await call_next(call)
        call.request = replace(req, inputs=texts)
        try:
            return await call_next(call)
        finally:
            call.request = req

    async def unary(self, call: Call, call_next: UnaryHandler) -> Any:
        if call.op == "embed":
            return await self._embed(call, call_next)
        policy, masker, decisions, original = await self._enter(call)
        try:
            resp = await call_next(call)
        finally:
            call.request = original
        if not isinstance(resp, ChatResponse) or (policy.output == "off" and not policy.restore):
            return resp
        from llmrelay.observe.detect import find

        kinds = policy.active() if policy.output != "off" else ()
        findings = find(resp.text, kinds) if kinds else []
        text = _guarded(resp.text, findings, policy, masker, decisions)
        if text != resp.text:
            resp = replace(resp, text=text)
            call.outcome.set_response(resp)
        return resp

    async def stream(self, call: Call, call_next: StreamHandler) -> AsyncIterator[StreamEvent]:
        policy, masker, decisions, original = await self._enter(call)
        try:
            if policy.output == "off" and not policy.restore:
                async for ev in call_next(call):
                    yield ev
                return
            from llmrelay.observe.scrub import StreamScrubber

            kinds = policy.active() if policy.output != "off" else ()

            def process(text: str, findings: list[Finding]) -> str:
                return _guarded(text, findings, policy, masker, decisions)

            scrub = StreamScrubber(kinds, process, self.settings.window, restoring=policy.restore)
            delivered: list[str] = []
            async for ev in call_next(call):
                if type(ev) is TextDelta:
                    safe = scrub.feed(ev.text)
                    if safe:
                        delivered.append(safe)
                        yield TextDelta(safe)
                    continue
                if type(ev) is FinishEvent or type(ev) is StreamEnd:
                    rest = scrub.flush()
                    if rest:
                        delivered.append(rest)
                        yield TextDelta(rest)
                    # the final response is built from the outcome: make it what was delivered
                    call.outcome.text_parts = ["".join(delivered)]
                yield ev
            rest = scrub.flush()
            if rest:
                delivered.append(rest)
                yield TextDelta(rest)
                call.outcome.text_parts = ["".join(delivered)]
        finally:
            call.request = original


def _guarded(
    text: str, findings: list[Finding], policy: Policy, masker: Masker, decisions: list[Decision]
) -> str:
    from llmrelay.observe.guard import guard_output

    return guard_output(text, findings, policy, masker, decisions)


def _http_classifier(s: GuardSettings, ctx: StackContext) -> Classifier:
    from llmrelay.observe.classifier import HttpClassifier

    assert s.classifier_url is not None
    if ctx.transport is None:
        raise ConfigError(
            "observe.guards.classifier_url needs the client's transport: build the stack in a Client"
        )
    key = None
    if s.classifier_key_env is not None:
        key = ctx.environ.get(s.classifier_key_env)
        if not key:
            raise ConfigError(
                f"observe.guards.classifier_key_env names {s.classifier_key_env}, which is not set: "
                + "export it, or remove classifier_key_env"
            )
    return HttpClassifier(s.classifier_url, ctx.transport, api_key=key, timeout=s.classifier_timeout)


def _load_classifier(path: str) -> Classifier:
    module, _, name = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"observe.guards.classifier: cannot load {path!r}: {exc}") from None
    if not callable(fn):
        raise ConfigError(f"observe.guards.classifier: {path!r} is not callable")
    return fn  # type: ignore[no-any-return]

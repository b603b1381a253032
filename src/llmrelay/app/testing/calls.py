"""``CallLog``: every call a Client made, from its hooks, with assertions for tests.

    log = CallLog.attach(client)
    await my_app(client)
    log.assert_called_with(messages=[{"role": "user", "content": "Hi"}], tools=["search"])
    log.assert_usage_under(500)

Assertions raise ``AssertionError`` with what was expected and what the calls were, so a
failing test says why without a debugger. Messages and tools are compared in the forms
people write them (strings, OpenAI-style dicts, ``Message``; tool names or ``Tool``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from llmrelay.messages import MessagesLike, coerce_messages
from llmrelay.types import ChatRequest, Message, Tool, Usage

if TYPE_CHECKING:
    from llmrelay.client import Client
    from llmrelay.pipeline import Call

UsageKind = Literal["total", "input", "output"]


@dataclass(frozen=True, slots=True)
class LoggedCall:
    """One finished call: its request, whether it succeeded, and what it used."""

    call: Call
    error: BaseException | None = None

    @property
    def request(self) -> ChatRequest | None:
        """The chat request (also for a token count); None for an embedding."""
        op = self.call.op
        return self.call.chat if op in ("chat", "count") else None

    @property
    def usage(self) -> Usage | None:
        return self.call.outcome.usage

    @property
    def ok(self) -> bool:
        return self.error is None

    def describe(self) -> str:
        req = self.request
        what = f"{self.call.op} {self.call.model}"
        if req is not None:
            what += f" {[_message_view(m) for m in req.messages]}"
            if req.tools:
                what += f" tools={[t.name for t in req.tools]}"
        if self.usage is not None:
            what += f" usage={self.usage.input_tokens}+{self.usage.output_tokens}"
        if self.error is not None:
            what += f" failed: {type(self.error).__name__}"
        return what


class CallLog:
    """The calls a Client finished, in order (attached to its ``response`` and ``error`` hooks)."""

    def __init__(self) -> None:
        self.calls: list[LoggedCall] = []

    @classmethod
    def attach(cls, client: Client) -> CallLog:
        """A new log of ``client``'s calls."""
        return cls().attach_to(client)

    def attach_to(self, client: Client) -> CallLog:
        """Log ``client``'s calls here too (one log may follow several Clients)."""
        client.hooks.response.append(self._on_response)
        client.hooks.error.append(self._on_error)
        return self

    def _on_response(self, call: Call) -> None:
        self.calls.append(LoggedCall(call))

    def _on_error(self, call: Call, exc: BaseException) -> None:
        self.calls.append(LoggedCall(call, exc))

    def __len__(self) -> int:
        return len(self.calls)

    @property
    def chats(self) -> list[LoggedCall]:
        return [c for c in self.calls if c.call.op == "chat"]

    @property
    def usage(self) -> Usage:
        """Usage of all calls together (those that reported none count zero)."""
        total = Usage()
        for c in self.calls:
            if c.usage is not None:
                total = total + c.usage
        return total

    def clear(self) -> None:
        self.calls.clear()

    # ------------------------------------------------------------------ assertions

    def assert_called_with(
        self,
        *,
        messages: MessagesLike | None = None,
        tools: Iterable[str | Tool] | None = None,
        model: str | None = None,
        contains: bool = False,
    ) -> LoggedCall:
        """Some chat call was made with exactly these ``messages`` (``contains=True``: with these
        messages among its own, in order), these ``tools`` (by name, any order) and ``model``.
        Returns the first call that matches."""
        want_msgs = None if messages is None else [_message_view(m) for m in coerce_messages(messages)]
        want_tools = None if tools is None else sorted(t.name if isinstance(t, Tool) else t for t in tools)
        for logged in self.chats:
            req = logged.request
            assert req is not None
            if model is not None and req.model != model:
                continue
            if want_msgs is not None:
                have = [_message_view(m) for m in req.messages]
                if not (_in_order(want_msgs, have) if contains else have == want_msgs):
                    continue
            if want_tools is not None and sorted(t.name for t in req.tools or ()) != want_tools:
                continue
            return logged
        wanted = []
        if model is not None:
            wanted.append(f"model {model!r}")
        if want_msgs is not None:
            wanted.append(f"messages {'including ' if contains else ''}{want_msgs}")
        if want_tools is not None:
            wanted.append(f"tools {want_tools}")
        raise AssertionError(
            f"no chat call was made with {' and '.join(wanted) or 'anything'}; the calls were:\n"
            + self._listing()
        )

    def assert_not_called(self) -> None:
        if self.calls:
            raise AssertionError(f"expected no calls, got {len(self.calls)}:\n{self._listing()}")

    def assert_call_count(self, n: int) -> None:
        if len(self.calls) != n:
            raise AssertionError(f"expected {n} call(s), got {len(self.calls)}:\n{self._listing()}")

    def assert_usage_under(self, tokens: int, *, kind: UsageKind = "total", each: bool = False) -> Usage:
        """All calls together (``each=True``: every call) used fewer than ``tokens`` tokens of
        ``kind`` (total, input or output). A call that reported no usage fails the check:
        "under N" cannot be shown for it."""
        missing = [c for c in self.calls if c.usage is None and c.ok]
        if missing:
            raise AssertionError(
                f"{len(missing)} call(s) reported no usage, so usage under {tokens} cannot be checked:\n"
                + "\n".join(f"  {c.describe()}" for c in missing)
            )
        if each:
            over = [c for c in self.calls if c.usage is not None and _tokens(c.usage, kind) >= tokens]
            if over:
                raise AssertionError(
                    f"{len(over)} call(s) used {tokens} or more {kind} tokens:\n"
                    + "\n".join(f"  {c.describe()}" for c in over)
                )
            return self.usage
        used = _tokens(self.usage, kind)
        if used >= tokens:
            raise AssertionError(
                f"the calls used {used} {kind} tokens, expected under {tokens}:\n{self._listing()}"
            )
        return self.usage

    def _listing(self) -> str:
        if not self.calls:
            return "  (none)"
        return "\n".join(f"  {i}: {c.describe()}" for i, c in enumerate(self.calls))


def _tokens(usage: Usage, kind: UsageKind) -> int:
    if kind == "input":
        return usage.input_tokens
    if kind == "output":
        return usage.output_tokens
    return usage.total_tokens


def _message_view(m: Message) -> dict[str, Any]:
    """A message as people write it in a test: role, text, and tool-call names or ids."""
    view: dict[str, Any] = {"role": m.role, "content": _text_of(m.content)}
    if m.tool_calls:
        view["tool_calls"] = [tc.name for tc in m.tool_calls]
    if m.tool_call_id is not None:
        view["tool_call_id"] = m.tool_call_id
    return view


def _text_of(content: Any) -> Any:
    if content is None or isinstance(content, str):
        return content
    texts = [getattr(p, "text", None) for p in content]
    if all(isinstance(t, str) for t in texts):
        return "".join(t for t in texts if t is not None)
    return [repr(p) for p in content]


def _in_order(want: Sequence[Any], have: Sequence[Any]) -> bool:
    it = iter(have)
    return all(any(w == h for h in it) for w in want)

from llmrelay.pipeline import Call, Pipeline
from llmrelay.types import ChatRequest, ChatResponse, Message, TextDelta


class Tag:
    def __init__(self, name, log):
        self.name, self.log = name, log

    async def handle(self, call, call_next):
        self.log.append(f"{self.name}>")
        resp = await call_next(call)
        self.log.append(f"<{self.name}")
        return resp

    async def handle_stream(self, call, call_next):
        self.log.append(f"{self.name}>")
        async for ev in call_next(call):
            yield TextDelta(f"{self.name}({ev.text})")
        self.log.append(f"<{self.name}")


async def test_order_is_outermost_first_for_unary_and_stream():
    log: list[str] = []

    async def terminal(call):
        log.append("send")
        return ChatResponse(id="1", model="m", provider="p", text="ok")

    async def terminal_stream(call):
        log.append("send")
        yield TextDelta("t")

    p = Pipeline.build([Tag("a", log), Tag("b", log)], terminal, terminal_stream)
    c = Call(ChatRequest(model="m", messages=(Message.user("x"),)))
    assert (await p.unary(c)).text == "ok"
    assert log == ["a>", "b>", "send", "<b", "<a"]
    log.clear()
    assert [ev.text async for ev in p.stream(c)] == ["a(b(t))"]
    assert log == ["a>", "b>", "send", "<b", "<a"]

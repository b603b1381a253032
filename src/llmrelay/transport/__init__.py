"""Pooled async HTTP, timeouts and SSE decoding; knows nothing of provider formats."""

from llmrelay.transport.asgi import StreamingASGITransport
from llmrelay.transport.http import StreamingResponse, Timeouts, Transport
from llmrelay.transport.sse import SSEDecoder

__all__ = ["SSEDecoder", "StreamingASGITransport", "StreamingResponse", "Timeouts", "Transport"]

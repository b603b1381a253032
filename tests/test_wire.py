"""``with_trace_headers``: what the terminal adds to an upstream request for an attempt."""

from __future__ import annotations

from llmrelay.wire import HttpRequest, with_trace_headers

TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def test_the_attempts_headers_are_added_to_a_new_request() -> None:
    http = HttpRequest("POST", "https://x/v1", {"Accept": "application/json"}, b"{}")
    out = with_trace_headers(http, {"traceparent": TP, "tracestate": "v=1"})
    assert out.headers == {"Accept": "application/json", "traceparent": TP, "tracestate": "v=1"}
    assert (out.method, out.url, out.body) == ("POST", "https://x/v1", b"{}")
    assert http.headers == {"Accept": "application/json"}  # the built request is not changed


def test_a_parent_of_the_callers_own_is_kept_whatever_its_case() -> None:
    http = HttpRequest("POST", "https://x/v1", {"TraceParent": "00-mine"})
    assert with_trace_headers(http, {"traceparent": TP, "tracestate": "v=1"}) is http


def test_no_headers_leave_the_request_as_it_is() -> None:
    http = HttpRequest("GET", "https://x/v1", {})
    assert with_trace_headers(http, None) is http and with_trace_headers(http, {}) is http

"""Tool calling: Python functions, Pydantic models or JSON Schemas as tools, and a loop
that runs them for the model. See docs/tools.md.

    from llmrelay.app.tools import run_tools, tool

    run = await run_tools(client, "What's the weather in Oslo?", tools=[get_weather])
"""

from llmrelay.app.tools.define import as_tool, tool
from llmrelay.app.tools.errors import MaxTurnsExceededError
from llmrelay.app.tools.execute import Approver, PendingCall, decode_arguments, execute, render_output
from llmrelay.app.tools.loop import DEFAULT_MAX_TURNS, DEFAULT_TOOL_TIMEOUT, run_tools, tool_table
from llmrelay.app.tools.result import ErrorKind, ToolResult, ToolRun
from llmrelay.app.tools.spec import ArgumentsError, FunctionTool, ModelTool, SchemaTool, ToolSpec

__all__ = [
    "DEFAULT_MAX_TURNS",
    "DEFAULT_TOOL_TIMEOUT",
    "Approver",
    "ArgumentsError",
    "ErrorKind",
    "FunctionTool",
    "MaxTurnsExceededError",
    "ModelTool",
    "PendingCall",
    "SchemaTool",
    "ToolResult",
    "ToolRun",
    "ToolSpec",
    "as_tool",
    "decode_arguments",
    "execute",
    "render_output",
    "run_tools",
    "tool",
    "tool_table",
]

"""Prompt templates in files: typed variables, strict sandboxed rendering, versions, A/B splits.

    library = PromptLibrary.load("prompts")
    prompt = library.render("support", question="Where is my order?", user_id="u-42")
    reply = await prompt.chat(client)        # metadata records prompt and prompt_version

See docs/prompts.md. Rendering needs Jinja2 (``pip install 'llmrelay[prompts]'``).
"""

from llmrelay.app.prompts.ab import Experiment, bucket
from llmrelay.app.prompts.call import PromptResponse, call_arguments, chat_prompt, stream_prompt
from llmrelay.app.prompts.errors import (
    MissingVariableError,
    PromptError,
    PromptNotFoundError,
    PromptRenderError,
    PromptTemplateError,
    PromptVariableError,
    UnexpectedVariableError,
    VariableTypeError,
)
from llmrelay.app.prompts.library import PromptLibrary, version_key
from llmrelay.app.prompts.template import PARAMS, PromptTemplate, RenderedPrompt
from llmrelay.app.prompts.variables import Variable

__all__ = [
    "PARAMS",
    "Experiment",
    "MissingVariableError",
    "PromptError",
    "PromptLibrary",
    "PromptNotFoundError",
    "PromptRenderError",
    "PromptResponse",
    "PromptTemplate",
    "PromptTemplateError",
    "PromptVariableError",
    "RenderedPrompt",
    "UnexpectedVariableError",
    "Variable",
    "VariableTypeError",
    "bucket",
    "call_arguments",
    "chat_prompt",
    "stream_prompt",
    "version_key",
]

"""Conversation errors: each says what is wrong and what to do about it."""

from __future__ import annotations

from llmrelay.errors import ConfigError, ContextWindowExceededError, LLMRelayError


class ConversationNotFoundError(ConfigError):
    """No stored conversation has that id."""


class ConversationExistsError(ConfigError):
    """A conversation with that id already exists (create or fork into a new id)."""


class ConversationStoreError(LLMRelayError):
    """The conversation store failed, could not be reached, or holds damaged data."""


class ConversationOverflowError(ContextWindowExceededError):
    """Even the newest turn (with the system prompt) does not fit the token budget, so
    nothing can be sent. Shorten it, or give the conversation a larger budget."""

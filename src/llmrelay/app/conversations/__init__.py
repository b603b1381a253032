"""Conversations that fit their model's window, kept in memory, SQLite, PostgreSQL or Redis.

    store = open_store()                                   # SQLite in the user data directory
    conv = await Conversation.open(client, "demo", store=store, system="Be brief.",
                                   strategy=Summarize())
    reply = await conv.send("Hello")

See docs/conversations.md.
"""

from llmrelay.app.conversations.conversation import Conversation, Window
from llmrelay.app.conversations.counting import ModelCounter
from llmrelay.app.conversations.errors import (
    ConversationExistsError,
    ConversationNotFoundError,
    ConversationOverflowError,
    ConversationStoreError,
)
from llmrelay.app.conversations.repl import ChatSession
from llmrelay.app.conversations.store import (
    ConversationInfo,
    ConversationStore,
    StoredConversation,
    open_store,
)
from llmrelay.app.conversations.store_memory import MemoryStore
from llmrelay.app.conversations.strategies import (
    Arrangement,
    DropMiddle,
    FitRequest,
    Strategy,
    Summarize,
    Summary,
    Truncate,
)
from llmrelay.app.conversations.streaming import ConversationStream

__all__ = [
    "Arrangement",
    "ChatSession",
    "Conversation",
    "ConversationExistsError",
    "ConversationInfo",
    "ConversationNotFoundError",
    "ConversationOverflowError",
    "ConversationStore",
    "ConversationStoreError",
    "ConversationStream",
    "DropMiddle",
    "FitRequest",
    "MemoryStore",
    "ModelCounter",
    "StoredConversation",
    "Strategy",
    "Summarize",
    "Summary",
    "Truncate",
    "Window",
    "open_store",
]

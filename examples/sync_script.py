"""Synchronous use, for scripts that do not want asyncio.

Run: .venv/bin/python examples/sync_script.py [model]
"""

import sys

import llmrelay

model = sys.argv[1] if len(sys.argv) > 1 else "local"
with llmrelay.SyncClient() as client:
    print(client.chat("Hello!", model=model).text)
    for text in client.stream_text("Count to five.", model=model):
        print(text, end="", flush=True)
    print()

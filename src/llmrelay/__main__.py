from llmrelay.cli.main import run

run()

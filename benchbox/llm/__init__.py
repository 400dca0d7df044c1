"""LLM endpoints that speak the OpenAI chat-completions API: prompts, streams, their rules.

Stdlib-only at import time: the generator process, the engine and the report all read it.
"""

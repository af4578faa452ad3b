"""Calling models: endpoints, chat backends with retries, concurrency, the judge's prompt.

Endpoint configuration, chat backends with retries, bounded concurrency, and the LLM
judge's prompt and reply parsing.

Pure of the database: nothing here imports `judgeloop.store` or `judgeloop.services`
(services/generation.py and services/judge.py store what this package produces). The
`openai` client is imported when a backend is first used; `transformers` and `torch` only
inside the local backend's functions.
"""

"""The gateway's OpenAI-compatible HTTP API: a thin translation layer over the same compositions
the gRPC servicer uses (chat.py, generation.py, voting.py, feedback.py, the outbox), so that any
OpenAI SDK, curl or LiteLLM client gets routing, voting and best-of-k by changing its base URL.
app.py holds the routes; each module translates one thing (requests, responses, errors, SSE)."""

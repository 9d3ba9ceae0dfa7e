"""The HTTP edge: the FastAPI app, one router module per domain, dependencies and error mapping."""

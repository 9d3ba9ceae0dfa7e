"""The notification inbox: per-user messages that domain events write through the outbox."""

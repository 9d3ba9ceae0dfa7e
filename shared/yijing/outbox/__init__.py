"""The transactional outbox: follow-up work is written as a row in the same transaction as the change
that wants it, then relayed to arq once committed. No job for a rolled-back change; none lost while Redis
is down."""

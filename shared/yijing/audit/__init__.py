"""The audit log: an append-only record of every write and every full read of personal data."""

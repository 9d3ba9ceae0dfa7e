"""Identity: users and roles, sign-in sessions with rotating refresh tokens, and API keys for machines."""

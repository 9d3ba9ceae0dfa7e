"""Police incident alerts (警情) from the police's own systems, classified by versioned code lists."""

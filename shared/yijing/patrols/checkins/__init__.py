"""Check-ins: a patrol member's scans of checkpoint tags (or free points), sent one by one or as offline
batches, kept as they came, flagged where they do not fit, and reviewed by staff."""

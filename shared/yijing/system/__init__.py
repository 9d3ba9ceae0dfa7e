"""The system domain: the worker's heartbeat and housekeeping jobs."""

"""Programme statistics for other police systems: daily rollups kept by the worker, read by period."""

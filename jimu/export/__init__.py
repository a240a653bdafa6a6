"""Hand-off to the core systems beside the queue: per-batch CSV files (CP932 or UTF-8 with BOM)."""

"""The ingest pipeline, end to end, crashes and bad input."""

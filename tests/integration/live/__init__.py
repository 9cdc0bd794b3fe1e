"""Live capture from real streams."""

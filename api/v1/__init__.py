"""The JSON API, version 1: open search and catalog, and the staff routes for scripts."""

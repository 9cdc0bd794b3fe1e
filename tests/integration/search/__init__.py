"""The search index and cross-script search."""

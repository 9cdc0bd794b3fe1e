"""Meilisearch: index settings, documents, queries. Imports only ``archive``."""

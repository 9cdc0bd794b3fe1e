"""Meilisearch: client, index schema, documents, the indexer and the segment query."""

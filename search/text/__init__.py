"""Text for search: script folding, stemming and query syntax."""

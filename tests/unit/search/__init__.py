"""Fast tests of search/: script folding and query syntax."""

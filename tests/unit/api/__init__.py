"""Fast tests of api/: the error table, the interface languages."""

"""Media the archive keeps: the content-addressed store, accepted formats, the clip cache and
verification.
"""

"""The ingest pipeline: a recording's file becomes stored media, segments and index documents."""

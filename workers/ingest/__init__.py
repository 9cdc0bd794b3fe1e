"""The ingest pipeline: a recording's file becomes stored media, segments and index documents.

``pipeline`` runs a job step by step; ``store`` writes media files and segment rows (live
captures use it too); ``eta`` tells staff how long the transcription has left.
"""

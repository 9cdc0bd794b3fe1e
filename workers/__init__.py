"""Celery app and the pipeline: fetch, media (ffmpeg), transcribe, index."""

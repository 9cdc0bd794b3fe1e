"""Transcript text: time ranges of a recording and caption formats."""

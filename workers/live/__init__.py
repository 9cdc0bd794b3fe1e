"""Live capture: record a stream, transcribe each chunk at once, finalize into an archive item."""

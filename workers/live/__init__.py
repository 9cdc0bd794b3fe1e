"""Live capture: record a stream, transcribe each chunk at once, finalize into an archive item.

``capture`` (the loop of one session) drives ``connection`` (the URL to record and its ffmpeg)
and ``transcriber`` (closed chunks → text → segments, indexed as they come, alerts included);
``text`` places words across chunk borders; ``finalize`` joins the runs into one stored file.
Where the files lie is ``archive.live``'s, which the live page reads too.
"""

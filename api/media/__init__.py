"""Bytes people play and take away: media files, live playlists, clips, and the headers that
keep them safe.
"""

"""Media tools: ffmpeg/ffprobe, HLS playlists, fetching with yt-dlp, the network guard, clip
cutting.
"""

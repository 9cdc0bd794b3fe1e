"""ffmpeg, fetching, the network guard, clips and media safety."""

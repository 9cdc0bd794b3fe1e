"""Fast tests of archive/: media types, time ranges, settings."""

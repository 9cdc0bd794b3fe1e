"""Tests against the real services, mirrored on the source tree."""

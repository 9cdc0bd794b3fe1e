"""Tests in Chromium (Playwright): what people do in the pages."""

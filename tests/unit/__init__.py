"""The fast tier: no Meilisearch, Redis, Whisper or browser; runs in seconds (make test-fast)."""

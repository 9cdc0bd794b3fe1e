"""Fast tests of workers/: ETA, HLS, live borders, network rules, retries, transcript layout."""

"""HTTP face: FastAPI app, public pages, JSON API."""

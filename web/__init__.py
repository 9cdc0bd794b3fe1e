"""Templates, static files and presentation helpers for the server-rendered pages."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

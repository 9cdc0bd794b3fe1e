"""The public pages, the JSON API, feeds and exports."""

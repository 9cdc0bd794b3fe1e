"""Migrations, dumps and bringing the archive up."""

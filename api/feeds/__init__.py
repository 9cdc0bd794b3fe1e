"""Atom feeds and conditional GET."""

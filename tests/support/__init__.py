"""Helpers the tests share: data factories, servers, media makers. No tests here."""

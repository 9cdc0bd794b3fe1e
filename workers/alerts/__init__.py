"""Alerts: which subscriptions new words match, the messages, the outbox and SMTP."""
